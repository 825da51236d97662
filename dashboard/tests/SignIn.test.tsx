// The sign-in page offers single sign-on exactly when the API root links `oidc_login`, and the button
// goes where that link points. The API is answered at the fetch level, as the browser would see it.
import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import i18n from "i18next";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import "../src/i18n";

// The API client takes the global fetch when it is created, so the stand-in is in place before that.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn<typeof fetch>();
  globalThis.fetch = mock;
  return mock;
});

const { SignIn } = await import("../src/auth/SignIn");
const { useRoot } = await import("../src/api/queries");

/** Shown once the root has answered: the page beside it has read the same answer by then. */
function RootRead() {
  return useRoot().data ? <span data-testid="root-read" /> : null;
}

function answerRoot(links: Record<string, { href: string; method?: string; title?: string }>) {
  fetchMock.mockImplementation(async (input) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname !== "/api/v1/") return new Response(null, { status: 404 });
    const body = { _links: { self: { href: "/api/v1/" }, login: { href: "/api/v1/auth/login", method: "POST" }, ...links }, name: "maskwatch", version: "v1" };
    return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/hal+json" } });
  });
}

function showSignIn() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <MantineProvider>
      <QueryClientProvider client={client}>
        <SignIn />
        <RootRead />
      </QueryClientProvider>
    </MantineProvider>,
  );
}

describe("the sign-in page", () => {
  beforeAll(async () => {
    await i18n.changeLanguage("en");
  });
  afterEach(() => {
    fetchMock.mockReset();
  });

  it("offers single sign-on, linking where the API root says, when the root links oidc_login", async () => {
    answerRoot({ oidc_login: { href: "/api/v1/auth/oidc/login", method: "GET", title: "Sign in through single sign-on" } });
    showSignIn();
    const button = await screen.findByTestId("sso");
    expect(button.tagName).toBe("A");
    expect(button.getAttribute("href")).toBe("/api/v1/auth/oidc/login");
    expect(button.textContent).toBe("Sign in with single sign-on");
    expect(screen.getByRole("link", { name: "Sign in with single sign-on" })).toBe(button);
  });

  it("names the button in Korean too", async () => {
    answerRoot({ oidc_login: { href: "/api/v1/auth/oidc/login" } });
    await i18n.changeLanguage("ko");
    try {
      showSignIn();
      expect((await screen.findByTestId("sso")).textContent).toBe("통합 로그인(SSO)으로 로그인");
    } finally {
      await i18n.changeLanguage("en");
    }
  });

  it("offers no single sign-on when the root does not link it", async () => {
    answerRoot({});
    showSignIn();
    await screen.findByTestId("root-read");
    expect(screen.getByRole("button", { name: "Sign in" })).toBeTruthy();
    expect(screen.queryByTestId("sso")).toBeNull();
  });
});
