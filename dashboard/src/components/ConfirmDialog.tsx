// "Are you sure?" before something that cannot be undone (removing a user, revoking a token).
import { Alert as Notice, Button, Group, Modal, Stack, Text } from "@mantine/core";
import { useTranslation } from "react-i18next";

type Props = {
  opened: boolean;
  title: string;
  message: string;
  confirm: string;
  onConfirm: () => void;
  onClose: () => void;
  pending: boolean;
  error: Error | null;
};

export function ConfirmDialog({ opened, title, message, confirm, onConfirm, onClose, pending, error }: Props) {
  const { t } = useTranslation();
  return (
    <Modal opened={opened} onClose={onClose} title={title} centered closeButtonProps={{ "aria-label": t("form.close") }}>
      <Stack>
        <Text>{message}</Text>
        {error && (
          <Notice color="red" variant="light" role="alert">
            {t("form.failed", { detail: error.message })}
          </Notice>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            {t("form.cancel")}
          </Button>
          <Button color="red" onClick={onConfirm} loading={pending} data-action="confirm">
            {confirm}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
