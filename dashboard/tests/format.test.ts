import { describe, expect, it } from "vitest";
import { formatDateTime, formatDay, formatHour, formatTime, localeFor, zoneOf } from "../src/time/format";

const NOON_UTC = "2026-03-01T12:05:09Z";

describe("times in the site's zone", () => {
  it("writes a UTC instant in Seoul's time, not the browser's", () => {
    expect(formatTime(NOON_UTC, "Asia/Seoul", "en")).toBe("21:05:09");
    expect(formatTime(NOON_UTC, "America/New_York", "en")).toBe("07:05:09");
    expect(formatTime(NOON_UTC, "UTC", "ko")).toBe("12:05:09");
  });

  it("crosses the date line with the zone", () => {
    expect(formatDateTime("2026-03-01T20:00:00Z", "Asia/Seoul", "en")).toBe("02/03/2026, 05:00:00");
    expect(formatDateTime("2026-03-01T20:00:00Z", "Asia/Seoul", "ko")).toBe("2026. 03. 02. 05:00:00");
  });

  it("uses the offset the API sent", () => {
    expect(formatTime("2026-03-01T21:05:09+09:00", "Asia/Seoul", "en")).toBe("21:05:09");
  });

  it("writes nothing broken for a missing or unreadable time, or an unknown zone", () => {
    expect(formatDateTime(null, "UTC", "en")).toBe("—");
    expect(formatDateTime("yesterday-ish", "UTC", "en")).toBe("—");
    expect(formatTime(NOON_UTC, "Mars/Olympus_Mons", "en")).toBe("12:05:09");
  });

  it("labels hourly buckets by their local hour", () => {
    expect(formatHour("2026-03-01T00:00:00Z", "Asia/Seoul", "en")).toBe("09");
    expect(formatHour("2026-03-01T15:00:00Z", "Asia/Seoul", "ko")).toBe("00");
  });

  it("writes a local day in each language", () => {
    expect(formatDay("2026-03-01", "en")).toBe("Sun, 1 March 2026");
    expect(formatDay("2026-03-01", "ko")).toContain("2026년 3월 1일"); // the weekday's brackets vary with ICU
  });

  it("finds a site's zone, UTC for an unknown site", () => {
    const sites = [{ site_id: "seoul", time_zone: "Asia/Seoul" }];
    expect(zoneOf(sites, "seoul")).toBe("Asia/Seoul");
    expect(zoneOf(sites, "elsewhere")).toBe("UTC");
    expect(zoneOf(undefined, "seoul")).toBe("UTC");
  });

  it("maps languages to locales", () => {
    expect(localeFor("ko")).toBe("ko-KR");
    expect(localeFor("en-US")).toBe("en-GB");
    expect(localeFor("fr")).toBe("en-GB");
  });
});
