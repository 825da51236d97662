// Dates and times as the site lives them: every time is shown in its site's time zone (sites carry
// `time_zone`), in the console's language, on a 24-hour clock.

const LOCALES: Record<string, string> = { en: "en-GB", ko: "ko-KR" };
const FALLBACK_ZONE = "UTC";

export function localeFor(language: string): string {
  return LOCALES[language.split("-")[0] ?? "en"] ?? "en-GB";
}

function formatter(language: string, timeZone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  try {
    return new Intl.DateTimeFormat(localeFor(language), { ...options, timeZone, hourCycle: "h23" });
  } catch {
    // A zone this browser does not know: UTC, rather than a page that fails to render.
    return new Intl.DateTimeFormat(localeFor(language), { ...options, timeZone: FALLBACK_ZONE, hourCycle: "h23" });
  }
}

function parsed(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** `2026-03-01 14:05:09`-like, in `timeZone`; an em dash for a missing or unreadable time. */
export function formatDateTime(iso: string | null | undefined, timeZone: string, language: string): string {
  const date = parsed(iso);
  if (date === null) return "—";
  return formatter(language, timeZone, {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).format(date);
}

/** The time of day only (`14:05:09`), for today's feed. */
export function formatTime(iso: string | null | undefined, timeZone: string, language: string): string {
  const date = parsed(iso);
  if (date === null) return "—";
  return formatter(language, timeZone, { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(date);
}

/** The hour an hourly bucket starts, `09`, for the chart's axis. */
export function formatHour(iso: string, timeZone: string, language: string): string {
  const date = parsed(iso);
  if (date === null) return "";
  const parts = formatter(language, timeZone, { hour: "2-digit" }).formatToParts(date);
  return parts.find((p) => p.type === "hour")?.value ?? "";
}

/** A local day (`2026-03-01`, as the API sends it) written out in the language: `1 March 2026`. */
export function formatDay(day: string, language: string): string {
  const date = parsed(`${day}T12:00:00Z`);
  if (date === null) return day;
  return formatter(language, "UTC", { year: "numeric", month: "long", day: "numeric", weekday: "short" }).format(
    date,
  );
}

/** The weekday of a calendar day (`2026-11-26` → "Thursday", "목요일"). */
export function formatWeekday(day: string, language: string): string {
  const date = parsed(`${day}T12:00:00Z`);
  if (date === null) return day;
  return formatter(language, "UTC", { weekday: "long" }).format(date);
}

/** The zone of `siteId` among `sites`, UTC when the site is not (yet) known. */
export function zoneOf(sites: ReadonlyArray<{ site_id: string; time_zone: string }> | undefined, siteId: string): string {
  return sites?.find((s) => s.site_id === siteId)?.time_zone ?? FALLBACK_ZONE;
}

/** The zone this browser lives in, for times that belong to no site (API tokens, sign-ins). */
export function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || FALLBACK_ZONE;
  } catch {
    return FALLBACK_ZONE;
  }
}
