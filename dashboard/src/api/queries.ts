// What the pages read, as TanStack queries. The keys are prefixes the live stream invalidates
// (live/invalidation.ts): every figure under "stats", every check list under "checks", every alert
// under "alerts" and each alert under ["alert", id].
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, isUnauthenticated, unwrap, type AlertState, type User } from "./client";

const PAGE = 500;
const CAMERA_STATUS_EVERY_MS = 15_000;

export const keys = {
  root: ["root"] as const,
  me: ["me"] as const,
  sites: ["sites"] as const,
  sitesStats: ["stats", "sites"] as const,
  siteToday: (site: string) => ["stats", "today", site] as const,
  siteHourly: (site: string) => ["stats", "hourly", site] as const,
  openAlertCount: (site?: string) => ["alerts", "count", "open", site ?? "*"] as const,
  alerts: (state: AlertState) => ["alerts", "list", state] as const,
  unresolvedOffline: ["alerts", "device_offline"] as const,
  alert: (id: number) => ["alert", id] as const,
  latestChecks: ["checks", "latest"] as const,
  gates: ["gates"] as const,
  cameras: ["cameras"] as const,
  cameraStatus: (id: string) => ["camera-status", id] as const,
  allRules: ["rules"] as const,
  rules: (scope: RulesScope, id: string) => ["rules", scope, id] as const,
};

export type RulesScope = "site" | "gate";

export function useRoot() {
  return useQuery({ queryKey: keys.root, queryFn: async () => unwrap(await api.GET("/api/v1/")) });
}

/** Who is signed in; null when nobody is (401), so the console shows the sign-in page. */
export function useMe() {
  return useQuery({
    queryKey: keys.me,
    queryFn: async (): Promise<User | null> => {
      try {
        return unwrap(await api.GET("/api/v1/auth/me"));
      } catch (error) {
        if (isUnauthenticated(error)) return null;
        throw error;
      }
    },
    staleTime: 60_000,
  });
}

export function useSites() {
  return useQuery({
    queryKey: keys.sites,
    queryFn: async () => unwrap(await api.GET("/api/v1/sites", { params: { query: { limit: PAGE } } })),
    staleTime: 5 * 60_000,
  });
}

export function useSitesStats() {
  return useQuery({
    queryKey: keys.sitesStats,
    queryFn: async () => unwrap(await api.GET("/api/v1/stats/sites")),
  });
}

export function useSiteToday(site: string) {
  return useQuery({
    queryKey: keys.siteToday(site),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/sites/{site_id}/stats/today", { params: { path: { site_id: site } } })),
    placeholderData: keepPreviousData,
  });
}

export function useSiteHourly(site: string) {
  return useQuery({
    queryKey: keys.siteHourly(site),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/sites/{site_id}/stats/hourly", { params: { path: { site_id: site } } })),
    placeholderData: keepPreviousData,
  });
}

/** Per hour on a past local day: it no longer changes, so the live stream leaves it alone. */
export function useSiteHourlyOn(site: string, day: string | undefined) {
  return useQuery({
    queryKey: ["history", "hourly", site, day ?? ""] as const,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/sites/{site_id}/stats/hourly", {
          params: { path: { site_id: site }, query: { from: day, to: day } },
        }),
      ),
    enabled: day !== undefined,
    staleTime: 60 * 60_000,
  });
}

/** How many alerts are open (neither acknowledged nor resolved), at one site or at every visible one. */
export function useOpenAlertCount(site?: string) {
  return useQuery({
    queryKey: keys.openAlertCount(site),
    queryFn: async () => {
      const query = { state: "open" as const, limit: 1, ...(site ? { site } : {}) };
      return unwrap(await api.GET("/api/v1/alerts", { params: { query } })).total;
    },
  });
}

export function useAlerts(state: AlertState, limit = 50) {
  return useQuery({
    queryKey: [...keys.alerts(state), limit],
    queryFn: async () => unwrap(await api.GET("/api/v1/alerts", { params: { query: { state, limit } } })),
    placeholderData: keepPreviousData,
  });
}

export function useAlert(id: number) {
  return useQuery({
    queryKey: keys.alert(id),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/alerts/{alert_id}", { params: { path: { alert_id: id } } })),
    enabled: id > 0,
  });
}

/** Devices with an unresolved "offline" alert: the only outage signal the API gives for gates. */
export function useUnresolvedOffline() {
  return useQuery({
    queryKey: keys.unresolvedOffline,
    queryFn: async () => {
      const states: AlertState[] = ["open", "acknowledged"];
      const pages = await Promise.all(
        states.map(async (state) =>
          unwrap(await api.GET("/api/v1/alerts", { params: { query: { state, limit: PAGE } } })),
        ),
      );
      const offline = new Map<string, string>();
      for (const alert of pages.flatMap((p) => p._embedded.items)) {
        if (alert.kind === "device_offline") {
          const earlier = offline.get(alert.device_id);
          if (earlier === undefined || alert.opened_at < earlier) offline.set(alert.device_id, alert.opened_at);
        }
      }
      return offline;
    },
  });
}

export function useLatestChecks(limit = 50) {
  return useQuery({
    queryKey: [...keys.latestChecks, limit],
    queryFn: async () => unwrap(await api.GET("/api/v1/checks", { params: { query: { limit } } })),
    placeholderData: keepPreviousData,
  });
}

/** Registered gates, with their health; `refreshMs` polls while a page shows it (health changes alone). */
export function useGates(refreshMs?: number) {
  return useQuery({
    queryKey: keys.gates,
    queryFn: async () => unwrap(await api.GET("/api/v1/gates", { params: { query: { limit: PAGE } } })),
    refetchInterval: refreshMs,
  });
}

export function useCameras(refreshMs?: number) {
  return useQuery({
    queryKey: keys.cameras,
    queryFn: async () => unwrap(await api.GET("/api/v1/cameras", { params: { query: { limit: PAGE } } })),
    refetchInterval: refreshMs,
  });
}

/** A camera's online status; only asked for when the camera links it, and refreshed while shown. */
export function useCameraStatus(cameraId: string, linked: boolean) {
  return useQuery({
    queryKey: keys.cameraStatus(cameraId),
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/cameras/{camera_id}/status", { params: { path: { camera_id: cameraId } } }),
      ),
    enabled: linked,
    refetchInterval: CAMERA_STATUS_EVERY_MS,
  });
}

/** The entry rules of a site or a gate: in force, set here, and inherited. */
export function useRules(scope: RulesScope, id: string) {
  return useQuery({
    queryKey: keys.rules(scope, id),
    queryFn: async () =>
      unwrap(
        scope === "site"
          ? await api.GET("/api/v1/sites/{site_id}/rules", { params: { path: { site_id: id } } })
          : await api.GET("/api/v1/gates/{gate_id}/rules", { params: { path: { gate_id: id } } }),
      ),
  });
}
