// Visitors per local hour, passed and denied stacked, as a bar chart; its numbers are also in a table
// for screen readers.
import { Box, VisuallyHidden } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { Hourly } from "../api/client";
import { formatHour } from "../time/format";

export type HourBar = { hour: string; passed: number; denied: number };

export function hourBars(hourly: Hourly, language: string): HourBar[] {
  return hourly.hours.map((h) => ({
    hour: formatHour(h.start, hourly.time_zone, language),
    passed: h.figures.passed,
    denied: h.figures.denied,
  }));
}

export function HourlyChart({ hourly, siteName }: { hourly: Hourly; siteName: string }) {
  const { t, i18n } = useTranslation();
  const bars = hourBars(hourly, i18n.language);
  const total = hourly.hours.reduce((sum, h) => sum + h.figures.visitors, 0);
  const passed = t("overview.passed");
  const denied = t("overview.denied");
  const label = t("overview.chartLabel", { site: siteName, total });
  return (
    <Box>
      <Box role="img" aria-label={label} h={220} data-testid="hourly-chart">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={bars} margin={{ top: 8, right: 8, left: -16, bottom: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="hour" interval="preserveStartEnd" tick={{ fontSize: 12, fill: "#343a40" }} />
            <YAxis allowDecimals={false} tick={{ fontSize: 12, fill: "#343a40" }} />
            <Tooltip />
            <Legend wrapperStyle={{ fontSize: 13 }} />
            <Bar dataKey="passed" name={passed} stackId="v" fill="#087f5b" isAnimationActive={false} />
            <Bar dataKey="denied" name={denied} stackId="v" fill="#c92a2a" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </Box>
      <VisuallyHidden>
        <table>
          <caption>{label}</caption>
          <thead>
            <tr>
              <th scope="col">{t("common.time")}</th>
              <th scope="col">{passed}</th>
              <th scope="col">{denied}</th>
            </tr>
          </thead>
          <tbody>
            {bars
              .filter((b) => b.passed + b.denied > 0)
              .map((b) => (
                <tr key={b.hour}>
                  <th scope="row">{b.hour}</th>
                  <td>{b.passed}</td>
                  <td>{b.denied}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </VisuallyHidden>
    </Box>
  );
}
