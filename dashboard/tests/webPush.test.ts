import { describe, expect, it } from "vitest";
import { applicationServerKey, pushSupport, registrationBody } from "../src/push/webPush";

describe("Web Push in this browser", () => {
  const ok = { isSecureContext: true, serviceWorker: {}, PushManager: {}, Notification: { permission: "default" as const } };

  it("is offered only on a secure page of a browser that can, with notifications not blocked", () => {
    expect(pushSupport(ok)).toBe("supported");
    expect(pushSupport({ ...ok, isSecureContext: false })).toBe("insecure");
    expect(pushSupport({ ...ok, PushManager: undefined })).toBe("unsupported"); // an iPhone's Safari tab
    expect(pushSupport({ ...ok, Notification: undefined })).toBe("unsupported");
    expect(pushSupport({ ...ok, Notification: { permission: "denied" } })).toBe("denied");
  });

  it("decodes the server's base64url key, unpadded, into the 65 bytes of a P-256 point", () => {
    const point = new Uint8Array(65).map((_, i) => (i === 0 ? 4 : (i * 37) % 256));
    const base64url = btoa(String.fromCharCode(...point)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    expect(Array.from(applicationServerKey(base64url))).toEqual(Array.from(point));
  });

  it("registers the subscription for one site, or nothing when it has no keys", () => {
    const subscription = { endpoint: "https://push.example/abc", keys: { p256dh: "BPk", auth: "xyz" } };
    expect(registrationBody(subscription, "cinema", "ko", "Asia/Seoul")).toEqual({
      site_id: "cinema",
      endpoint: "https://push.example/abc",
      keys: { p256dh: "BPk", auth: "xyz" },
      language: "ko",
      time_zone: "Asia/Seoul",
      min_severity: "info",
    });
    expect(registrationBody({ endpoint: "https://push.example/abc" }, "cinema", "en", "UTC")).toBeNull();
  });
});
