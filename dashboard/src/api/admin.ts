// What the administration pages read: accounts, API tokens, the audit log, notification recipients,
// deliveries and this browser's push subscriptions. Kept apart from queries.ts (the live pages), whose
// keys the event stream invalidates; nothing here changes with a check or an alert.
import { keepPreviousData, useQueries, useQuery } from "@tanstack/react-query";
import { api, ApiError, unwrap, type Schemas } from "./client";
import type { paths } from "./schema";

export type Account = Schemas["UserOut"];
export type Token = Schemas["TokenOut"];
export type AuditEntry = Schemas["AuditOut"];
export type Recipient = Schemas["RecipientOut"];
export type Delivery = Schemas["DeliveryOut"];
export type Channel = Schemas["ChannelOut"];
// Named by its route: another module's model shares the name DeviceOut in the OpenAPI document.
export type PushDevice =
  paths["/api/v1/me/push-subscriptions/{recipient_id}"]["get"]["responses"][200]["content"]["application/hal+json"];

const PAGE = 500;

/** For answers without a body (204 to a DELETE): nothing on success, an ApiError otherwise. */
export function noContent(answer: { error?: unknown; response: Response }): void {
  if (answer.response.ok) return;
  const problem = answer.error as { detail?: unknown } | undefined;
  throw new ApiError(answer.response.status, typeof problem?.detail === "string" ? problem.detail : null);
}

export const adminKeys = {
  users: ["users"] as const,
  tokens: ["tokens"] as const,
  audit: (filters: AuditFilters) => ["audit", filters] as const,
  recipients: (site: string) => ["recipients", site] as const,
  deliveries: (status: string) => ["deliveries", status] as const,
  channels: ["notification-channels"] as const,
  vapidKey: ["vapid-public-key"] as const,
  pushDevices: (endpoint: string) => ["push-subscriptions", endpoint] as const,
};

export function useUsers(enabled = true) {
  return useQuery({
    queryKey: adminKeys.users,
    queryFn: async () => unwrap(await api.GET("/api/v1/users", { params: { query: { limit: PAGE } } })),
    enabled,
  });
}

export function useTokens() {
  return useQuery({
    queryKey: adminKeys.tokens,
    queryFn: async () => unwrap(await api.GET("/api/v1/tokens", { params: { query: { limit: PAGE } } })),
  });
}

export type AuditFilters = {
  action?: string;
  user?: number;
  site?: string;
  since?: string;
  until?: string;
  offset: number;
  limit: number;
};

export function useAudit(filters: AuditFilters) {
  return useQuery({
    queryKey: adminKeys.audit(filters),
    queryFn: async () => {
      const query = {
        offset: filters.offset,
        limit: filters.limit,
        ...(filters.action ? { action: filters.action } : {}),
        ...(filters.user ? { user_id: filters.user } : {}),
        ...(filters.site ? { site: filters.site } : {}),
        ...(filters.since ? { since: filters.since } : {}),
        ...(filters.until ? { until: filters.until } : {}),
      };
      return unwrap(await api.GET("/api/v1/audit", { params: { query } }));
    },
    placeholderData: keepPreviousData,
  });
}

export function useRecipients(site: string | null) {
  return useQuery({
    queryKey: adminKeys.recipients(site ?? ""),
    queryFn: () => fetchRecipients(site ?? ""),
    enabled: site !== null,
  });
}

async function fetchRecipients(site: string) {
  return unwrap(
    await api.GET("/api/v1/sites/{site_id}/recipients", { params: { path: { site_id: site }, query: { limit: PAGE } } }),
  );
}

/** Every recipient's address at the sites given (those the caller administers), by recipient id. */
export function useRecipientAddresses(sites: string[]): Map<number, string> {
  const pages = useQueries({
    queries: sites.map((site) => ({ queryKey: adminKeys.recipients(site), queryFn: () => fetchRecipients(site) })),
  });
  return new Map(pages.flatMap((p) => p.data?._embedded.items ?? []).map((r) => [r.recipient_id, r.address]));
}

export function useDeliveries(status: "dead" | "pending" | "sent", enabled: boolean) {
  return useQuery({
    queryKey: adminKeys.deliveries(status),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/deliveries", { params: { query: { status, limit: 100 } } })),
    enabled,
  });
}

export function useChannels(enabled: boolean) {
  return useQuery({
    queryKey: adminKeys.channels,
    queryFn: async () => unwrap(await api.GET("/api/v1/notification-channels")),
    enabled,
    staleTime: 5 * 60_000,
  });
}

/** This browser's registrations (one per site), found by its subscription's endpoint. */
export function usePushDevices(endpoint: string | null) {
  return useQuery({
    queryKey: adminKeys.pushDevices(endpoint ?? ""),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/me/push-subscriptions", {
          params: { query: { endpoint: endpoint ?? "", limit: PAGE } },
        }),
      ),
    enabled: endpoint !== null,
  });
}
