// The one API client: typed from the API's OpenAPI document (schema.d.ts, generated), same-origin, so
// the browser sends the session cookie and its own Origin with every call.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Alert = Schemas["AlertOut"];
export type Camera = Schemas["CameraOut"];
export type CameraStatus = Schemas["CameraStatusOut"];
export type Check = Schemas["CheckOut"];
export type Counts = Schemas["Counts"];
export type Gate = Schemas["GateOut"];
export type Hourly = Schemas["HourlyOut"];
export type Root = Schemas["Root"];
export type Site = Schemas["SiteOut"];
export type SiteStats = Schemas["StatsOut"];
export type SitesStats = Schemas["SitesStatsOut"];
export type User = Schemas["UserOut"];
export type AlertState = Alert["state"];

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://localhost" : window.location.origin,
  credentials: "same-origin",
});

/** An answer other than 2xx, with the problem's detail when the API sent one (RFC 9457). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | null,
  ) {
    super(detail ?? `HTTP ${status}`);
    this.name = "ApiError";
  }
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The body of a successful answer; an ApiError otherwise, so TanStack Query sees a failure. */
export function unwrap<T>(answer: Answer<T>): T {
  if (answer.response.ok && answer.data !== undefined) {
    return answer.data;
  }
  const problem = answer.error as { detail?: unknown } | undefined;
  const detail = typeof problem?.detail === "string" ? problem.detail : null;
  throw new ApiError(answer.response.status, detail);
}

export function isUnauthenticated(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}
