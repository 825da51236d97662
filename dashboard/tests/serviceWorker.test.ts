// The service worker as the browser runs it (public/sw.js, not a copy): its handlers, given a fake
// worker scope, show the notifier's payload and open the console at the alert.
import { describe, expect, it } from "vitest";
import source from "../public/sw.js?raw";

type Handler = (event: Record<string, unknown>) => void;

type Call = { url: string; method: string; body?: Record<string, unknown> };

function worker(origin = "https://console.example", registered: unknown[] = []) {
  const handlers = new Map<string, Handler>();
  const shown: { title: string; options: Record<string, unknown> }[] = [];
  const opened: string[] = [];
  const calls: Call[] = [];
  const scope = {
    fetch: async (url: string, init: { method?: string; body?: string } = {}) => {
      calls.push({ url, method: init.method ?? "GET", ...(init.body ? { body: JSON.parse(init.body) } : {}) });
      const json = init.method ? {} : { _embedded: { items: registered } };
      return { ok: true, json: async () => json };
    },
    location: new URL(`${origin}/sw.js`),
    addEventListener: (type: string, handler: Handler) => handlers.set(type, handler),
    skipWaiting: async () => undefined,
    registration: {
      pushManager: {
        subscribe: async () => ({
          toJSON: () => ({ endpoint: "https://push.example/new", keys: { p256dh: "BNew", auth: "new" } }),
        }),
      },
      showNotification: async (title: string, options: Record<string, unknown>) => {
        shown.push({ title, options });
      },
    },
    clients: {
      claim: async () => undefined,
      matchAll: async () => [],
      openWindow: async (path: string) => {
        opened.push(path);
        return null;
      },
    },
  };
  new Function("self", source)(scope);

  async function dispatch(type: string, event: Record<string, unknown>) {
    let work: Promise<unknown> = Promise.resolve();
    handlers.get(type)?.({ ...event, waitUntil: (p: Promise<unknown>) => (work = p) });
    await work;
  }
  const push = (payload: unknown) =>
    dispatch("push", {
      data: { json: () => payload, text: () => JSON.stringify(payload) },
    });
  const click = (data: unknown) => dispatch("notificationclick", { notification: { data, close: () => undefined } });
  const change = (oldSubscription: unknown, newSubscription: unknown = null) =>
    dispatch("pushsubscriptionchange", { oldSubscription, newSubscription });
  return { shown, opened, calls, push, click, change };
}

const payload = {
  title: "Cinema: person without a mask",
  body: "Waiting room, unmasked for 1 min 15 s",
  alert_id: "0b7a3c52-1d7e-4d1a-9a55-3f8e0c4b2a10",
  transition: "opened",
  kind: "unmasked",
  site_id: "cinema",
  device_id: "hall-1",
  at: "2026-03-01T12:00:00+00:00",
  link: "https://console.example/alerts/42",
  count: 1,
};

describe("the service worker", () => {
  it("shows the alert with the payload's title and body, one notification per alert", async () => {
    const sw = worker();
    await sw.push(payload);
    expect(sw.shown).toHaveLength(1);
    const [{ title, options }] = sw.shown as [{ title: string; options: Record<string, unknown> }];
    expect(title).toBe(payload.title);
    expect(options.body).toBe(payload.body);
    expect(options.tag).toBe(`alert-${payload.alert_id}`);
    expect(options.timestamp).toBe(Date.parse(payload.at));
    expect(options.data).toEqual({ path: "/alerts/42" });
  });

  it("opens the alert's page when tapped", async () => {
    const sw = worker();
    await sw.push(payload);
    await sw.click(sw.shown[0]?.options.data);
    expect(sw.opened).toEqual(["/alerts/42"]);
  });

  it("opens the alerts list for a digest, and never another site's address", async () => {
    const sw = worker();
    await sw.push({ ...payload, count: 4 });
    await sw.push({ ...payload, link: "https://evil.example/phish" });
    await sw.push({ title: "" });
    expect(sw.shown.map((s) => (s.options.data as { path: string }).path)).toEqual(["/alerts", "/alerts", "/alerts"]);
    expect(sw.shown[2]?.title).toBe("Maskwatch");
    expect(sw.shown[2]?.options.tag).toBeUndefined();
  });
});

describe("a subscription the push service replaced", () => {
  const device = {
    _links: { unregister: { href: "/api/v1/me/push-subscriptions/7", method: "DELETE" } },
    site_id: "cinema",
    language: "ko",
    time_zone: "Asia/Seoul",
    kinds: [],
    min_severity: "warning",
    quiet_hours: { start: "22:00", end: "07:00" },
    rate_limit: null,
  };
  const old = { endpoint: "https://push.example/old", options: { applicationServerKey: new Uint8Array([4]) } };

  it("is registered again for the same sites with the same rules, and the old one removed", async () => {
    const sw = worker("https://console.example", [device]);
    await sw.change(old);
    expect(sw.calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      "GET /api/v1/me/push-subscriptions?limit=500&endpoint=https%3A%2F%2Fpush.example%2Fold",
      "POST /api/v1/me/push-subscriptions",
      "DELETE /api/v1/me/push-subscriptions/7",
    ]);
    expect(sw.calls[1]?.body).toEqual({
      site_id: "cinema",
      endpoint: "https://push.example/new",
      keys: { p256dh: "BNew", auth: "new" },
      language: "ko",
      time_zone: "Asia/Seoul",
      kinds: [],
      min_severity: "warning",
      quiet_hours: { start: "22:00", end: "07:00" },
      rate_limit: null,
    });
  });

  it("keeps a registration refreshed in place, when only the keys changed", async () => {
    const sw = worker("https://console.example", [device]);
    const sameEndpoint = { toJSON: () => ({ endpoint: old.endpoint, keys: { p256dh: "BNew", auth: "new" } }) };
    await sw.change(old, sameEndpoint);
    expect(sw.calls.map((c) => c.method)).toEqual(["GET", "POST"]);
  });
});
