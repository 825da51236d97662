import { describe, expect, it } from "vitest";
import type { Account } from "../src/api/admin";
import { actorOf, detailsLine } from "../src/audit/describe";

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
