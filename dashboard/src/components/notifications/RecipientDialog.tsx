// Add a recipient to a site, or change one: channel and address, language and time zone of its
// messages, the least severity it hears of, quiet hours and a rate limit.
import { Alert as Notice, Button, Group, Modal, Select, SimpleGrid, Stack, Switch, TextInput } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { adminKeys, useChannels, type Recipient } from "../../api/admin";
import { api, unwrap, type Schemas } from "../../api/client";
import { channelLabel } from "../../i18n/labels";
import {
  createRecipientBody,
  emptyRecipient,
  MANUAL_CHANNELS,
  patchRecipientBody,
  recipientForm,
  recipientProblems,
  SEVERITIES,
  type RecipientForm,
} from "../../notifications/form";

type Props = {
  site: { site_id: string; name: string; time_zone: string } | null;
  recipient: Recipient | null;
  opened: boolean;
  onClose: () => void;
  onCreated: (created: Schemas["RecipientCreatedOut"]) => void;
};

// Descriptions under the inputs, so that the inputs side by side in the grid line up.
const BELOW = ["label", "input", "description", "error"] as ("label" | "input" | "description" | "error")[];

const ZONES: string[] = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : ["UTC"];

export function RecipientDialog({ site, recipient, opened, onClose, onCreated }: Props) {
  const { t } = useTranslation();
  const title = recipient
    ? t("recipients.editTitle")
    : t("recipients.addTitle", { site: site?.name ?? "" });
  return (
    <Modal opened={opened} onClose={onClose} title={title} centered size="lg" closeButtonProps={{ "aria-label": t("form.close") }}>
      {opened && site && (
        <RecipientFields key={recipient?.recipient_id ?? "new"} site={site} recipient={recipient} onClose={onClose} onCreated={onCreated} />
      )}
    </Modal>
  );
}

function RecipientFields({ site, recipient, onClose, onCreated }: Omit<Props, "opened"> & { site: NonNullable<Props["site"]> }) {
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const channels = useChannels(true);
  const [form, setForm] = useState<RecipientForm>(
    recipient ? recipientForm(recipient) : emptyRecipient(site.time_zone, i18n.language === "ko" ? "ko" : "en"),
  );
  const [tried, setTried] = useState(false);
  const set = <K extends keyof RecipientForm>(key: K, value: RecipientForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const save = useMutation({
    mutationFn: async () => {
      if (recipient === null) {
        const created = unwrap(
          await api.POST("/api/v1/sites/{site_id}/recipients", {
            params: { path: { site_id: site.site_id } },
            body: createRecipientBody(form),
          }),
        );
        onCreated(created);
        return;
      }
      unwrap(
        await api.PATCH("/api/v1/recipients/{recipient_id}", {
          params: { path: { recipient_id: recipient.recipient_id } },
          body: patchRecipientBody(form, recipient),
        }),
      );
    },
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: adminKeys.recipients(site.site_id) });
      onClose();
    },
  });
  const wrong = tried ? recipientProblems(form) : [];
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTried(true);
    if (recipientProblems(form).length === 0) save.mutate();
  };
  // Only channels the notifier is set up for can deliver; the others are shown, but not offered.
  const configured = new Map((channels.data?._embedded.items ?? []).map((c) => [c.name, c.configured]));
  const channelOptions = MANUAL_CHANNELS.map((c) => ({
    value: c,
    label: configured.get(c) === false ? t("recipients.notSetUp", { channel: channelLabel(t, c) }) : channelLabel(t, c),
    disabled: configured.get(c) === false,
  }));
  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <Select
            label={t("recipients.channel")}
            data={recipient ? [{ value: form.channel, label: channelLabel(t, form.channel) }] : channelOptions}
            value={form.channel}
            disabled={recipient !== null}
            onChange={(value) => {
              const channel = MANUAL_CHANNELS.find((c) => c === value);
              if (channel) set("channel", channel);
            }}
            allowDeselect={false}
            comboboxProps={{ withinPortal: true }}
          />
          <TextInput
            label={t("recipients.address")}
            description={t(`recipients.addressHint.${form.channel}`)}
            inputWrapperOrder={BELOW}
            required
            value={form.address}
            onChange={(e) => set("address", e.currentTarget.value)}
            error={wrong.includes("address") ? t("recipients.addressMissing") : undefined}
            data-autofocus
          />
          <Select
            label={t("recipients.language")}
            data={[
              { value: "en", label: t("language.en") },
              { value: "ko", label: t("language.ko") },
            ]}
            value={form.language}
            onChange={(value) => set("language", value === "ko" ? "ko" : "en")}
            allowDeselect={false}
            comboboxProps={{ withinPortal: true }}
          />
          <Select
            label={t("recipients.timeZone")}
            data={ZONES.includes(form.timeZone) ? ZONES : [form.timeZone, ...ZONES]}
            value={form.timeZone}
            onChange={(value) => value && set("timeZone", value)}
            searchable
            allowDeselect={false}
            limit={50}
            comboboxProps={{ withinPortal: true }}
          />
          <Select
            label={t("recipients.minSeverity")}
            description={t(`recipients.severityHint.${form.minSeverity}`)}
            inputWrapperOrder={BELOW}
            data={SEVERITIES.map((s) => ({ value: s, label: t(`severity.${s}`) }))}
            value={form.minSeverity}
            onChange={(value) => {
              const severity = SEVERITIES.find((s) => s === value);
              if (severity) set("minSeverity", severity);
            }}
            allowDeselect={false}
            comboboxProps={{ withinPortal: true }}
          />
          <TextInput
            label={t("recipients.rateLimit")}
            description={t("recipients.rateLimitHint")}
            inputWrapperOrder={BELOW}
            placeholder="5/10min"
            value={form.rateLimit}
            onChange={(e) => set("rateLimit", e.currentTarget.value)}
            error={wrong.includes("rateLimit") ? t("recipients.rateLimitWrong") : undefined}
          />
          <TextInput
            type="time"
            label={t("recipients.quietFrom")}
            value={form.quietStart}
            onChange={(e) => set("quietStart", e.currentTarget.value)}
            error={wrong.includes("quietHours") ? t("recipients.quietWrong") : undefined}
          />
          <TextInput
            type="time"
            label={t("recipients.quietUntil")}
            description={t("recipients.quietHint")}
            inputWrapperOrder={BELOW}
            value={form.quietEnd}
            onChange={(e) => set("quietEnd", e.currentTarget.value)}
          />
        </SimpleGrid>
        {recipient && (
          <Switch
            label={t("recipients.enabled")}
            description={t("recipients.enabledHint")}
            checked={form.enabled}
            onChange={(e) => set("enabled", e.currentTarget.checked)}
          />
        )}
        {save.error && (
          <Notice color="red" variant="light" role="alert">
            {t("form.failed", { detail: save.error.message })}
          </Notice>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            {t("form.cancel")}
          </Button>
          <Button type="submit" loading={save.isPending} data-action="save-recipient">
            {recipient ? t("form.save") : t("recipients.add")}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
