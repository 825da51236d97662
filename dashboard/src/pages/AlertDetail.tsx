// One alert (/alerts/:id, the address notification messages link to): what happened, when, its
// snapshot, and the actions its links offer.
import { Anchor, Badge, Card, Group, Image, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { Link as RouterLink, useParams } from "react-router";
import { ApiError, type Alert } from "../api/client";
import { linkOf } from "../api/hal";
import { useAlert, useSites } from "../api/queries";
import { AlertActions } from "../components/AlertActions";
import { alertStateColor } from "../components/colors";
import { Loading, LoadError } from "../components/QueryState";
import { alertKindLabel, alertStateLabel, resolutionLabel } from "../i18n/labels";
import { formatDateTime } from "../time/format";

function Facts({ alert, zone }: { alert: Alert; zone: string }) {
  const { t, i18n } = useTranslation();
  const when = (iso: string | null) => formatDateTime(iso, zone, i18n.language);
  // The person by e-mail; a user deleted since by the id the alert kept.
  const byWhom = (email: string | null | undefined, id: number | null) =>
    email ? ` (${t("alerts.byEmail", { email })})` : id != null ? ` (${t("alerts.byUser", { id })})` : "";
  const rows: [string, string][] = [
    [t("common.site"), alert.site_id],
    [t("alerts.device"), alert.device_id],
    [t("alerts.opened"), when(alert.opened_at)],
  ];
  if (alert.unmasked_since) rows.push([t("alerts.unmaskedSince"), when(alert.unmasked_since)]);
  if (alert.track != null) rows.push([t("alerts.track"), String(alert.track)]);
  if (alert.acknowledged_at) {
    const by = byWhom(alert.acknowledged_by_email, alert.acknowledged_by);
    rows.push([t("alerts.acknowledged"), when(alert.acknowledged_at) + by]);
  }
  if (alert.resolved_at) {
    const by = byWhom(alert.resolved_by_email, alert.resolved_by);
    rows.push([t("alerts.resolved"), when(alert.resolved_at) + by]);
  }
  if (alert.resolution) rows.push([t("alerts.resolution"), resolutionLabel(t, alert.resolution)]);
  return (
    <Table variant="vertical" layout="fixed" withTableBorder>
      <Table.Tbody>
        {rows.map(([name, value]) => (
          <Table.Tr key={name}>
            <Table.Th w={{ base: 130, sm: 180 }}>{name}</Table.Th>
            <Table.Td>{value}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export function AlertDetail() {
  const { t } = useTranslation();
  const { id } = useParams();
  const alertId = Number(id);
  const valid = Number.isInteger(alertId) && alertId > 0;
  const alert = useAlert(valid ? alertId : 0);
  const sites = useSites();
  const back = (
    <Anchor component={RouterLink} to="/alerts" size="sm">
      ← {t("alerts.back")}
    </Anchor>
  );
  if (!valid || (alert.error instanceof ApiError && alert.error.status === 404)) {
    return (
      <Stack>
        {back}
        <Text>{t("alerts.notFound", { id: id ?? "" })}</Text>
      </Stack>
    );
  }
  if (alert.isPending) return <Loading />;
  if (alert.error) return <LoadError error={alert.error} retry={() => void alert.refetch()} />;
  const a = alert.data;
  const zone = sites.data?._embedded.items.find((s) => s.site_id === a.site_id)?.time_zone ?? "UTC";
  const snapshot = linkOf(a, "snapshot");
  const crop = linkOf(a, "crop");
  return (
    <Stack>
      {back}
      <Group justify="space-between" align="center">
        <div>
          <Title order={1} size="h2">
            {alertKindLabel(t, a.kind)}
          </Title>
          <Text c="dimmed" size="sm">
            {t("alerts.alertTitle", { id: a.alert_id })} · {t("common.timeZone", { zone })}
          </Text>
        </div>
        <Badge size="lg" color={alertStateColor(a.state)} data-state={a.state} data-testid="alert-state">
          {alertStateLabel(t, a.state)}
        </Badge>
      </Group>
      <AlertActions alert={a} />
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md" style={{ alignItems: "start" }}>
        <Facts alert={a} zone={zone} />
        <Card withBorder padding="xs" radius="md">
          {snapshot || crop ? (
            <Stack gap="xs">
              {snapshot && (
                <Image src={snapshot.href} alt={t("alerts.snapshot", { id: a.alert_id })} radius="sm" mah={420} fit="contain" data-testid="snapshot" />
              )}
              {crop && <Image src={crop.href} alt={t("alerts.crop", { id: a.alert_id })} radius="sm" maw={160} />}
            </Stack>
          ) : (
            <Text size="sm" c="dimmed" p="sm">
              {t("alerts.noSnapshot")}
            </Text>
          )}
        </Card>
      </SimpleGrid>
    </Stack>
  );
}
