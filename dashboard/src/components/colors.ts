// Badge colours: the darkest shades, so white badge text stays above 4.5:1 contrast (WCAG AA).
export const COLORS = {
  good: "teal.9",
  bad: "red.9",
  seen: "indigo.9",
  quiet: "gray.7",
} as const;

export function decisionColor(decision: string): string {
  return decision === "open" ? COLORS.good : COLORS.bad;
}

export function alertStateColor(state: string): string {
  if (state === "open") return COLORS.bad;
  if (state === "acknowledged") return COLORS.seen;
  return COLORS.quiet;
}
