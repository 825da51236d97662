import { describe, expect, it } from "vitest";
import { linkOf, offers } from "../src/api/hal";

const alert = {
  _links: {
    self: { href: "/api/v1/alerts/3" },
    acknowledge: { href: "/api/v1/alerts/3/acknowledge", method: "POST" },
  },
};

describe("HAL links", () => {
  it("offer an action only when the resource links it", () => {
    expect(offers(alert, "acknowledge")).toBe(true);
    expect(offers(alert, "resolve")).toBe(false);
    expect(offers({ _links: {} }, "acknowledge")).toBe(false);
    expect(offers(undefined, "acknowledge")).toBe(false);
  });

  it("check the method when one is asked for (a plain link is a GET)", () => {
    expect(offers(alert, "acknowledge", "post")).toBe(true);
    expect(offers(alert, "acknowledge", "DELETE")).toBe(false);
    expect(offers(alert, "self", "GET")).toBe(true);
    expect(offers(alert, "self", "POST")).toBe(false);
  });

  it("ignore a link without an address", () => {
    expect(offers({ _links: { open: { href: "", method: "POST" } } }, "open")).toBe(false);
    expect(linkOf(alert, "self")?.href).toBe("/api/v1/alerts/3");
  });
});
