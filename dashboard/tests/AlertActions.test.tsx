import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import i18n from "i18next";
import { beforeAll, describe, expect, it } from "vitest";
import type { Alert } from "../src/api/client";
import { AlertActions } from "../src/components/AlertActions";
import "../src/i18n";

function alert(links: Alert["_links"]): Alert {
  return {
    _links: { self: { href: "/api/v1/alerts/5" }, ...links },
    alert_id: 5,
    site_id: "default",
    device_id: "hall-1",
    kind: "unmasked",
    state: "open",
    opened_at: "2026-03-01T12:00:00Z",
    acknowledged_at: null,
    acknowledged_by: null,
    acknowledged_by_email: null,
    resolved_at: null,
    resolved_by: null,
    resolved_by_email: null,
    resolution: null,
    track: 1,
    box: null,
    unmasked_since: null,
    details: {},
  };
}

function show(a: Alert) {
  return render(
    <MantineProvider>
      <QueryClientProvider client={new QueryClient()}>
        <AlertActions alert={a} />
      </QueryClientProvider>
    </MantineProvider>,
  );
}

describe("alert actions follow the alert's links, not the role", () => {
  beforeAll(async () => {
    await i18n.changeLanguage("en");
  });

  it("shows acknowledge and resolve when both are linked", () => {
    show(
      alert({
        acknowledge: { href: "/api/v1/alerts/5/acknowledge", method: "POST" },
        resolve: { href: "/api/v1/alerts/5/resolve", method: "POST" },
      }),
    );
    expect(screen.getByRole("button", { name: /^Acknowledge/ })).toBeTruthy();
    expect(screen.getByRole("button", { name: /^Resolve/ })).toBeTruthy();
  });

  it("shows only resolve on an acknowledged alert", () => {
    show(alert({ resolve: { href: "/api/v1/alerts/5/resolve", method: "POST" } }));
    expect(screen.queryByRole("button", { name: /^Acknowledge/ })).toBeNull();
    expect(screen.getByRole("button", { name: /^Resolve/ })).toBeTruthy();
  });

  it("shows nothing to a viewer, whose alerts link no action", () => {
    const { container } = show(alert({}));
    expect(container.querySelectorAll("button")).toHaveLength(0);
  });

  it("speaks Korean when switched", async () => {
    await i18n.changeLanguage("ko");
    show(alert({ acknowledge: { href: "/api/v1/alerts/5/acknowledge", method: "POST" } }));
    expect(screen.getByRole("button", { name: /^확인/ }).textContent).toBe("확인");
    await i18n.changeLanguage("en");
  });
});
