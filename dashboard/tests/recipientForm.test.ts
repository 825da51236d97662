import { describe, expect, it } from "vitest";
import type { Recipient } from "../src/api/admin";
import {
  createRecipientBody,
  emptyRecipient,
  patchRecipientBody,
  recipientForm,
  recipientProblems,
} from "../src/notifications/form";

const recipient: Recipient = {
  _links: { self: { href: "/api/v1/recipients/7" } },
  recipient_id: 7,
  site_id: "cinema",
  channel: "email",
  address: "desk@example.org",
  language: "ko",
  time_zone: "Asia/Seoul",
  kinds: [],
  min_severity: "warning",
  quiet_hours: { start: "22:00", end: "07:00" },
  rate_limit: "5/10min",
  enabled: true,
  created_at: "2026-11-01T09:00:00Z",
  registered_by: null,
};

describe("the recipient form", () => {
  it("needs an address, both quiet-hour times or neither, and a rate limit the notifier reads", () => {
    const form = { ...emptyRecipient("Asia/Seoul", "ko"), address: "desk@example.org" };
    expect(recipientProblems(emptyRecipient("UTC", "en"))).toEqual(["address"]);
    expect(recipientProblems(form)).toEqual([]);
    expect(recipientProblems({ ...form, quietStart: "22:00" })).toEqual(["quietHours"]);
    expect(recipientProblems({ ...form, quietStart: "22:00", quietEnd: "22:00" })).toEqual(["quietHours"]);
    expect(recipientProblems({ ...form, quietStart: "22:00", quietEnd: "07:00" })).toEqual([]);
    for (const good of ["5/10min", "1/h", "20/s", " 3 / 2h "]) {
      expect(recipientProblems({ ...form, rateLimit: good }), good).toEqual([]);
    }
    for (const bad of ["five", "5", "5/fortnight", "5/10 minutes"]) {
      expect(recipientProblems({ ...form, rateLimit: bad }), bad).toEqual(["rateLimit"]);
    }
  });

  it("sends a new recipient with its rules, empty ones as none", () => {
    const form = { ...emptyRecipient("Asia/Seoul", "ko"), channel: "webhook" as const, address: " https://hooks.example/x " };
    expect(createRecipientBody(form)).toEqual({
      channel: "webhook",
      address: "https://hooks.example/x",
      language: "ko",
      time_zone: "Asia/Seoul",
      min_severity: "info",
      quiet_hours: null,
      rate_limit: null,
    });
  });

  it("changes only what changed, and clears quiet hours and the rate limit with null", () => {
    const form = recipientForm(recipient);
    expect(patchRecipientBody(form, recipient)).toEqual({});
    expect(patchRecipientBody({ ...form, quietStart: "", quietEnd: "", rateLimit: "" }, recipient)).toEqual({
      quiet_hours: null,
      rate_limit: null,
    });
    expect(patchRecipientBody({ ...form, quietEnd: "06:30", enabled: false, minSeverity: "critical" }, recipient)).toEqual({
      quiet_hours: { start: "22:00", end: "06:30" },
      enabled: false,
      min_severity: "critical",
    });
  });
});
