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

/** The WCAG contrast ratio of two `#rrggbb` colours (1 to 21). */
export function contrastRatio(a: string, b: string): number {
  const luminance = (hex: string) => {
    const n = Number.parseInt(hex.slice(1), 16);
    const [r, g, b] = [n >> 16, (n >> 8) & 255, n & 255].map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light! + 0.05) / (dark! + 0.05);
}

export const AA_TEXT = 4.5;

/**
 * The light variant (a tinted background with coloured text: light badges, buttons and notices, the
 * current menu entry) one shade paler than Mantine's in the light scheme, hover included, so that the
 * darkest shade as text keeps 4.5:1; a colour whose darkest shade cannot (yellow, orange, teal...) gets
 * black text instead. Shades are `#rrggbb`; a colour given otherwise is left to Mantine.
 */
export function lightVariantVariables(colors: Record<string, readonly string[]>, black: string): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const [name, shades] of Object.entries(colors)) {
    if (shades.length < 10 || !shades.every((shade) => /^#[0-9a-f]{6}$/i.test(shade))) continue;
    const text = contrastRatio(shades[9]!, shades[1]!) >= AA_TEXT ? `var(--mantine-color-${name}-9)` : black;
    variables[`--mantine-color-${name}-light`] = `var(--mantine-color-${name}-0)`;
    variables[`--mantine-color-${name}-light-hover`] = `var(--mantine-color-${name}-1)`;
    variables[`--mantine-color-${name}-light-color`] = text;
  }
  return variables;
}
