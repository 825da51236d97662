// Notifications the notifier gave up on (for admins): when, to which recipient, why; "Try again" once
// the receiver is fixed, when the delivery links `retry`.
import { Anchor, Button, Stack, Table, Text } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link as RouterLink } from "react-router";
import { useDeliveries, useRecipientAddresses, type Delivery } from "../../api/admin";
import { api, unwrap, type Site } from "../../api/client";
import { offers } from "../../api/hal";
import { channelLabel, transitionLabel } from "../../i18n/labels";
import { formatDateTime, zoneOf } from "../../time/format";
import { Loading, LoadError } from "../QueryState";

function RetryButton({ delivery }: { delivery: Delivery }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const retry = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/deliveries/{delivery_id}/retry", { params: { path: { delivery_id: delivery.delivery_id } } }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: ["deliveries"] }),
  });
  if (!offers(delivery, "retry", "POST")) return null;
  return (
    <Stack gap={2}>
      <Button size="xs" onClick={() => retry.mutate()} loading={retry.isPending} data-action="retry">
        {t("deliveries.retry")}
      </Button>
      {retry.error && (
        <Text size="xs" c="red" role="alert">
          {t("form.failed", { detail: retry.error.message })}
        </Text>
      )}
    </Stack>
  );
}

export function DeadDeliveries({ sites, administered }: { sites: Site[]; administered: string[] }) {
  const { t, i18n } = useTranslation();
  const dead = useDeliveries("dead", true);
  const addresses = useRecipientAddresses(administered);
  if (dead.isPending) return <Loading />;
  if (dead.error) return <LoadError error={dead.error} retry={() => void dead.refetch()} />;
  const items = dead.data._embedded.items;
  if (items.length === 0) return <Text data-testid="no-dead-deliveries">{t("deliveries.none")}</Text>;
  return (
    <Table.ScrollContainer minWidth={0}>
      <Table striped verticalSpacing="xs" className="card-table" data-testid="dead-deliveries">
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">{t("common.time")}</Table.Th>
            <Table.Th scope="col">{t("deliveries.what")}</Table.Th>
            <Table.Th scope="col">{t("deliveries.to")}</Table.Th>
            <Table.Th scope="col">{t("deliveries.lastError")}</Table.Th>
            <Table.Th scope="col">{t("devices.actions")}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((d) => (
            <Table.Tr key={d.delivery_id} data-delivery={d.delivery_id}>
              <Table.Td data-label={t("common.time")}>{formatDateTime(d.created_at, zoneOf(sites, d.site_id), i18n.language)}</Table.Td>
              <Table.Td data-label={t("deliveries.what")}>
                {d.alert_id !== null ? (
                  <Anchor component={RouterLink} to={`/alerts/${d.alert_id}`} size="sm">
                    {t("alerts.alertTitle", { id: d.alert_id })}
                  </Anchor>
                ) : (
                  <Text size="sm">{t("deliveries.unrecordedAlert")}</Text>
                )}
                <Text size="xs" c="dimmed">
                  {transitionLabel(t, d.transition)} · {d.site_id}
                </Text>
              </Table.Td>
              <Table.Td data-label={t("deliveries.to")}>
                <Text size="sm" style={{ overflowWrap: "anywhere" }}>
                  {addresses.get(d.recipient_id) ?? t("deliveries.recipient", { id: d.recipient_id })}
                </Text>
                <Text size="xs" c="dimmed">
                  {channelLabel(t, d.channel)} · {t("deliveries.attempts", { count: d.attempts })}
                </Text>
              </Table.Td>
              <Table.Td data-label={t("deliveries.lastError")}>
                <Text size="xs" style={{ overflowWrap: "anywhere" }} lineClamp={3}>
                  {d.last_error ?? "—"}
                </Text>
              </Table.Td>
              <Table.Td data-label={t("devices.actions")}>
                <RetryButton delivery={d} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
