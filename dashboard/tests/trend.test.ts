import { describe, expect, it } from "vitest";
import { hoursStarted, sameWeekdayLastWeek, trendOf } from "../src/stats/trend";

function day(date: string, visitors: number[]) {
  return visitors.map((n, hour) => ({
    start: `${date}T${String(hour).padStart(2, "0")}:00:00+09:00`,
    figures: {
      visitors: n,
      passed: n,
      denied: 0,
      attempts: n,
      attempts_passed: n,
      attempts_denied: 0,
      retries: 0,
      denied_by_reason: {},
      flagged_by_reason: {},
    },
  }));
}

describe("today against the same weekday last week", () => {
  it("steps back seven calendar days, across months and years", () => {
    expect(sameWeekdayLastWeek("2026-12-03")).toBe("2026-11-26");
    expect(sameWeekdayLastWeek("2027-01-02")).toBe("2026-12-26");
    expect(sameWeekdayLastWeek("2024-03-05")).toBe("2024-02-27");
  });

  it("compares hour for hour up to the hour under way", () => {
    const today = day("2026-12-03", [0, 0, 0, 0, 0, 0, 0, 0, 10, 20, 5, 0]);
    const before = day("2026-11-26", [0, 0, 0, 0, 0, 0, 0, 0, 10, 10, 40, 50]);
    const now = new Date("2026-12-03T09:30:00+09:00");
    expect(hoursStarted(today, now)).toBe(10);
    // 30 so far (8 and 9 o'clock) against 20 by the same hour: the 10 and 11 o'clock crowds last week do not count.
    expect(trendOf(today, before, now)).toEqual({ before: 20, now: 30, percent: 50 });
  });

  it("has no percentage when last week was empty by this hour", () => {
    const today = day("2026-12-03", [3, 0]);
    const before = day("2026-11-26", [0, 9]);
    expect(trendOf(today, before, new Date("2026-12-03T00:10:00+09:00"))).toEqual({ before: 0, now: 3, percent: null });
  });

  it("says fewer as a negative change", () => {
    const today = day("2026-12-03", [1]);
    const before = day("2026-11-26", [4]);
    expect(trendOf(today, before, new Date("2026-12-03T00:59:00+09:00")).percent).toBe(-75);
  });
});
