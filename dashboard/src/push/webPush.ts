// This browser's Web Push subscription: the service worker (public/sw.js) is registered, subscribed
// with the server's VAPID key, and the subscription handed to the API once per site. Kept apart from
// the component so the steps can be tested without a browser's push service.
import type { Schemas } from "../api/client";

export const SERVICE_WORKER_URL = "/sw.js";

export type PushSupport = "supported" | "unsupported" | "insecure" | "denied";

type PushEnvironment = {
  isSecureContext: boolean;
  serviceWorker: unknown;
  PushManager: unknown;
  Notification?: { permission: NotificationPermission };
};

/** Whether this browser can receive pushes here: a secure page, a service worker and the Push API
 * (iPhones only once the console is added to the home screen), and notifications not refused. */
export function pushSupport(env: PushEnvironment): PushSupport {
  if (!env.isSecureContext) return "insecure";
  if (!env.serviceWorker || !env.PushManager || !env.Notification) return "unsupported";
  if (env.Notification.permission === "denied") return "denied";
  return "supported";
}

export function browserPushSupport(): PushSupport {
  return pushSupport({
    isSecureContext: window.isSecureContext,
    serviceWorker: "serviceWorker" in navigator ? navigator.serviceWorker : undefined,
    PushManager: "PushManager" in window ? window.PushManager : undefined,
    Notification: "Notification" in window ? window.Notification : undefined,
  });
}

/** The key as subscribe() takes it: the API sends base64url without padding. */
export function applicationServerKey(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const raw = atob(padded);
  const bytes = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

export type SubscriptionJSON = { endpoint?: string; keys?: Record<string, string> };

/** What POST /me/push-subscriptions takes for one site; null when the browser gave no usable keys.
 * Every alert from `info` up: a person can narrow it later, but a new device should not miss any. */
export function registrationBody(
  subscription: SubscriptionJSON,
  site: string,
  language: "en" | "ko",
  timeZone: string,
): Schemas["PushSubscriptionIn"] | null {
  const p256dh = subscription.keys?.p256dh;
  const auth = subscription.keys?.auth;
  if (!subscription.endpoint || !p256dh || !auth) return null;
  return {
    site_id: site,
    endpoint: subscription.endpoint,
    keys: { p256dh, auth },
    language,
    time_zone: timeZone,
    min_severity: "info",
  };
}

async function registration(): Promise<ServiceWorkerRegistration> {
  await navigator.serviceWorker.register(SERVICE_WORKER_URL, { scope: "/" });
  return navigator.serviceWorker.ready;
}

/** This browser's subscription, if it has one (nothing is registered or asked for). */
export async function currentSubscription(): Promise<PushSubscription | null> {
  const existing = await navigator.serviceWorker.getRegistration("/");
  return existing ? existing.pushManager.getSubscription() : null;
}

/** Asks for permission when needed and subscribes; the browser keeps one subscription per key. */
export async function subscribe(vapidKey: string): Promise<PushSubscription> {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new PushRefused();
  const reg = await registration();
  const existing = await reg.pushManager.getSubscription();
  if (existing) return existing;
  return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: applicationServerKey(vapidKey) });
}

export class PushRefused extends Error {
  constructor() {
    super("notifications were not allowed");
    this.name = "PushRefused";
  }
}
