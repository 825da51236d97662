// Today at each site the caller may see: visitors, passed, denied by reason, per hour, open alerts.
// Live: the event stream invalidates the "stats" and "alerts" queries these read.
import { Card, Group, List, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";
import type { Counts } from "../api/client";
import {
  useOpenAlertCount,
  useSiteHourly,
  useSiteHourlyOn,
  useSites,
  useSitesStats,
  useSiteToday,
} from "../api/queries";
import { HourlyChart } from "../components/HourlyChart";
import { Loading, LoadError } from "../components/QueryState";
import { reasonLabel } from "../i18n/labels";
import { sameWeekdayLastWeek, trendOf, type Trend } from "../stats/trend";
import { formatDay, formatWeekday } from "../time/format";

function TrendLine({ trend, lastWeek, siteId }: { trend: Trend; lastWeek: string; siteId: string }) {
  const { t, i18n } = useTranslation();
  const weekday = formatWeekday(lastWeek, i18n.language);
  const text =
    trend.percent === null
      ? t("overview.trendNone", { weekday })
      : trend.percent > 0
        ? t("overview.trendUp", { weekday, percent: trend.percent, before: trend.before })
        : trend.percent < 0
          ? t("overview.trendDown", { weekday, percent: -trend.percent, before: trend.before })
          : t("overview.trendSame", { weekday, before: trend.before });
  const tone = trend.percent === null || trend.percent === 0 ? "dimmed" : trend.percent > 0 ? "teal.9" : "orange.9";
  return (
    <Text size="sm" c={tone} data-testid={`trend-${siteId}`}>
      {text}
    </Text>
  );
}

function Figure({ label, value, testId, tone }: { label: string; value: number | undefined; testId: string; tone?: string }) {
  return (
    <Card withBorder padding="sm" radius="md">
      <Text size="sm" c="dimmed" component="h3" fw={500} m={0}>
        {label}
      </Text>
      <Text fz={28} fw={700} c={tone} data-testid={testId} aria-live="polite">
        {value ?? "…"}
      </Text>
    </Card>
  );
}

function DeniedByReason({ figures }: { figures: Counts }) {
  const { t } = useTranslation();
  const entries = Object.entries(figures.denied_by_reason)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  return (
    <Stack gap={4}>
      <Title order={3} size="h5">
        {t("overview.deniedByReason")}
      </Title>
      {entries.length === 0 ? (
        <Text size="sm" c="dimmed">
          {t("overview.noDenials")}
        </Text>
      ) : (
        <List size="sm" spacing={2} data-testid="denied-by-reason">
          {entries.map(([reason, n]) => (
            <List.Item key={reason}>
              <Group gap="xs" justify="space-between" wrap="nowrap">
                <span>{reasonLabel(t, reason)}</span>
                <Text span fw={600}>
                  {n}
                </Text>
              </Group>
            </List.Item>
          ))}
        </List>
      )}
    </Stack>
  );
}

function SiteToday({ siteId, siteName }: { siteId: string; siteName: string }) {
  const { t, i18n } = useTranslation();
  const today = useSiteToday(siteId);
  const hourly = useSiteHourly(siteId);
  const openAlerts = useOpenAlertCount(siteId);
  const lastWeek = today.data ? sameWeekdayLastWeek(today.data.first_day) : undefined;
  const past = useSiteHourlyOn(siteId, lastWeek);
  const trend = hourly.data && past.data ? trendOf(hourly.data.hours, past.data.hours, new Date()) : null;
  if (today.error) return <LoadError error={today.error} retry={() => void today.refetch()} />;
  const figures = today.data?.figures;
  return (
    <Card withBorder radius="md" padding="md" component="section" aria-labelledby={`site-${siteId}`} data-site={siteId}>
      <Stack gap="md">
        <div>
          <Title order={2} size="h3" id={`site-${siteId}`}>
            {siteName}
          </Title>
          {today.data && (
            <Text size="sm" c="dimmed">
              {t("overview.today", { day: formatDay(today.data.first_day, i18n.language) })} ·{" "}
              {t("common.timeZone", { zone: today.data.time_zone })}
            </Text>
          )}
        </div>
        <SimpleGrid cols={{ base: 2, md: 4 }} spacing="sm">
          <Figure label={t("overview.visitors")} value={figures?.visitors} testId={`visitors-${siteId}`} />
          <Figure label={t("overview.passed")} value={figures?.passed} testId={`passed-${siteId}`} tone="teal.9" />
          <Figure label={t("overview.denied")} value={figures?.denied} testId={`denied-${siteId}`} tone="red.9" />
          <Figure label={t("overview.openAlerts")} value={openAlerts.data} testId={`open-alerts-${siteId}`} />
        </SimpleGrid>
        {trend && lastWeek && <TrendLine trend={trend} lastWeek={lastWeek} siteId={siteId} />}
        <SimpleGrid cols={{ base: 1, md: 3 }} spacing="lg">
          <div>{figures ? <DeniedByReason figures={figures} /> : <Loading />}</div>
          <Stack gap={4} className="chart-cell">
            <Title order={3} size="h5">
              {t("overview.perHour")}
            </Title>
            {hourly.data ? <HourlyChart hourly={hourly.data} siteName={siteName} /> : hourly.error ? <LoadError error={hourly.error} /> : <Loading />}
          </Stack>
        </SimpleGrid>
      </Stack>
    </Card>
  );
}

export function Overview() {
  const { t } = useTranslation();
  const stats = useSitesStats();
  const sites = useSites();
  const nameOf = (id: string) => sites.data?._embedded.items.find((s) => s.site_id === id)?.name ?? id;
  return (
    <Stack>
      <Title order={1} size="h2">
        {t("overview.title")}
      </Title>
      {stats.isPending ? (
        <Loading />
      ) : stats.error ? (
        <LoadError error={stats.error} retry={() => void stats.refetch()} />
      ) : stats.data.sites.length === 0 ? (
        <Text>{t("overview.noSites")}</Text>
      ) : (
        stats.data.sites.map((s) => <SiteToday key={s.site_id} siteId={s.site_id} siteName={nameOf(s.site_id)} />)
      )}
    </Stack>
  );
}
