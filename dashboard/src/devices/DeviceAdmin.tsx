// Admins manage devices here: register a gate or camera (its password and Pi config shown once), give it
// a new password, revoke its broker account, delete it. Each button appears only when the device (or
// the collection, for registering) links the action.
import {
  Alert as Notice,
  Badge,
  Button,
  Group,
  Modal,
  SegmentedControl,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import {
  useDeleteDevice,
  useDevices,
  useRegisterDevice,
  useRevokeDevice,
  useRotateDevice,
  type DeviceCredentials,
  type ManagedDevice,
} from "../api/devices";
import { offers } from "../api/hal";
import { useSites } from "../api/queries";
import { COLORS } from "../components/colors";
import { Loading, LoadError } from "../components/QueryState";
import { CredentialsPanel } from "./CredentialsPanel";
import { credentialsOf, type Credentials } from "./health";

const CREDENTIAL_COLOR: Record<Credentials, string> = {
  active: COLORS.good,
  revoked: COLORS.bad,
  none: COLORS.quiet,
  unknown: COLORS.quiet,
};

function RegisterForm({ onCreated }: { onCreated: (credentials: DeviceCredentials) => void }) {
  const { t } = useTranslation();
  const sites = useSites();
  const register = useRegisterDevice();
  const [kind, setKind] = useState<"gate" | "camera">("gate");
  const [deviceId, setDeviceId] = useState("");
  const [site, setSite] = useState<string | null>(null);
  const [name, setName] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!site || !deviceId.trim()) return;
    register.mutate(
      { kind, device_id: deviceId.trim(), site_id: site, name: name.trim() || null },
      {
        onSuccess: (credentials) => {
          setDeviceId("");
          setName("");
          onCreated(credentials);
        },
      },
    );
  };
  const siteOptions = (sites.data?._embedded.items ?? []).map((s) => ({ value: s.site_id, label: s.name }));
  return (
    <form onSubmit={submit} aria-labelledby="register-title">
      <Stack gap="xs">
        <Title order={3} size="h4" id="register-title">
          {t("devices.register")}
        </Title>
        <SegmentedControl
          aria-label={t("devices.kind")}
          value={kind}
          onChange={(value) => setKind(value === "camera" ? "camera" : "gate")}
          data={[
            { value: "gate", label: t("devices.kindGate") },
            { value: "camera", label: t("devices.kindCamera") },
          ]}
        />
        <Group grow align="start">
          <TextInput
            label={t("devices.deviceId")}
            description={t("devices.deviceIdHint")}
            required
            maxLength={64}
            pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*"
            value={deviceId}
            onChange={(e) => setDeviceId(e.currentTarget.value)}
            data-field="device-id"
          />
          <Select label={t("common.site")} required data={siteOptions} value={site} onChange={setSite} data-field="site" />
          <TextInput label={t("devices.name")} maxLength={200} value={name} onChange={(e) => setName(e.currentTarget.value)} />
        </Group>
        {register.error && (
          <Notice color="red" variant="light" role="alert">
            {t("alerts.actionFailed", { detail: register.error.message })}
          </Notice>
        )}
        <Group justify="flex-end">
          <Button type="submit" loading={register.isPending} disabled={!site || !deviceId.trim()} data-action="register">
            {t("devices.registerButton")}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

type Pending = { device: ManagedDevice; action: "revoke" | "delete" };

function ConfirmAction({ pending, onClose }: { pending: Pending | null; onClose: () => void }) {
  const { t } = useTranslation();
  const revoke = useRevokeDevice();
  const remove = useDeleteDevice();
  const mutation = pending?.action === "delete" ? remove : revoke;
  const close = () => {
    revoke.reset();
    remove.reset();
    onClose();
  };
  const confirm = () => {
    if (!pending) return;
    const id = pending.device.device_id;
    if (pending.action === "delete") remove.mutate(id, { onSuccess: close });
    else revoke.mutate(id, { onSuccess: close });
  };
  const id = pending?.device.device_id ?? "";
  return (
    <Modal
      opened={pending !== null}
      onClose={close}
      title={pending?.action === "delete" ? t("devices.deleteTitle", { device: id }) : t("devices.revokeTitle", { device: id })}
      closeButtonProps={{ "aria-label": t("devices.close") }}
      centered
    >
      <Stack>
        <Text size="sm">{pending?.action === "delete" ? t("devices.deleteExplain") : t("devices.revokeExplain")}</Text>
        {mutation.error && (
          <Notice color="red" variant="light" role="alert">
            {t("alerts.actionFailed", { detail: mutation.error.message })}
          </Notice>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={close}>
            {t("devices.cancel")}
          </Button>
          <Button color="red" loading={mutation.isPending} onClick={confirm} data-action="confirm">
            {pending?.action === "delete" ? t("devices.delete") : t("devices.revoke")}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

function DeviceRow({ device, onCredentials, onConfirm }: {
  device: ManagedDevice;
  onCredentials: (credentials: DeviceCredentials) => void;
  onConfirm: (pending: Pending) => void;
}) {
  const { t } = useTranslation();
  const rotate = useRotateDevice();
  const state = credentialsOf(device);
  return (
    <Table.Tr data-device={device.device_id}>
      <Table.Td>
        <Text size="sm" fw={500}>
          {device.name}
        </Text>
        <Text size="xs" c="dimmed">
          {device.device_id}
        </Text>
      </Table.Td>
      <Table.Td>{device.kind === "camera" ? t("devices.kindCamera") : t("devices.kindGate")}</Table.Td>
      <Table.Td>{device.site_id}</Table.Td>
      <Table.Td>
        <Badge color={CREDENTIAL_COLOR[state]} data-credentials={state}>
          {t(`devices.credentials.${state}`)}
        </Badge>
      </Table.Td>
      <Table.Td>
        <Group gap={4} wrap="nowrap">
          {offers(device, "rotate", "POST") && (
            <Button
              size="xs"
              variant="light"
              loading={rotate.isPending}
              onClick={() => rotate.mutate(device.device_id, { onSuccess: onCredentials })}
              aria-label={t("devices.rotateLabel", { device: device.device_id })}
              data-action="rotate"
            >
              {t("devices.rotate")}
            </Button>
          )}
          {offers(device, "revoke", "POST") && (
            <Button
              size="xs"
              variant="light"
              color="red"
              onClick={() => onConfirm({ device, action: "revoke" })}
              aria-label={t("devices.revokeLabel", { device: device.device_id })}
              data-action="revoke"
            >
              {t("devices.revoke")}
            </Button>
          )}
          {offers(device, "delete", "DELETE") && (
            <Button
              size="xs"
              variant="subtle"
              color="red"
              onClick={() => onConfirm({ device, action: "delete" })}
              aria-label={t("devices.deleteLabel", { device: device.device_id })}
              data-action="delete"
            >
              {t("devices.delete")}
            </Button>
          )}
        </Group>
        {rotate.error && (
          <Text size="xs" c="red" role="alert">
            {t("alerts.actionFailed", { detail: rotate.error.message })}
          </Text>
        )}
      </Table.Td>
    </Table.Tr>
  );
}

export function DeviceAdmin() {
  const { t } = useTranslation();
  const devices = useDevices(true);
  const [credentials, setCredentials] = useState<DeviceCredentials | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  if (devices.isPending) return <Loading />;
  if (devices.error) return <LoadError error={devices.error} retry={() => void devices.refetch()} />;
  const items = devices.data._embedded.items;
  return (
    <Stack gap="sm">
      {offers(devices.data, "create", "POST") && <RegisterForm onCreated={setCredentials} />}
      <Table.ScrollContainer minWidth={480}>
        <Table striped verticalSpacing="xs" data-testid="managed-devices">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">{t("devices.name")}</Table.Th>
              <Table.Th scope="col">{t("devices.kind")}</Table.Th>
              <Table.Th scope="col">{t("common.site")}</Table.Th>
              <Table.Th scope="col">{t("devices.account")}</Table.Th>
              <Table.Th scope="col">{t("devices.actions")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((device) => (
              <DeviceRow key={device.device_id} device={device} onCredentials={setCredentials} onConfirm={setPending} />
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <CredentialsPanel credentials={credentials} onClose={() => setCredentials(null)} />
      <ConfirmAction pending={pending} onClose={() => setPending(null)} />
    </Stack>
  );
}
