// Which cached queries an event from the live stream (GET /api/v1/events) makes stale. Nothing is
// patched into the cache by hand: the queries are refetched, so the pages always show the API's answer.
import type { QueryClient, QueryKey } from "@tanstack/react-query";

export const EVENT_NAMES = ["check", "alert", "alert_acknowledged", "alert_resolved"] as const;
export type EventName = (typeof EVENT_NAMES)[number];

export type LiveEvent = { name: EventName; data: Record<string, unknown> };

export function isEventName(name: string): name is EventName {
  return (EVENT_NAMES as readonly string[]).includes(name);
}

/** The query key prefixes to refetch after `event`. */
export function staleKeys(event: LiveEvent): QueryKey[] {
  if (event.name === "check") {
    // A decided check moves today's figures, the hourly chart and the gate feed.
    return [["stats"], ["checks"]];
  }
  const keys: QueryKey[] = [["alerts"]];
  const id = event.data["alert_id"];
  if (typeof id === "number") {
    keys.push(["alert", id]);
  }
  return keys;
}

/** Parses one message's `data:` (a JSON object); null for anything else. */
export function parseEvent(name: string, raw: string): LiveEvent | null {
  if (!isEventName(name)) return null;
  try {
    const data: unknown = JSON.parse(raw);
    if (data === null || typeof data !== "object" || Array.isArray(data)) return null;
    return { name, data: data as Record<string, unknown> };
  } catch {
    return null;
  }
}

/**
 * Gathers the keys of events that arrive close together and invalidates each once: a burst of checks
 * at a busy entrance refetches the figures once, not once per person.
 */
export class Invalidator {
  private pending = new Map<string, QueryKey>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly client: Pick<QueryClient, "invalidateQueries">,
    private readonly gatherMs = 250,
  ) {}

  add(event: LiveEvent): void {
    for (const key of staleKeys(event)) {
      this.pending.set(JSON.stringify(key), key);
    }
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), this.gatherMs);
    }
  }

  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const keys = [...this.pending.values()];
    this.pending.clear();
    for (const queryKey of keys) {
      void this.client.invalidateQueries({ queryKey });
    }
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }
}
