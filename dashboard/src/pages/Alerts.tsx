// Alerts by state (open, acknowledged, resolved), newest first, each with its picture and the actions
// its links offer. The state is in the address (?state=), so a list can be bookmarked.
import { Anchor, Badge, Button, Card, Group, Image, SimpleGrid, Stack, Tabs, Text, Title } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link as RouterLink, useSearchParams } from "react-router";
import type { Alert, AlertState } from "../api/client";
import { linkOf } from "../api/hal";
import { useAlerts, useSites } from "../api/queries";
import { AlertActions } from "../components/AlertActions";
import { alertStateColor } from "../components/colors";
import { Loading, LoadError } from "../components/QueryState";
import { alertKindLabel, alertStateLabel } from "../i18n/labels";
import { formatDateTime, zoneOf } from "../time/format";

const STATES: AlertState[] = ["open", "acknowledged", "resolved"];
const EMPTY = { open: "alerts.emptyOpen", acknowledged: "alerts.emptyAcknowledged", resolved: "alerts.emptyResolved" } as const;
const STEP = 24;

function isState(value: string | null): value is AlertState {
  return value !== null && (STATES as string[]).includes(value);
}

function AlertCard({ alert, zone }: { alert: Alert; zone: string }) {
  const { t, i18n } = useTranslation();
  const picture = linkOf(alert, "crop") ?? linkOf(alert, "snapshot");
  const title = t("alerts.alertTitle", { id: alert.alert_id });
  return (
    <Card withBorder radius="md" padding="sm" component="article" aria-label={title} data-alert={alert.alert_id}>
      <Group align="flex-start" wrap="nowrap" gap="sm">
        {picture && (
          <Image
            src={picture.href}
            alt={t("alerts.crop", { id: alert.alert_id })}
            w={72}
            h={72}
            radius="sm"
            fit="cover"
            loading="lazy"
          />
        )}
        <Stack gap={4} style={{ flex: 1, minWidth: 0 }}>
          <Group gap="xs" justify="space-between" wrap="nowrap">
            <Anchor component={RouterLink} to={`/alerts/${alert.alert_id}`} fw={600}>
              {alertKindLabel(t, alert.kind)}
            </Anchor>
            <Badge color={alertStateColor(alert.state)} data-state={alert.state}>
              {alertStateLabel(t, alert.state)}
            </Badge>
          </Group>
          <Text size="sm">
            {title} · {alert.site_id} · {alert.device_id}
          </Text>
          <Text size="sm" c="dimmed">
            {t("alerts.opened")}: <time dateTime={alert.opened_at}>{formatDateTime(alert.opened_at, zone, i18n.language)}</time>
          </Text>
          <Group gap="xs" mt={4}>
            <AlertActions alert={alert} size="xs" />
            <Button component={RouterLink} to={`/alerts/${alert.alert_id}`} size="xs" variant="subtle">
              {t("alerts.details")}
            </Button>
          </Group>
        </Stack>
      </Group>
    </Card>
  );
}

function AlertList({ state }: { state: AlertState }) {
  const { t } = useTranslation();
  const [limit, setLimit] = useState(STEP);
  const alerts = useAlerts(state, limit);
  const sites = useSites();
  if (alerts.isPending) return <Loading />;
  if (alerts.error) return <LoadError error={alerts.error} retry={() => void alerts.refetch()} />;
  const items = alerts.data._embedded.items;
  if (items.length === 0) return <Text py="md">{t(EMPTY[state])}</Text>;
  return (
    <Stack>
      <SimpleGrid cols={{ base: 1, md: 2, xl: 3 }} spacing="sm" data-testid={`alerts-${state}`}>
        {items.map((alert) => (
          <AlertCard key={alert.alert_id} alert={alert} zone={zoneOf(sites.data?._embedded.items, alert.site_id)} />
        ))}
      </SimpleGrid>
      <Group justify="space-between">
        <Text size="sm" c="dimmed">
          {t("common.showing", { shown: items.length, total: alerts.data.total })}
        </Text>
        {alerts.data.total > items.length && limit < 500 && (
          <Button variant="subtle" onClick={() => setLimit((l) => Math.min(500, l + STEP))}>
            {t("common.showMore")}
          </Button>
        )}
      </Group>
    </Stack>
  );
}

export function Alerts() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const requested = params.get("state");
  const state: AlertState = isState(requested) ? requested : "open";
  return (
    <Stack>
      <Title order={1} size="h2">
        {t("alerts.title")}
      </Title>
      <Tabs
        value={state}
        onChange={(value) => {
          if (isState(value)) setParams({ state: value }, { replace: true });
        }}
        keepMounted={false}
      >
        <Tabs.List aria-label={t("alerts.states")}>
          {STATES.map((s) => (
            <Tabs.Tab key={s} value={s}>
              {alertStateLabel(t, s)}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        {STATES.map((s) => (
          <Tabs.Panel key={s} value={s} pt="md">
            <AlertList state={s} />
          </Tabs.Panel>
        ))}
      </Tabs>
    </Stack>
  );
}
