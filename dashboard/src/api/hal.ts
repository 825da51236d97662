// HAL links: the API puts an action in a resource's `_links` only when the caller may take it now,
// so the console shows a button when the link is there and never guesses from the caller's role.
import type { Schemas } from "./client";

export type Link = Schemas["Link"];
export type HalResource = { _links?: Record<string, Link> | null };

export function linkOf(resource: HalResource | null | undefined, rel: string): Link | undefined {
  return resource?._links?.[rel] ?? undefined;
}

/** Whether `resource` offers the action `rel` (with `method`, when given: `POST` for acknowledge). */
export function offers(resource: HalResource | null | undefined, rel: string, method?: string): boolean {
  const link = linkOf(resource, rel);
  if (link === undefined || !link.href) {
    return false;
  }
  return method === undefined || (link.method ?? "GET").toUpperCase() === method.toUpperCase();
}
