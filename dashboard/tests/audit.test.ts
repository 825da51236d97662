import { describe, expect, it } from "vitest";
import type { Account } from "../src/api/admin";
import { actorOf, dayBounds, detailsLine } from "../src/audit/describe";

describe("an audit entry", () => {
  const admin = { user_id: 1, email: "admin@example.org" } as Account;
  const accounts = new Map([[1, admin]]);

  it("names who did it: a user, a deleted user, or the system", () => {
    expect(actorOf({ user_id: 1 }, accounts)).toEqual({ kind: "user", email: "admin@example.org" });
    expect(actorOf({ user_id: 9 }, accounts)).toEqual({ kind: "removed", id: 9 });
    expect(actorOf({ user_id: null }, accounts)).toEqual({ kind: "system" });
  });

  it("writes its details on one line, skipping empty ones", () => {
    expect(detailsLine({ email: "a@example.org", sites: ["a", "b"], note: null, changes: { enabled: false } })).toBe(
      'email: a@example.org · sites: a, b · changes: {"enabled":false}',
    );
    expect(detailsLine({})).toBe("");
  });
});

describe("a range of days in the audit filter", () => {
  it("runs from the first day's midnight to the midnight after the last, on this browser's calendar", () => {
    expect(dayBounds("2026-03-01", "2026-03-02")).toEqual({
      since: new Date(2026, 2, 1).toISOString(),
      until: new Date(2026, 2, 3).toISOString(),
    });
    expect(dayBounds("2026-12-31", "2026-12-31").until).toBe(new Date(2027, 0, 1).toISOString());
  });

  it("leaves out a bound not given or not a day", () => {
    expect(dayBounds("", "")).toEqual({});
    expect(dayBounds("yesterday", "2026-03-01")).toEqual({ until: new Date(2026, 2, 2).toISOString() });
  });
});
