// The API tokens page: a new token's secret is shown once, with a copy button, and gone when dismissed.
import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import i18n from "i18next";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { api } from "../src/api/client";
import "../src/i18n";
import { Tokens } from "../src/pages/Tokens";

const ok = (data: unknown, status = 200) => ({ data, response: new Response(null, { status }) });

function tokenPage(items: unknown[]) {
  return {
    _links: {
      self: { href: "/api/v1/tokens" },
      create: { href: "/api/v1/tokens", method: "POST" },
    },
    total: items.length,
    offset: 0,
    limit: 500,
    _embedded: { items },
  };
}

const stored = {
  _links: { self: { href: "/api/v1/tokens/4" }, revoke: { href: "/api/v1/tokens/4", method: "DELETE" } },
  token_id: 4,
  name: "grafana",
  created_at: "2026-11-01T09:00:00Z",
  last_used_at: null,
  token: null,
};

describe("the API tokens page", () => {
  beforeAll(async () => {
    await i18n.changeLanguage("en");
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("shows a new token's secret once, and lists it without", async () => {
    let tokens: unknown[] = [];
    vi.spyOn(api, "GET").mockImplementation((async () => ok(tokenPage(tokens))) as never);
    const post = vi.spyOn(api, "POST").mockImplementation((async () => {
      tokens = [stored];
      return ok({ ...stored, token: "mw_the_secret" }, 201);
    }) as never);
    render(
      <MantineProvider>
        <QueryClientProvider client={new QueryClient()}>
          <Tokens />
        </QueryClientProvider>
      </MantineProvider>,
    );
    await screen.findByText("You have no API tokens.");
    fireEvent.change(screen.getByLabelText(/^Name/), { target: { value: " grafana " } });
    fireEvent.click(screen.getByRole("button", { name: "Create a token" }));

    const secret = await screen.findByTestId("secret-value");
    expect((secret as HTMLInputElement).value).toBe("mw_the_secret");
    expect(post).toHaveBeenCalledWith("/api/v1/tokens", { body: { name: "grafana" } });
    expect(screen.getByRole("button", { name: "Copy" })).toBeTruthy();
    await screen.findByRole("button", { name: "Revoke the token grafana" });

    fireEvent.click(screen.getByRole("button", { name: "I have stored it" }));
    await waitFor(() => expect(screen.queryByTestId("secret-value")).toBeNull());
    expect(screen.queryByText(/mw_the_secret/)).toBeNull();
  });
});
