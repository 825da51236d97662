// An operator opens a gate by hand, with a reason for the audit log; the answer says whether the gate
// confirmed that it opened (it answers once the barrier is open), so nobody walks over to check.
import { Alert as Notice, Button, Group, Modal, Stack, TextInput } from "@mantine/core";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Gate } from "../api/client";
import { openResult, type OpenResult } from "./health";

const NOTICE: Record<OpenResult, { color: string; key: "devices.confirmed" | "devices.expired" | "devices.unconfirmed" }> = {
  confirmed: { color: "teal", key: "devices.confirmed" },
  expired: { color: "orange", key: "devices.expired" },
  unconfirmed: { color: "yellow", key: "devices.unconfirmed" },
};

export function OpenGateDialog({ gate, onClose }: { gate: Gate | null; onClose: () => void }) {
  const { t } = useTranslation();
  const [reason, setReason] = useState("");
  const open = useMutation({
    mutationFn: async (g: Gate) =>
      unwrap(await api.POST("/api/v1/gates/{gate_id}/open", { params: { path: { gate_id: g.gate_id } }, body: { reason } })),
  });
  const close = () => {
    setReason("");
    open.reset();
    onClose();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (gate && reason.trim()) open.mutate(gate);
  };
  const result = open.data ? openResult(open.data) : null;
  return (
    <Modal
      opened={gate !== null}
      onClose={close}
      title={gate ? t("devices.openTitle", { gate: gate.name }) : ""}
      closeButtonProps={{ "aria-label": t("devices.close") }}
      centered
    >
      {result && gate ? (
        <Stack>
          <Notice color={NOTICE[result].color} variant="light" role="status" data-open-result={result}>
            {t(NOTICE[result].key, { gate: gate.name })}
          </Notice>
          <Button onClick={close}>{t("devices.close")}</Button>
        </Stack>
      ) : (
        <form onSubmit={submit}>
          <Stack>
            <TextInput
              label={t("devices.reason")}
              description={t("devices.reasonHint")}
              required
              maxLength={500}
              value={reason}
              onChange={(e) => setReason(e.currentTarget.value)}
              data-autofocus
            />
            {open.error && (
              <Notice color="red" variant="light" role="alert">
                {t("alerts.actionFailed", { detail: open.error.message })}
              </Notice>
            )}
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                {t("devices.cancel")}
              </Button>
              <Button type="submit" loading={open.isPending} disabled={!reason.trim()}>
                {open.isPending ? t("devices.waiting") : t("devices.send")}
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
