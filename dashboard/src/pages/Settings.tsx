// Settings per site: the entry rules its gates follow (fever threshold; whether a missing mask or a
// fever denies entry, only records the problem, or is not checked), each gate's own exceptions, and how
// long a person may stay unmasked before a camera alerts. Everyone who may see a site sees them; the
// forms are editable only where the API offers the `edit` action, and every change is audited.
import { Badge, Button, Group, Modal, Select, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { Gate } from "../api/client";
import { useCameras, useGates, useRules, useSites } from "../api/queries";
import { Loading, LoadError } from "../components/QueryState";
import { CameraDwellRow } from "../settings/CameraDwellRow";
import { RulesEditor } from "../settings/RulesEditor";
import type { Enforcement } from "../settings/ruleForm";

function EnforcementBadge({ value }: { value: Enforcement }) {
  const { t } = useTranslation();
  const color = value === "hard" ? "red" : value === "soft" ? "yellow" : "gray";
  return (
    <Badge color={color} variant="light">
      {t(`settings.enforcement.${value}`)}
    </Badge>
  );
}

function GateRulesRow({ gate, onEdit }: { gate: Gate; onEdit: (gate: Gate) => void }) {
  const { t } = useTranslation();
  const rules = useRules("gate", gate.gate_id);
  const effective = rules.data?.effective;
  const own = rules.data ? Object.values(rules.data.overrides).some((v) => v !== null && v !== undefined) : false;
  const editable = Boolean(rules.data?._links?.edit);
  return (
    <Table.Tr data-gate-rules={gate.gate_id}>
      <Table.Td>
        <Text size="sm">{gate.name}</Text>
        <Text size="xs" c="dimmed">
          {gate.gate_id}
        </Text>
      </Table.Td>
      <Table.Td>{effective ? t("settings.celsius", { value: effective.fever_threshold_c }) : "—"}</Table.Td>
      <Table.Td>{effective ? <EnforcementBadge value={effective.mask} /> : "—"}</Table.Td>
      <Table.Td>{effective ? <EnforcementBadge value={effective.temperature} /> : "—"}</Table.Td>
      <Table.Td>{own ? t("settings.ownRules") : t("settings.followsSite")}</Table.Td>
      <Table.Td>
        <Button
          size="xs"
          variant="light"
          onClick={() => onEdit(gate)}
          aria-label={t(editable ? "settings.editRulesOf" : "settings.viewRulesOf", { gate: gate.name })}
        >
          {editable ? t("settings.edit") : t("settings.view")}
        </Button>
      </Table.Td>
    </Table.Tr>
  );
}

function SiteSettings({ site }: { site: string }) {
  const { t } = useTranslation();
  const gates = useGates();
  const cameras = useCameras();
  const [editing, setEditing] = useState<Gate | null>(null);
  const siteGates = (gates.data?._embedded.items ?? []).filter((g) => g.site_id === site);
  const siteCameras = (cameras.data?._embedded.items ?? []).filter((c) => c.site_id === site);
  return (
    <Stack gap="xl">
      <section aria-labelledby="site-rules">
        <Title order={2} size="h3" id="site-rules" mb="xs">
          {t("settings.siteRules")}
        </Title>
        <Text size="sm" c="dimmed" mb="sm">
          {t("settings.siteRulesHint")}
        </Text>
        <RulesEditor scope="site" subject={site} />
      </section>

      <section aria-labelledby="gate-rules">
        <Title order={2} size="h3" id="gate-rules" mb="xs">
          {t("settings.gateRules")}
        </Title>
        {gates.isPending ? (
          <Loading />
        ) : gates.error ? (
          <LoadError error={gates.error} retry={() => void gates.refetch()} />
        ) : siteGates.length === 0 ? (
          <Text c="dimmed">{t("devices.noGates")}</Text>
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("common.gate")}</Table.Th>
                  <Table.Th>{t("settings.fever")}</Table.Th>
                  <Table.Th>{t("settings.mask")}</Table.Th>
                  <Table.Th>{t("settings.temperature")}</Table.Th>
                  <Table.Th>{t("settings.source")}</Table.Th>
                  <Table.Th>{t("devices.actions")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {siteGates.map((gate) => (
                  <GateRulesRow key={gate.gate_id} gate={gate} onEdit={setEditing} />
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </section>

      <section aria-labelledby="camera-dwell">
        <Title order={2} size="h3" id="camera-dwell" mb="xs">
          {t("settings.cameras")}
        </Title>
        <Text size="sm" c="dimmed" mb="sm">
          {t("settings.camerasHint")}
        </Text>
        {cameras.isPending ? (
          <Loading />
        ) : cameras.error ? (
          <LoadError error={cameras.error} retry={() => void cameras.refetch()} />
        ) : siteCameras.length === 0 ? (
          <Text c="dimmed">{t("devices.noCameras")}</Text>
        ) : (
          <Stack gap="xs">
            {siteCameras.map((camera) => (
              <CameraDwellRow key={camera.camera_id} camera={camera} />
            ))}
          </Stack>
        )}
      </section>

      <Modal
        opened={editing !== null}
        onClose={() => setEditing(null)}
        title={editing ? t("settings.gateRulesFor", { gate: editing.name }) : ""}
        closeButtonProps={{ "aria-label": t("devices.close") }}
        size="lg"
        centered
      >
        {editing && <RulesEditor scope="gate" subject={editing.gate_id} onSaved={() => setEditing(null)} />}
      </Modal>
    </Stack>
  );
}

export function Settings() {
  const { t } = useTranslation();
  const sites = useSites();
  const [chosen, setChosen] = useState<string | null>(null);
  if (sites.isPending) return <Loading />;
  if (sites.error) return <LoadError error={sites.error} retry={() => void sites.refetch()} />;
  const all = sites.data._embedded.items;
  if (all.length === 0) return <Text>{t("overview.noSites")}</Text>;
  const site = chosen ?? all[0]!.site_id;
  return (
    <Stack gap="lg">
      <Group justify="space-between" align="flex-end">
        <Title order={1} size="h2">
          {t("settings.title")}
        </Title>
        {all.length > 1 && (
          <Select
            label={t("common.site")}
            data={all.map((s) => ({ value: s.site_id, label: s.name }))}
            value={site}
            onChange={(value) => value && setChosen(value)}
            allowDeselect={false}
            w={240}
          />
        )}
      </Group>
      <SiteSettings key={site} site={site} />
    </Stack>
  );
}
