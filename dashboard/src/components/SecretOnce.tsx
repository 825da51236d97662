// A secret the API shows in one answer only (a new API token, a webhook's signing secret): shown with
// a copy button and the warning that it cannot be read again.
import { Alert, Button, CopyButton, Group, Stack, Text, TextInput } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { COLORS } from "./colors";

export function SecretOnce({ label, secret, onDone }: { label: string; secret: string; onDone: () => void }) {
  const { t } = useTranslation();
  return (
    <Alert color="yellow" variant="light" title={t("secret.title")} data-testid="secret-once">
      <Stack gap="xs">
        <Text size="sm">{t("secret.once")}</Text>
        <TextInput
          label={label}
          value={secret}
          readOnly
          onFocus={(event) => event.currentTarget.select()}
          styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
          data-testid="secret-value"
        />
        <Group gap="xs">
          <CopyButton value={secret}>
            {({ copied, copy }) => (
              <Button size="xs" color={copied ? COLORS.good : undefined} onClick={copy} data-action="copy">
                {copied ? t("secret.copied") : t("secret.copy")}
              </Button>
            )}
          </CopyButton>
          <Button size="xs" variant="default" onClick={onDone}>
            {t("secret.done")}
          </Button>
        </Group>
      </Stack>
    </Alert>
  );
}
