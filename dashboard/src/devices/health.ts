// How a gate or camera is doing, from the health the API carries on it (its latest retained status),
// reduced to what the devices page shows: one state for the badge, the sensors that need a look, and
// what became of a remote open. Pure, so it is tested without a browser.
import type { CameraStatus, Schemas } from "../api/client";

export type Health = Schemas["HealthOut"];
export type Liveness = "online" | "stale" | "offline" | "unknown";

/** A device heartbeats every minute by default; online but silent this long, it is hung, not well. */
export const STALE_AFTER_MS = 5 * 60_000;

export function liveness(health: Health | null | undefined, now: Date = new Date()): Liveness {
  if (!health) return "unknown";
  if (!health.online) return "offline";
  const age = now.getTime() - new Date(health.status_at).getTime();
  return age > STALE_AFTER_MS ? "stale" : "online";
}

/** The sensors whose last reading failed, by name, sorted. */
export function failingSensors(health: Health | null | undefined): string[] {
  if (!health) return [];
  return Object.entries(health.sensors)
    .filter(([, state]) => state === "failing")
    .map(([name]) => name)
    .sort();
}

export type OpenResult = "confirmed" | "expired" | "unconfirmed";

/** What the gate answered to a remote open: it opened, it found the command too old, or nothing. */
export function openResult(answer: { confirmed: boolean; outcome?: string | null }): OpenResult {
  if (answer.confirmed) return "confirmed";
  return answer.outcome === "expired" ? "expired" : "unconfirmed";
}

export type Credentials = "active" | "revoked" | "none" | "unknown";

export function credentialsOf(device: { credentials?: string | null }): Credentials {
  const value = device.credentials;
  return value === "active" || value === "revoked" || value === "none" ? value : "unknown";
}

/** For a camera without an agent (an IP camera the server reads): its health as its frames tell it,
 * online while they arrive, with neither version nor sensors. */
export function healthFromFrames(status: CameraStatus | undefined, now: Date = new Date()): Health | null {
  if (!status) return null;
  return {
    online: status.online,
    status_at: now.toISOString(),
    last_seen_at: status.last_seen_at ?? null,
    software_version: null,
    config_version: null,
    sensors: {},
  };
}
