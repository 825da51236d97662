// The user dialog's fields and what they become: the body of POST /users (a new account) or of
// PATCH /users/{id} (only what changed, so an untouched password is never sent).
import type { Account } from "../api/admin";
import type { Schemas } from "../api/client";

export type Role = Account["role"];
export const ROLES: Role[] = ["viewer", "operator", "admin"];
export const MIN_PASSWORD = 12; // the API's own minimum (UserIn.password)

export type UserForm = {
  email: string;
  password: string;
  role: Role;
  allSites: boolean;
  sites: string[];
  disabled: boolean;
};

export type FormProblem = "email" | "password" | "sites";

export function emptyForm(): UserForm {
  return { email: "", password: "", role: "viewer", allSites: false, sites: [], disabled: false };
}

export function formOf(account: Account): UserForm {
  return {
    email: account.email,
    password: "",
    role: account.role,
    allSites: account.all_sites,
    sites: [...account.sites],
    disabled: account.disabled,
  };
}

/** What is wrong with the form before it is sent; a new account needs its password, a change does not. */
export function problems(form: UserForm, creating: boolean): FormProblem[] {
  const found: FormProblem[] = [];
  if (creating && !/^[^@\s]+@[^@\s]+$/.test(form.email.trim())) found.push("email");
  if ((creating || form.password !== "") && form.password.length < MIN_PASSWORD) found.push("password");
  // A user scoped to no site sees nothing at all: almost always a mistake.
  if (!form.allSites && form.sites.length === 0) found.push("sites");
  return found;
}

export function createBody(form: UserForm): Schemas["UserIn"] {
  return {
    email: form.email.trim(),
    password: form.password,
    role: form.role,
    all_sites: form.allSites,
    sites: form.allSites ? [] : form.sites,
  };
}

export function patchBody(form: UserForm, before: Account): Schemas["UserPatch"] {
  const body: Schemas["UserPatch"] = {};
  if (form.role !== before.role) body.role = form.role;
  if (form.allSites !== before.all_sites) body.all_sites = form.allSites;
  const sites = form.allSites ? [] : [...form.sites].sort();
  if (sites.join(",") !== [...before.sites].sort().join(",")) body.sites = sites;
  if (form.disabled !== before.disabled) body.disabled = form.disabled;
  if (form.password !== "") body.password = form.password;
  return body;
}
