// Gates and cameras of the caller's sites with their health (online, last seen, software version,
// sensors), the remote "open" for a gate whose links offer it, and, for admins, the devices' broker
// accounts: register, rotate, revoke, delete.
import { Button, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { Camera, Gate } from "../api/client";
import { offers } from "../api/hal";
import { useCameras, useCameraStatus, useGates, useRoot, useSites } from "../api/queries";
import { Loading, LoadError } from "../components/QueryState";
import { DeviceAdmin } from "../devices/DeviceAdmin";
import { healthFromFrames } from "../devices/health";
import { HealthCells, HealthHeaders } from "../devices/HealthCells";
import { OpenGateDialog } from "../devices/OpenGateDialog";
import { zoneOf } from "../time/format";

/** Health is refreshed while the page is open: a device's heartbeat comes every minute. */
const HEALTH_EVERY_MS = 15_000;

/** A table wider than a phone scrolls sideways: its viewport takes the keyboard focus, so the arrow keys
 * scroll it even when the table holds nothing focusable (a viewer's gates, the cameras). */
function scrollByKeyboard(label: string) {
  return { viewportProps: { tabIndex: 0, role: "region", "aria-label": label } };
}

function NameCell({ name, id }: { name: string; id: string }) {
  return (
    <Table.Td>
      <Text size="sm" fw={500}>
        {name}
      </Text>
      <Text size="xs" c="dimmed">
        {id}
      </Text>
    </Table.Td>
  );
}

function GatesTable() {
  const { t } = useTranslation();
  const gates = useGates(HEALTH_EVERY_MS);
  const sites = useSites();
  const [opening, setOpening] = useState<Gate | null>(null);
  if (gates.isPending) return <Loading />;
  if (gates.error) return <LoadError error={gates.error} retry={() => void gates.refetch()} />;
  const items = gates.data._embedded.items;
  if (items.length === 0) return <Text>{t("devices.noGates")}</Text>;
  return (
    <>
      <Table.ScrollContainer minWidth={560} scrollAreaProps={scrollByKeyboard(t("devices.gates"))}>
        <Table striped verticalSpacing="xs" data-testid="gates">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">{t("devices.name")}</Table.Th>
              <Table.Th scope="col">{t("common.site")}</Table.Th>
              <HealthHeaders />
              <Table.Th scope="col">{t("devices.actions")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((gate) => (
              <Table.Tr key={gate.gate_id} data-gate={gate.gate_id}>
                <NameCell name={gate.name} id={gate.gate_id} />
                <Table.Td>{gate.site_id}</Table.Td>
                <HealthCells health={gate.health} zone={zoneOf(sites.data?._embedded.items, gate.site_id)} />
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
            ))}
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

/** A camera agent reports its own health; an IP camera the server reads is judged by its frames. */
function CameraHealth({ camera, zone }: { camera: Pick<Camera, "_links" | "camera_id" | "health">; zone: string }) {
  const frames = useCameraStatus(camera.camera_id, !camera.health && offers(camera, "status"));
  return <HealthCells health={camera.health ?? healthFromFrames(frames.data)} zone={zone} />;
}

function CamerasTable() {
  const { t } = useTranslation();
  const cameras = useCameras(HEALTH_EVERY_MS);
  const sites = useSites();
  if (cameras.isPending) return <Loading />;
  if (cameras.error) return <LoadError error={cameras.error} retry={() => void cameras.refetch()} />;
  const items = cameras.data._embedded.items;
  if (items.length === 0) return <Text>{t("devices.noCameras")}</Text>;
  return (
    <Table.ScrollContainer minWidth={480} scrollAreaProps={scrollByKeyboard(t("devices.cameras"))}>
      <Table striped verticalSpacing="xs" data-testid="cameras">
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">{t("devices.name")}</Table.Th>
            <Table.Th scope="col">{t("common.site")}</Table.Th>
            <HealthHeaders />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((camera) => (
            <Table.Tr key={camera.camera_id} data-camera={camera.camera_id}>
              <NameCell name={camera.name} id={camera.camera_id} />
              <Table.Td>{camera.site_id}</Table.Td>
              <CameraHealth camera={camera} zone={zoneOf(sites.data?._embedded.items, camera.site_id)} />
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

export function Devices() {
  const { t } = useTranslation();
  const root = useRoot();
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
      {offers(root.data, "devices") && (
        <Stack component="section" aria-labelledby="accounts-title" gap="xs">
          <Title order={2} size="h3" id="accounts-title">
            {t("devices.accounts")}
          </Title>
          <DeviceAdmin />
        </Stack>
      )}
    </Stack>
  );
}
