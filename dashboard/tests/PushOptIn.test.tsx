// The push opt-in: turned on, the browser subscribes with the server's key and the subscription is
// registered for each site; turned off, every registration goes and the browser unsubscribes.
import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import i18n from "i18next";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "../src/api/client";
import { PushOptIn } from "../src/components/notifications/PushOptIn";
import "../src/i18n";
import * as webPush from "../src/push/webPush";

vi.mock("../src/push/webPush", async (original) => ({
  ...(await original<typeof webPush>()),
  browserPushSupport: vi.fn(() => "supported"),
  currentSubscription: vi.fn(),
  subscribe: vi.fn(),
}));

const ok = (data: unknown, status = 200) => ({ data, response: new Response(null, { status }) });
const page = (items: unknown[]) => ({ _links: { self: { href: "" } }, total: items.length, offset: 0, limit: 500, _embedded: { items } });
const site = (site_id: string, name: string) => ({ _links: { self: { href: `/api/v1/sites/${site_id}` } }, site_id, name, time_zone: "Asia/Seoul" });
const ENDPOINT = "https://push.example/abc";
const subscription = {
  endpoint: ENDPOINT,
  toJSON: () => ({ endpoint: ENDPOINT, keys: { p256dh: "BPk", auth: "xyz" } }),
  unsubscribe: vi.fn(async () => true),
};
const device = (recipient_id: number, site_id: string) => ({
  _links: { self: { href: `/api/v1/me/push-subscriptions/${recipient_id}` } },
  recipient_id,
  site_id,
  channel: "webpush",
  address: ENDPOINT,
});

function show() {
  return render(
    <MantineProvider>
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <PushOptIn />
      </QueryClientProvider>
    </MantineProvider>,
  );
}

describe("push alerts on this device", () => {
  let registered: ReturnType<typeof device>[] = [];

  beforeAll(async () => {
    await i18n.changeLanguage("en");
  });
  beforeEach(() => {
    registered = [];
    vi.spyOn(api, "GET").mockImplementation((async (path: string) => {
      if (path === "/api/v1/sites") return ok(page([site("cinema", "Cinema"), site("mall", "Mall")]));
      if (path === "/api/v1/push/vapid-public-key") return ok({ _links: {}, application_server_key: "BKey" });
      return ok(page(registered));
    }) as never);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("subscribes once and registers the subscription for every site", async () => {
    vi.mocked(webPush.currentSubscription).mockResolvedValue(null);
    vi.mocked(webPush.subscribe).mockImplementation(async () => {
      vi.mocked(webPush.currentSubscription).mockResolvedValue(subscription as unknown as PushSubscription);
      return subscription as unknown as PushSubscription;
    });
    const post = vi.spyOn(api, "POST").mockImplementation((async (_path: string, { body }: { body: { site_id: string } }) => {
      registered.push(device(registered.length + 1, body.site_id));
      return ok(registered.at(-1), 201);
    }) as never);
    show();
    fireEvent.click(await screen.findByRole("button", { name: "Receive alerts on this device" }));

    await screen.findByRole("switch", { name: "Alerts from Mall" });
    expect(webPush.subscribe).toHaveBeenCalledWith("BKey");
    const calls = post.mock.calls as unknown as [string, { body: { site_id: string } }][];
    expect(calls.map(([, options]) => options.body.site_id)).toEqual(["cinema", "mall"]);
    expect((screen.getByRole("switch", { name: "Alerts from Cinema" }) as HTMLInputElement).checked).toBe(true);
  });

  it("turned off, removes every registration and unsubscribes", async () => {
    registered = [device(1, "cinema")];
    vi.mocked(webPush.currentSubscription).mockResolvedValue(subscription as unknown as PushSubscription);
    const remove = vi.spyOn(api, "DELETE").mockImplementation((async () => {
      registered = [];
      return ok(undefined, 204);
    }) as never);
    show();
    expect((await screen.findByRole("switch", { name: "Alerts from Mall" }) as HTMLInputElement).checked).toBe(false);
    fireEvent.click(screen.getByRole("button", { name: "Turn off on this device" }));

    await screen.findByRole("button", { name: "Receive alerts on this device" });
    expect(remove).toHaveBeenCalledWith("/api/v1/me/push-subscriptions/{recipient_id}", {
      params: { path: { recipient_id: 1 } },
    });
    await waitFor(() => expect(subscription.unsubscribe).toHaveBeenCalled());
  });
});
