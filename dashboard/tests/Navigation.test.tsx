// Users and the audit log are in the menu, and their pages open, only when the API root links them.
import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import i18n from "i18next";
import { beforeAll, describe, expect, it } from "vitest";
import { MemoryRouter } from "react-router";
import type { ReactNode } from "react";
import type { Root, User } from "../src/api/client";
import { keys } from "../src/api/queries";
import { Layout } from "../src/components/Layout";
import { RequireLink } from "../src/components/RequireLink";
import "../src/i18n";

const me: User = {
  _links: { self: { href: "/api/v1/auth/me" } },
  user_id: 2,
  email: "viewer@example.org",
  role: "viewer",
  all_sites: false,
  sites: ["default"],
  disabled: false,
  created_at: "2026-11-01T09:00:00Z",
};

function root(extra: Record<string, { href: string }>): Root {
  return { _links: { self: { href: "/api/v1/" }, tokens: { href: "/api/v1/tokens" }, ...extra }, name: "maskwatch", version: "v1" };
}

function show(rootData: Root, children: ReactNode = null) {
  const client = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } });
  client.setQueryData(keys.root, rootData);
  client.setQueryData(keys.openAlertCount(), 0);
  return render(
    <MantineProvider>
      <QueryClientProvider client={client}>
        <MemoryRouter initialEntries={["/users"]}>
          <Layout me={me}>{children}</Layout>
        </MemoryRouter>
      </QueryClientProvider>
    </MantineProvider>,
  );
}

describe("pages for admins of every site", () => {
  beforeAll(async () => {
    await i18n.changeLanguage("en");
    // jsdom has no media queries; Mantine's AppShell asks for them.
    window.matchMedia ??= ((query: string) => ({
      matches: false,
      media: query,
      onchange: null,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
      addListener: () => undefined,
      removeListener: () => undefined,
      dispatchEvent: () => false,
    })) as typeof window.matchMedia;
  });

  it("are neither in the menu nor open for someone the root does not link them to", () => {
    show(root({}), <RequireLink rel="users">users page</RequireLink>);
    const nav = screen.getByRole("navigation");
    expect(within(nav).queryByRole("link", { name: "Users and roles" })).toBeNull();
    expect(within(nav).queryByRole("link", { name: "Audit log" })).toBeNull();
    expect(within(nav).getByRole("link", { name: "API tokens" })).toBeTruthy();
    expect(within(nav).getByRole("link", { name: "Notifications" })).toBeTruthy();
    expect(screen.queryByText("users page")).toBeNull();
    expect(screen.getByTestId("not-allowed").textContent).toBe("This page is for administrators of every site.");
  });

  it("are in the menu and open for an admin of every site", () => {
    show(root({ users: { href: "/api/v1/users" }, audit: { href: "/api/v1/audit" } }), <RequireLink rel="users">users page</RequireLink>);
    const nav = screen.getByRole("navigation");
    expect(within(nav).getByRole("link", { name: "Users and roles" })).toBeTruthy();
    expect(within(nav).getByRole("link", { name: "Audit log" })).toBeTruthy();
    expect(screen.getByText("users page")).toBeTruthy();
  });
});
