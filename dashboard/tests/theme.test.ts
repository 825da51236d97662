// Light variants (tinted background, coloured text) keep 4.5:1 contrast in the console's theme, at rest
// and under the pointer, for every colour of the palette.
import { DEFAULT_THEME, mergeMantineTheme } from "@mantine/core";
import { describe, expect, it } from "vitest";
import { AA_TEXT, contrastRatio } from "../src/components/colors";
import { contrast, theme } from "../src/theme";

const resolved = mergeMantineTheme(DEFAULT_THEME, theme);
const light = contrast(resolved).light;

/** A variable's value with `var(--mantine-color-x-n)` replaced by the palette's hex shade. */
function hex(value: string | undefined): string {
  const shade = /^var\(--mantine-color-([a-z]+)-(\d)\)$/.exec(value ?? "");
  if (shade) return resolved.colors[shade[1]!]![Number(shade[2])]!;
  if (value === "#000") return "#000000";
  return value ?? "";
}

describe("the console's theme", () => {
  it("computes WCAG contrast ratios", () => {
    expect(contrastRatio("#ffffff", "#000000")).toBeCloseTo(21, 5);
    // Mantine's own light teal badge, 4.3:1, which the console's theme does not use.
    expect(contrastRatio("#087f5b", "#c3fae8")).toBeGreaterThan(4.3);
    expect(contrastRatio("#087f5b", "#c3fae8")).toBeLessThan(AA_TEXT);
  });

  it("keeps every light variant's text at 4.5:1 or more, hovered or not", () => {
    const colors = Object.keys(resolved.colors);
    expect(colors.length).toBeGreaterThan(10);
    for (const name of colors) {
      const text = hex(light[`--mantine-color-${name}-light-color`]);
      for (const background of ["light", "light-hover"]) {
        const ratio = contrastRatio(text, hex(light[`--mantine-color-${name}-${background}`]));
        expect(ratio, `${name} ${background}`).toBeGreaterThanOrEqual(AA_TEXT);
      }
    }
  });

  it("keeps the coloured text where it reads well, and makes it black where it cannot", () => {
    expect(light["--mantine-color-blue-light-color"]).toBe("var(--mantine-color-blue-9)");
    expect(light["--mantine-color-red-light-color"]).toBe("var(--mantine-color-red-9)");
    expect(light["--mantine-color-yellow-light-color"]).toBe(resolved.black);
    expect(light["--mantine-color-dimmed"]).toBe("var(--mantine-color-gray-7)");
  });
});
