// Maskwatch's service worker: shows the alert a Web Push brings and, when the notification is tapped,
// opens the console at that alert. The payload is the notifier's (services/notifier/channels/webpush.py):
// {title, body, alert_id (the alert's key), transition, kind, site_id, device_id, at, link, count}.
// It caches nothing: the console is useless without the live API. When the push service replaces the
// subscription, the new one is registered for the same sites in its place. Served at /sw.js never from a cache
// (services/api/dashboard.py), so a new build's worker replaces this one at the browser's next check.
"use strict";

const FALLBACK_TITLE = "Maskwatch";
const ALERTS = "/alerts";

function readPayload(data) {
  if (!data) return {};
  try {
    const value = data.json();
    return value && typeof value === "object" ? value : {};
  } catch {
    return { body: data.text() }; // not JSON: still worth showing
  }
}

/** Where a tap leads: the alert's own page on this console's origin (never another site, whatever the
 * link says), or the alerts list for a digest of several. */
function targetPath(payload) {
  if (Number(payload.count) > 1 || typeof payload.link !== "string") return ALERTS;
  try {
    const path = new URL(payload.link, self.location.origin).pathname;
    return /^\/alerts\/\d+$/.test(path) ? path : ALERTS;
  } catch {
    return ALERTS;
  }
}

function notificationOf(payload) {
  const options = {
    body: typeof payload.body === "string" ? payload.body : "",
    icon: "/icons/icon-192.png",
    badge: "/icons/icon-192.png",
    data: { path: targetPath(payload) },
  };
  const at = Date.parse(payload.at);
  if (!Number.isNaN(at)) options.timestamp = at;
  if (typeof payload.alert_id === "string" && payload.alert_id) {
    // One notification per alert: its acknowledgement or resolution replaces the opening, and says so.
    options.tag = `alert-${payload.alert_id}`;
    options.renotify = true;
  }
  return { title: typeof payload.title === "string" && payload.title ? payload.title : FALLBACK_TITLE, options };
}

self.addEventListener("install", () => {
  void self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("push", (event) => {
  const { title, options } = notificationOf(readPayload(event.data));
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data;
  const path = data && typeof data.path === "string" ? data.path : ALERTS;
  event.waitUntil(
    (async () => {
      // An open console is brought forward and sent to the alert rather than a second one opened.
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
      if (open) {
        try {
          const moved = await open.navigate(path);
          await (moved ?? open).focus();
          return;
        } catch {
          // not controlled by this worker yet: open a new window instead
        }
      }
      await self.clients.openWindow(path);
    })(),
  );
});

/** Carries this browser's registrations (one per site, with their language, zone and rules) over to a
 * new subscription, and removes the old ones; with the session cookie, as the console would. */
async function renew(oldSubscription, newSubscription) {
  const old = oldSubscription && oldSubscription.endpoint;
  if (!old) return; // nothing known to carry over: the console registers again when next opened
  let fresh = newSubscription;
  if (!fresh) {
    const key = oldSubscription.options && oldSubscription.options.applicationServerKey;
    if (!key) return;
    fresh = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  const found = await self.fetch(`/api/v1/me/push-subscriptions?limit=500&endpoint=${encodeURIComponent(old)}`, {
    credentials: "same-origin",
  });
  if (!found.ok) return; // signed out: the same
  const registered = (await found.json())._embedded.items;
  const { endpoint, keys } = fresh.toJSON();
  for (const device of registered) {
    const body = {
      site_id: device.site_id,
      endpoint,
      keys,
      language: device.language,
      time_zone: device.time_zone,
      kinds: device.kinds,
      min_severity: device.min_severity,
      quiet_hours: device.quiet_hours,
      rate_limit: device.rate_limit,
    };
    const added = await self.fetch("/api/v1/me/push-subscriptions", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    // The same endpoint with new keys was refreshed in place: removing "the old one" would remove it.
    if (added.ok && endpoint !== old && device._links && device._links.unregister) {
      await self.fetch(device._links.unregister.href, { method: "DELETE", credentials: "same-origin" });
    }
  }
}

self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(renew(event.oldSubscription, event.newSubscription));
});
