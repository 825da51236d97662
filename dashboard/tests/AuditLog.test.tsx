// The audit log's filters live in the address: two dates entered before the page renders again both stay.
import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, fireEvent, render, screen } from "@testing-library/react";
import i18n from "i18next";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { MemoryRouter, useLocation } from "react-router";
import { api } from "../src/api/client";
import "../src/i18n";
import { AuditLog } from "../src/pages/AuditLog";

const ok = (data: unknown) => ({ data, response: new Response(null, { status: 200 }) });
const empty = { _links: { self: { href: "/x" } }, total: 0, offset: 0, limit: 25, _embedded: { items: [] } };

function Address() {
  return <output data-testid="address">{useLocation().search}</output>;
}

describe("the audit log's filters", () => {
  beforeAll(async () => {
    await i18n.changeLanguage("en");
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("keep both dates when they change before the page renders again", async () => {
    vi.spyOn(api, "GET").mockImplementation((async () => ok(empty)) as never);
    render(
      <MantineProvider>
        <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
          <MemoryRouter initialEntries={["/audit?site=default"]}>
            <AuditLog />
            <Address />
          </MemoryRouter>
        </QueryClientProvider>
      </MantineProvider>,
    );
    const from = screen.getByLabelText("From");
    const until = screen.getByLabelText("Until (included)");
    // One act: React renders once both changes are in, as when a browser fills the fields quickly.
    act(() => {
      fireEvent.change(from, { target: { value: "2026-12-01" } });
      fireEvent.change(until, { target: { value: "2026-12-03" } });
    });
    const query = new URLSearchParams(screen.getByTestId("address").textContent ?? "");
    expect(query.get("from")).toBe("2026-12-01");
    expect(query.get("to")).toBe("2026-12-03");
    expect(query.get("site")).toBe("default");
  });
});
