import { describe, expect, it } from "vitest";
import type { Account } from "../src/api/admin";
import { createBody, emptyForm, formOf, patchBody, problems } from "../src/users/form";

const account: Account = {
  _links: { self: { href: "/api/v1/users/3" } },
  user_id: 3,
  email: "guard@example.org",
  role: "operator",
  all_sites: false,
  sites: ["cinema", "mall"],
  disabled: false,
  created_at: "2026-11-01T09:00:00Z",
};

describe("the user form", () => {
  it("asks a new account for an address, a long enough password and a site", () => {
    expect(problems(emptyForm(), true)).toEqual(["email", "password", "sites"]);
    const ok = { ...emptyForm(), email: " new@example.org ", password: "twelve chars", sites: ["cinema"] };
    expect(problems(ok, true)).toEqual([]);
    expect(problems({ ...ok, password: "short" }, true)).toEqual(["password"]);
    expect(problems({ ...ok, sites: [], allSites: true }, true)).toEqual([]);
  });

  it("sends a new account trimmed, with no sites when it has every site", () => {
    const form = { ...emptyForm(), email: " new@example.org ", password: "twelve chars", allSites: true, sites: ["x"] };
    expect(createBody(form)).toEqual({
      email: "new@example.org",
      password: "twelve chars",
      role: "viewer",
      all_sites: true,
      sites: [],
    });
  });

  it("changes only what changed, and never an untouched password", () => {
    expect(patchBody(formOf(account), account)).toEqual({});
    expect(problems(formOf(account), false)).toEqual([]);
    expect(patchBody({ ...formOf(account), sites: ["mall", "cinema"] }, account)).toEqual({});
    expect(patchBody({ ...formOf(account), role: "admin", disabled: true }, account)).toEqual({
      role: "admin",
      disabled: true,
    });
    expect(patchBody({ ...formOf(account), allSites: true }, account)).toEqual({ all_sites: true, sites: [] });
    expect(patchBody({ ...formOf(account), password: "a new password" }, account)).toEqual({
      password: "a new password",
    });
    expect(problems({ ...formOf(account), password: "short" }, false)).toEqual(["password"]);
  });
});
