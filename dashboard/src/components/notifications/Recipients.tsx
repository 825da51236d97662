// Who hears of a site's alerts, for the sites whose admins the caller is (their site links
// `recipients`): add, change and remove recipients. A new webhook's signing secret is shown once.
import { Badge, Button, Group, Select, Stack, Table, Text } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { adminKeys, noContent, useRecipients, type Recipient } from "../../api/admin";
import { api, type Schemas, type Site } from "../../api/client";
import { offers } from "../../api/hal";
import { channelLabel } from "../../i18n/labels";
import { COLORS } from "../colors";
import { ConfirmDialog } from "../ConfirmDialog";
import { Loading, LoadError } from "../QueryState";
import { SecretOnce } from "../SecretOnce";
import { RecipientDialog } from "./RecipientDialog";

function Rules({ recipient }: { recipient: Recipient }) {
  const { t } = useTranslation();
  const quiet = recipient.quiet_hours;
  return (
    <Stack gap={0}>
      <Text size="xs">{t("recipients.fromSeverity", { severity: t(`severity.${recipient.min_severity as "info"}`) })}</Text>
      <Text size="xs" c="dimmed">
        {quiet ? t("recipients.quietSpan", { start: quiet.start, end: quiet.end }) : t("recipients.noQuiet")}
      </Text>
      <Text size="xs" c="dimmed">
        {recipient.rate_limit ? t("recipients.rateShown", { limit: recipient.rate_limit }) : t("recipients.defaultRate")}
      </Text>
    </Stack>
  );
}

function RecipientRow({ recipient, onEdit, onDelete }: { recipient: Recipient; onEdit: () => void; onDelete: () => void }) {
  const { t } = useTranslation();
  return (
    <Table.Tr data-recipient={recipient.address}>
      <Table.Td data-label={t("recipients.channel")}>
        <Text size="sm" fw={500}>
          {channelLabel(t, recipient.channel)}
        </Text>
        {recipient.registered_by !== null && <Text size="xs" c="dimmed">{t("recipients.ownDevice")}</Text>}
      </Table.Td>
      <Table.Td data-label={t("recipients.address")}>
        <Text size="sm" style={{ overflowWrap: "anywhere" }} lineClamp={2} title={recipient.address}>
          {recipient.address}
        </Text>
        <Text size="xs" c="dimmed">
          {t(`language.${recipient.language === "ko" ? "ko" : "en"}`)} · {recipient.time_zone}
        </Text>
      </Table.Td>
      <Table.Td data-label={t("recipients.rules")}>
        <Rules recipient={recipient} />
      </Table.Td>
      <Table.Td data-label={t("recipients.state")}>
        {recipient.enabled ? (
          <Badge color={COLORS.good}>{t("recipients.on")}</Badge>
        ) : (
          <Badge color={COLORS.quiet}>{t("recipients.off")}</Badge>
        )}
      </Table.Td>
      <Table.Td data-label={t("devices.actions")}>
        <Group gap="xs" wrap="nowrap">
          {offers(recipient, "edit", "PATCH") && (
            <Button size="xs" variant="light" onClick={onEdit} aria-label={t("recipients.editLabel", { address: recipient.address })}>
              {t("form.edit")}
            </Button>
          )}
          {offers(recipient, "delete", "DELETE") && (
            <Button size="xs" variant="subtle" color="red" onClick={onDelete} aria-label={t("recipients.deleteLabel", { address: recipient.address })}>
              {t("form.delete")}
            </Button>
          )}
        </Group>
      </Table.Td>
    </Table.Tr>
  );
}

export function Recipients({ sites }: { sites: Site[] }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [chosen, setChosen] = useState<string | null>(null);
  const site = sites.find((s) => s.site_id === chosen) ?? sites[0] ?? null;
  const recipients = useRecipients(site?.site_id ?? null);
  const [dialog, setDialog] = useState<{ recipient: Recipient | null } | null>(null);
  const [removing, setRemoving] = useState<Recipient | null>(null);
  const [secret, setSecret] = useState<Schemas["RecipientCreatedOut"] | null>(null);
  const remove = useMutation({
    mutationFn: async (r: Recipient) =>
      noContent(await api.DELETE("/api/v1/recipients/{recipient_id}", { params: { path: { recipient_id: r.recipient_id } } })),
    onSuccess: () => {
      setRemoving(null);
      void client.invalidateQueries({ queryKey: adminKeys.recipients(site?.site_id ?? "") });
    },
  });
  if (site === null) return <Text>{t("recipients.noSites")}</Text>;
  return (
    <Stack gap="sm">
      <Group justify="space-between" align="flex-end">
        {sites.length > 1 ? (
          <Select
            label={t("common.site")}
            data={sites.map((s) => ({ value: s.site_id, label: s.name }))}
            value={site.site_id}
            onChange={setChosen}
            allowDeselect={false}
          />
        ) : (
          <Text size="sm">{t("recipients.ofSite", { site: site.name })}</Text>
        )}
        {recipients.data && offers(recipients.data, "create", "POST") && (
          <Button onClick={() => setDialog({ recipient: null })} data-action="add-recipient">
            {t("recipients.add")}
          </Button>
        )}
      </Group>
      {secret?.webhook_secret && (
        <SecretOnce label={t("recipients.webhookSecret")} secret={secret.webhook_secret} onDone={() => setSecret(null)} />
      )}
      {recipients.isPending ? (
        <Loading />
      ) : recipients.error ? (
        <LoadError error={recipients.error} retry={() => void recipients.refetch()} />
      ) : recipients.data._embedded.items.length === 0 ? (
        <Text>{t("recipients.empty")}</Text>
      ) : (
        <Table.ScrollContainer minWidth={0}>
          <Table striped verticalSpacing="xs" className="card-table" data-testid="recipients">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{t("recipients.channel")}</Table.Th>
                <Table.Th scope="col">{t("recipients.address")}</Table.Th>
                <Table.Th scope="col">{t("recipients.rules")}</Table.Th>
                <Table.Th scope="col">{t("recipients.state")}</Table.Th>
                <Table.Th scope="col">{t("devices.actions")}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {recipients.data._embedded.items.map((r) => (
                <RecipientRow
                  key={r.recipient_id}
                  recipient={r}
                  onEdit={() => setDialog({ recipient: r })}
                  onDelete={() => {
                    remove.reset();
                    setRemoving(r);
                  }}
                />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <RecipientDialog
        site={site}
        recipient={dialog?.recipient ?? null}
        opened={dialog !== null}
        onClose={() => setDialog(null)}
        onCreated={setSecret}
      />
      <ConfirmDialog
        opened={removing !== null}
        title={t("recipients.deleteTitle")}
        message={t("recipients.deleteMessage", { address: removing?.address ?? "" })}
        confirm={t("form.delete")}
        onConfirm={() => removing && remove.mutate(removing)}
        onClose={() => setRemoving(null)}
        pending={remove.isPending}
        error={remove.error}
      />
    </Stack>
  );
}
