import { QueryClient } from "@tanstack/react-query";
import { afterEach, describe, expect, it, vi } from "vitest";
import { keys } from "../src/api/queries";
import { Invalidator, parseEvent, staleKeys, type LiveEvent } from "../src/live/invalidation";

const check: LiveEvent = { name: "check", data: { check_id: "c1", gate_id: "gate-a", decision: "deny" } };
const alertOpened: LiveEvent = { name: "alert", data: { alert_id: 7, state: "open" } };

function seeded(): QueryClient {
  const client = new QueryClient();
  const all = [
    keys.sitesStats,
    keys.siteToday("default"),
    keys.siteHourly("default"),
    [...keys.latestChecks, 50],
    keys.openAlertCount("default"),
    [...keys.alerts("open"), 24],
    keys.alert(7),
    keys.alert(8),
    keys.gates,
    keys.me,
  ];
  for (const key of all) client.setQueryData(key, { seeded: true });
  return client;
}

const stale = (client: QueryClient) =>
  client
    .getQueryCache()
    .getAll()
    .filter((q) => q.state.isInvalidated)
    .map((q) => JSON.stringify(q.queryKey))
    .sort();

describe("events to stale queries", () => {
  afterEach(() => vi.useRealTimers());

  it("a check makes the figures and the feed stale, nothing else", () => {
    expect(staleKeys(check)).toEqual([["stats"], ["checks"]]);
  });

  it("an alert event makes the alert lists, counts and that alert stale", () => {
    expect(staleKeys(alertOpened)).toEqual([["alerts"], ["alert", 7]]);
    expect(staleKeys({ name: "alert_resolved", data: {} })).toEqual([["alerts"]]);
  });

  it("parses only known events with a JSON object", () => {
    expect(parseEvent("check", '{"check_id":"x"}')).toEqual({ name: "check", data: { check_id: "x" } });
    expect(parseEvent("alert_acknowledged", '{"alert_id":1}')?.name).toBe("alert_acknowledged");
    expect(parseEvent("heartbeat", "{}")).toBeNull();
    expect(parseEvent("check", "not json")).toBeNull();
    expect(parseEvent("check", "[1,2]")).toBeNull();
    expect(parseEvent("check", "null")).toBeNull();
  });

  it("invalidates the right cached queries of a real QueryClient", () => {
    vi.useFakeTimers();
    const client = seeded();
    const invalidator = new Invalidator(client, 100);
    invalidator.add(check);
    expect(stale(client)).toEqual([]); // gathered, not yet sent
    vi.advanceTimersByTime(100);
    expect(stale(client)).toEqual(
      [
        '["checks","latest",50]',
        '["stats","hourly","default"]',
        '["stats","sites"]',
        '["stats","today","default"]',
      ].sort(),
    );
    invalidator.add(alertOpened);
    vi.advanceTimersByTime(100);
    expect(stale(client)).toContain('["alert",7]');
    expect(stale(client)).toContain('["alerts","count","open","default"]');
    expect(stale(client)).not.toContain('["alert",8]');
    expect(stale(client)).not.toContain('["me"]');
    expect(stale(client)).not.toContain('["gates"]');
  });

  it("invalidates each key once for a burst of events", () => {
    vi.useFakeTimers();
    const invalidateQueries = vi.fn(async () => {});
    const invalidator = new Invalidator({ invalidateQueries } as never, 250);
    for (let i = 0; i < 40; i++) invalidator.add({ name: "check", data: { check_id: `c${i}` } });
    vi.advanceTimersByTime(250);
    expect(invalidateQueries).toHaveBeenCalledTimes(2);
    invalidator.add(check);
    invalidator.dispose();
    vi.advanceTimersByTime(1000);
    expect(invalidateQueries).toHaveBeenCalledTimes(2);
  });
});
