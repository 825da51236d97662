// The console's Mantine theme: darker shades than Mantine's defaults for buttons, secondary text and
// light variants, so text keeps 4.5:1 contrast or better (WCAG AA).
import { createTheme, type CSSVariablesResolver } from "@mantine/core";
import { lightVariantVariables } from "./components/colors";

export const theme = createTheme({ primaryColor: "blue", primaryShade: { light: 8, dark: 6 } });

export const contrast: CSSVariablesResolver = (resolved) => ({
  variables: {},
  light: {
    "--mantine-color-dimmed": "var(--mantine-color-gray-7)",
    ...lightVariantVariables(resolved.colors, resolved.black),
  },
  dark: {},
});
