// The users page: actions follow each account's links, nobody is offered to delete themselves, and a
// new account is sent as the form was filled.
import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import i18n from "i18next";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "../src/api/client";
import { keys } from "../src/api/queries";
import "../src/i18n";
import { Users } from "../src/pages/Users";

const ok = (data: unknown, status = 200) => ({ data, response: new Response(null, { status }) });
const page = (items: unknown[], links: Record<string, unknown> = {}) => ({
  _links: { self: { href: "" }, ...links },
  total: items.length,
  offset: 0,
  limit: 500,
  _embedded: { items },
});

function account(user_id: number, email: string, role: string, admin = true) {
  const href = `/api/v1/users/${user_id}`;
  return {
    _links: {
      self: { href },
      ...(admin ? { edit: { href, method: "PATCH" }, delete: { href, method: "DELETE" } } : {}),
    },
    user_id,
    email,
    role,
    all_sites: role === "admin",
    sites: role === "admin" ? [] : ["cinema"],
    disabled: false,
    created_at: "2026-11-01T09:00:00Z",
  };
}

const me = account(1, "admin@example.org", "admin");

function show() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  client.setQueryData(keys.me, me);
  return render(
    <MantineProvider>
      <QueryClientProvider client={client}>
        <Users />
      </QueryClientProvider>
    </MantineProvider>,
  );
}

describe("the users page", () => {
  beforeAll(async () => {
    await i18n.changeLanguage("en");
  });
  beforeEach(() => {
    vi.spyOn(api, "GET").mockImplementation((async (path: string) => {
      if (path === "/api/v1/sites") {
        return ok(page([{ _links: { self: { href: "" } }, site_id: "cinema", name: "Cinema", time_zone: "Asia/Seoul" }]));
      }
      return ok(page([me, account(2, "guard@example.org", "operator")], { create: { href: "/api/v1/users", method: "POST" } }));
    }) as never);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("offers edit to every account, delete to all but oneself", async () => {
    show();
    const guard = await screen.findByRole("button", { name: "Delete guard@example.org" });
    expect(guard).toBeTruthy();
    expect(screen.getByRole("button", { name: "Edit admin@example.org" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Delete admin@example.org" })).toBeNull();
    expect(screen.getByText("Cinema")).toBeTruthy(); // the site's name, not its id
  });

  it("creates an account from the form, refusing a short password first", async () => {
    const post = vi.spyOn(api, "POST").mockImplementation((async () => ok(account(3, "new@example.org", "viewer"), 201)) as never);
    show();
    fireEvent.click(await screen.findByRole("button", { name: "Add a user" }));
    const dialog = await screen.findByRole("dialog");
    fireEvent.change(within(dialog).getByLabelText(/^Email/), { target: { value: "new@example.org" } });
    fireEvent.change(within(dialog).getByLabelText(/^Password/), { target: { value: "short" } });
    fireEvent.click(within(dialog).getByRole("switch", { name: /Every site/ }));
    fireEvent.click(within(dialog).getByRole("button", { name: "Create the user" }));
    expect(await within(dialog).findByText("At least 12 characters.")).toBeTruthy();
    expect(post).not.toHaveBeenCalled();

    fireEvent.change(within(dialog).getByLabelText(/^Password/), { target: { value: "long enough now" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Create the user" }));
    await waitFor(() =>
      expect(post).toHaveBeenCalledWith("/api/v1/users", {
        body: { email: "new@example.org", password: "long enough now", role: "viewer", all_sites: true, sites: [] },
      }),
    );
  });
});
