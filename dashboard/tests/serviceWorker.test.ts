// The service worker as the browser runs it (public/sw.js, not a copy): its handlers, given a fake
// worker scope, show the notifier's payload and open the console at the alert.
import { describe, expect, it } from "vitest";
import source from "../public/sw.js?raw";

type Handler = (event: Record<string, unknown>) => void;

function worker(origin = "https://console.example") {
  const handlers = new Map<string, Handler>();
  const shown: { title: string; options: Record<string, unknown> }[] = [];
  const opened: string[] = [];
  const scope = {
    location: new URL(`${origin}/sw.js`),
    addEventListener: (type: string, handler: Handler) => handlers.set(type, handler),
    skipWaiting: async () => undefined,
    registration: {
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
  return { shown, opened, push, click };
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
