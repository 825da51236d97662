// A device's broker account as the API shows it once (registered or rotated): the password, the broker
// as the Pi reaches it, and the Pi's configuration file, each with a copy button.
import { Alert as Notice, Button, Code, CopyButton, Group, Modal, Stack, Text, Textarea, TextInput } from "@mantine/core";
import { useTranslation } from "react-i18next";
import type { DeviceCredentials } from "../api/devices";

function Copy({ value, label }: { value: string; label: string }) {
  const { t } = useTranslation();
  return (
    <CopyButton value={value}>
      {({ copied, copy }) => (
        <Button size="xs" variant="light" onClick={copy} aria-label={label}>
          {copied ? t("devices.copied") : t("devices.copy")}
        </Button>
      )}
    </CopyButton>
  );
}

export function CredentialsPanel({ credentials, onClose }: { credentials: DeviceCredentials | null; onClose: () => void }) {
  const { t } = useTranslation();
  if (credentials === null) return null;
  const broker = credentials.broker;
  const address = `${broker.tls ? "mqtts" : "mqtt"}://${broker.host}:${broker.port}`;
  return (
    <Modal
      opened
      onClose={onClose}
      size="lg"
      title={t("devices.credentialsTitle", { device: credentials.device.device_id })}
      closeButtonProps={{ "aria-label": t("devices.close") }}
      centered
    >
      <Stack data-testid="device-credentials">
        <Notice color="yellow" variant="light">
          {t("devices.shownOnce")}
        </Notice>
        <Text size="sm">
          {t("devices.brokerFor")} <Code data-broker>{address}</Code>
        </Text>
        <Group align="end" gap="xs">
          <TextInput label={t("devices.username")} value={credentials.username} readOnly style={{ flex: 1 }} />
        </Group>
        <Group align="end" gap="xs">
          <TextInput
            label={t("devices.password")}
            value={credentials.password}
            readOnly
            style={{ flex: 1 }}
            styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
            data-testid="device-password"
          />
          <Copy value={credentials.password} label={t("devices.copyPassword")} />
        </Group>
        <Textarea
          label={t("devices.configFile", { path: credentials.config_path })}
          value={credentials.config}
          readOnly
          rows={9}
          styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
          data-testid="device-config"
        />
        <Group justify="space-between">
          <Copy value={credentials.config} label={t("devices.copyConfig")} />
          <Text size="xs" c="dimmed">
            {credentials.broker_reloaded ? t("devices.brokerReloaded") : t("devices.brokerNotReloaded")}
          </Text>
        </Group>
        <Button onClick={onClose}>{t("devices.done")}</Button>
      </Stack>
    </Modal>
  );
}
