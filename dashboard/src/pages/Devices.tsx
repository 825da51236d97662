// Gates and cameras of the caller's sites: whether each is online and when it was last seen, and the
// remote "open" for a gate whose links offer it.
import { Alert as Notice, Badge, Button, Group, Modal, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Camera, type Gate } from "../api/client";
import { offers } from "../api/hal";
import { useCameras, useCameraStatus, useGates, useSites, useUnresolvedOffline } from "../api/queries";
import { COLORS } from "../components/colors";
import { Loading, LoadError } from "../components/QueryState";
import { formatDateTime, zoneOf } from "../time/format";

function OpenGateDialog({ gate, onClose }: { gate: Gate | null; onClose: () => void }) {
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
  return (
    <Modal opened={gate !== null} onClose={close} title={gate ? t("devices.openTitle", { gate: gate.name }) : ""}
      closeButtonProps={{ "aria-label": t("devices.close") }}
      centered
    >
      {open.isSuccess && gate ? (
        <Stack>
          <Notice color="teal" variant="light" role="status">
            {t("devices.sent", { gate: gate.name })}
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
                {t("devices.send")}
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}

function GatesTable() {
  const { t, i18n } = useTranslation();
  const gates = useGates();
  const sites = useSites();
  const offline = useUnresolvedOffline();
  const [opening, setOpening] = useState<Gate | null>(null);
  if (gates.isPending) return <Loading />;
  if (gates.error) return <LoadError error={gates.error} retry={() => void gates.refetch()} />;
  const items = gates.data._embedded.items;
  if (items.length === 0) return <Text>{t("devices.noGates")}</Text>;
  return (
    <>
      <Table.ScrollContainer minWidth={340}>
        <Table striped verticalSpacing="xs" data-testid="gates">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">{t("devices.name")}</Table.Th>
              <Table.Th scope="col">{t("common.site")}</Table.Th>
              <Table.Th scope="col">{t("devices.status")}</Table.Th>
              <Table.Th scope="col">{t("devices.actions")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((gate) => {
              const since = offline.data?.get(gate.gate_id);
              const zone = zoneOf(sites.data?._embedded.items, gate.site_id);
              return (
                <Table.Tr key={gate.gate_id} data-gate={gate.gate_id}>
                  <Table.Td>
                    <Text size="sm" fw={500}>
                      {gate.name}
                    </Text>
                    <Text size="xs" c="dimmed">
                      {gate.gate_id}
                    </Text>
                  </Table.Td>
                  <Table.Td>{gate.site_id}</Table.Td>
                  <Table.Td>
                    {offline.isPending ? (
                      "…"
                    ) : since ? (
                      <Badge color={COLORS.bad}>
                        {t("devices.offlineSince", { time: formatDateTime(since, zone, i18n.language) })}
                      </Badge>
                    ) : (
                      <Text size="sm">{t("devices.noOutage")}</Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    {offers(gate, "open", "POST") ? (
                      <Button
                        size="xs"
                        onClick={() => setOpening(gate)}
                        aria-label={t("devices.openGateLabel", { gate: gate.name })}
                        data-action="open"
                      >
                        {t("devices.openGate")}
                      </Button>
                    ) : (
                      "—"
                    )}
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <Text size="xs" c="dimmed">
        {t("devices.gateStatusNote")}
      </Text>
      <OpenGateDialog gate={opening} onClose={() => setOpening(null)} />
    </>
  );
}

function CameraRow({ camera, zone }: { camera: Pick<Camera, "_links" | "camera_id" | "name" | "site_id">; zone: string }) {
  const { t, i18n } = useTranslation();
  const status = useCameraStatus(camera.camera_id, offers(camera, "status"));
  let badge = <Text size="sm">{t("devices.unknown")}</Text>;
  if (status.data) {
    badge = (
      <Badge color={status.data.online ? COLORS.good : COLORS.bad} data-online={status.data.online}>
        {status.data.online ? t("devices.online") : t("devices.offline")}
      </Badge>
    );
  } else if (status.isLoading) {
    badge = <Text size="sm">…</Text>;
  }
  const seen = status.data?.last_seen_at;
  return (
    <Table.Tr data-camera={camera.camera_id}>
      <Table.Td>
        <Text size="sm" fw={500}>
          {camera.name}
        </Text>
        <Text size="xs" c="dimmed">
          {camera.camera_id}
        </Text>
      </Table.Td>
      <Table.Td>{camera.site_id}</Table.Td>
      <Table.Td>{badge}</Table.Td>
      <Table.Td>{status.data ? (seen ? formatDateTime(seen, zone, i18n.language) : t("devices.never")) : "—"}</Table.Td>
    </Table.Tr>
  );
}

function CamerasTable() {
  const { t } = useTranslation();
  const cameras = useCameras();
  const sites = useSites();
  if (cameras.isPending) return <Loading />;
  if (cameras.error) return <LoadError error={cameras.error} retry={() => void cameras.refetch()} />;
  const items = cameras.data._embedded.items;
  if (items.length === 0) return <Text>{t("devices.noCameras")}</Text>;
  return (
    <Table.ScrollContainer minWidth={340}>
      <Table striped verticalSpacing="xs" data-testid="cameras">
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">{t("devices.name")}</Table.Th>
            <Table.Th scope="col">{t("common.site")}</Table.Th>
            <Table.Th scope="col">{t("devices.status")}</Table.Th>
            <Table.Th scope="col">{t("devices.lastSeen")}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((camera) => (
            <CameraRow key={camera.camera_id} camera={camera} zone={zoneOf(sites.data?._embedded.items, camera.site_id)} />
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

export function Devices() {
  const { t } = useTranslation();
  return (
    <Stack>
      <Title order={1} size="h2">
        {t("devices.title")}
      </Title>
      <Stack component="section" aria-labelledby="gates-title" gap="xs">
        <Title order={2} size="h3" id="gates-title">
          {t("devices.gates")}
        </Title>
        <GatesTable />
      </Stack>
      <Stack component="section" aria-labelledby="cameras-title" gap="xs">
        <Title order={2} size="h3" id="cameras-title">
          {t("devices.cameras")}
        </Title>
        <CamerasTable />
      </Stack>
    </Stack>
  );
}
