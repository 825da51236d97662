// How an audit entry reads: who (the account's e-mail when it still exists), and its details on one line.
import type { Account, AuditEntry } from "../api/admin";

export type Actor = { kind: "system" } | { kind: "user"; email: string } | { kind: "removed"; id: number };

export function actorOf(entry: Pick<AuditEntry, "user_id">, accounts: ReadonlyMap<number, Account>): Actor {
  if (entry.user_id === null) return { kind: "system" }; // the command line, or a service
  const account = accounts.get(entry.user_id);
  return account ? { kind: "user", email: account.email } : { kind: "removed", id: entry.user_id };
}

/** `key: value` pairs, lists joined by commas and nested objects as JSON, in the order given. */
export function detailsLine(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([, value]) => value !== null && value !== undefined && value !== "" && !(Array.isArray(value) && value.length === 0))
    .map(([key, value]) => `${key}: ${render(value)}`)
    .join(" · ");
}

function render(value: unknown): string {
  if (Array.isArray(value)) return value.map(render).join(", ");
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return String(value);
}

/** A range of local days (`2026-03-01`, this browser's calendar) as the moments the API filters by:
 * from the first day's midnight to the midnight after the last. An empty or unreadable day is no bound. */
export function dayBounds(from: string, to: string): { since?: string; until?: string } {
  const midnight = (day: string, plusDays = 0) => {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
    if (!match) return undefined;
    const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + plusDays);
    return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
  };
  const since = midnight(from);
  const until = midnight(to, 1);
  return { ...(since ? { since } : {}), ...(until ? { until } : {}) };
}

/** The audit actions the API writes today, for the filter; a newer server's others still show. */
export const AUDIT_ACTIONS = [
  "auth.login",
  "auth.login_failed",
  "auth.logout",
  "auth.oidc_signin",
  "auth.oidc_failed",
  "user.create",
  "user.update",
  "user.delete",
  "token.create",
  "token.revoke",
  "site.create",
  "site.update",
  "gate.create",
  "gate.update",
  "gate.open",
  "gate.open_failed",
  "camera.create",
  "camera.update",
  "camera.config_push_failed",
  "device.add",
  "device.rotate",
  "device.revoke",
  "device.delete",
  "site.rules",
  "gate.rules",
  "alert.acknowledge",
  "alert.resolve",
  "recipient.create",
  "recipient.update",
  "recipient.delete",
  "delivery.retry",
  "device.register",
  "device.unregister",
] as const;
