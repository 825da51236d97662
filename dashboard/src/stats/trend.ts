// Today against the same weekday last week, hour for hour: a Thursday afternoon is compared with last
// Thursday up to the same local hour, never with last Thursday's whole day (which would make every
// morning look like a collapse).
import type { Schemas } from "../api/client";

type Hour = Schemas["HourOut"];

/** The ISO day seven days before `day` (YYYY-MM-DD), on the calendar, whatever the time zone. */
export function sameWeekdayLastWeek(day: string): string {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d - 7));
  return date.toISOString().slice(0, 10);
}

/** How many of the day's local hours have started by `now` (the current hour counts). */
export function hoursStarted(hours: readonly Hour[], now: Date): number {
  return hours.filter((h) => new Date(h.start).getTime() <= now.getTime()).length;
}

export type Trend = {
  /** Visitors last week up to the same local hour. */
  before: number;
  /** Today's visitors so far. */
  now: number;
  /** Percent change, rounded; null when last week had no visitors by this hour. */
  percent: number | null;
};

/** Today's visitors against last week's by the same hour (index into each day's local hours). */
export function trendOf(today: readonly Hour[], lastWeek: readonly Hour[], now: Date): Trend {
  const started = hoursStarted(today, now);
  const sum = (hours: readonly Hour[]) => hours.slice(0, started).reduce((n, h) => n + h.figures.visitors, 0);
  const before = sum(lastWeek);
  const current = sum(today);
  return { before, now: current, percent: before === 0 ? null : Math.round(((current - before) / before) * 100) };
}
