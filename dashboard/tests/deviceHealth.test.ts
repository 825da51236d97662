import { describe, expect, it } from "vitest";
import {
  credentialsOf,
  failingSensors,
  healthFromFrames,
  liveness,
  openResult,
  STALE_AFTER_MS,
  type Health,
} from "../src/devices/health";

const now = new Date("2026-12-03T08:00:00Z");
const health = (over: Partial<Health> = {}): Health => ({
  online: true,
  status_at: "2026-12-03T07:59:30Z",
  last_seen_at: "2026-12-03T07:59:30Z",
  software_version: "1.2.0",
  config_version: null,
  sensors: { camera: "ok", thermometer: "failing" },
  ...over,
});

describe("device health", () => {
  it("is unknown until the device first reports, and offline when it said so", () => {
    expect(liveness(null, now)).toBe("unknown");
    expect(liveness(undefined, now)).toBe("unknown");
    expect(liveness(health({ online: false }), now)).toBe("offline");
    expect(liveness(health(), now)).toBe("online");
  });

  it("calls a device that stopped heartbeating without a last will stale", () => {
    const old = new Date(now.getTime() - STALE_AFTER_MS - 1000).toISOString();
    expect(liveness(health({ status_at: old }), now)).toBe("stale");
  });

  it("lists the failing sensors only", () => {
    expect(failingSensors(health())).toEqual(["thermometer"]);
    expect(failingSensors(health({ sensors: { camera: "failing", thermometer: "failing" } }))).toEqual([
      "camera",
      "thermometer",
    ]);
    expect(failingSensors(null)).toEqual([]);
  });

  it("tells a confirmed open from an expired and an unanswered one", () => {
    expect(openResult({ confirmed: true, outcome: "opened" })).toBe("confirmed");
    expect(openResult({ confirmed: false, outcome: "expired" })).toBe("expired");
    expect(openResult({ confirmed: false, outcome: null })).toBe("unconfirmed");
  });

  it("reads the broker account's state, unknown when the API cannot see it", () => {
    expect(credentialsOf({ credentials: "active" })).toBe("active");
    expect(credentialsOf({ credentials: "revoked" })).toBe("revoked");
    expect(credentialsOf({ credentials: null })).toBe("unknown");
  });

  it("reads a camera without an agent from its frames", () => {
    const status = { _links: {}, camera_id: "hall-1", online: false, last_seen_at: null };
    expect(liveness(healthFromFrames(status, now), now)).toBe("offline");
    const seen = healthFromFrames({ ...status, online: true, last_seen_at: "2026-12-03T07:59:55Z" }, now);
    expect(liveness(seen, now)).toBe("online");
    expect(seen?.last_seen_at).toBe("2026-12-03T07:59:55Z");
    expect(healthFromFrames(undefined, now)).toBeNull();
  });
});
