// The health columns of a gate or camera row: a badge for its state, when it was last seen, its
// software version, and the sensors that failed (or "all working").
import { Badge, Group, Table, Text } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { COLORS } from "../components/colors";
import { formatDateTime } from "../time/format";
import { failingSensors, liveness, type Health, type Liveness } from "./health";

const BADGE_COLOR: Record<Liveness, string> = {
  online: COLORS.good,
  stale: "orange.9",
  offline: COLORS.bad,
  unknown: COLORS.quiet,
};

export function LivenessBadge({ health }: { health: Health | null | undefined }) {
  const { t } = useTranslation();
  const state = liveness(health);
  return (
    <Badge color={BADGE_COLOR[state]} data-liveness={state}>
      {t(`devices.liveness.${state}`)}
    </Badge>
  );
}

export function HealthCells({ health, zone }: { health: Health | null | undefined; zone: string }) {
  const { t, i18n } = useTranslation();
  const failing = failingSensors(health);
  const known = health ? Object.keys(health.sensors).length > 0 : false;
  return (
    <>
      <Table.Td>
        <LivenessBadge health={health} />
      </Table.Td>
      <Table.Td>
        <Text size="sm">
          {health?.last_seen_at ? formatDateTime(health.last_seen_at, zone, i18n.language) : t("devices.never")}
        </Text>
      </Table.Td>
      <Table.Td>
        <Text size="sm" data-version>
          {health?.software_version ?? "—"}
        </Text>
      </Table.Td>
      <Table.Td>
        {failing.length > 0 ? (
          <Group gap={4}>
            {failing.map((name) => (
              <Badge key={name} color={COLORS.bad} variant="outline" data-failing={name}>
                {t("devices.sensorFailing", { sensor: t(`devices.sensor.${name}`, { defaultValue: name }) })}
              </Badge>
            ))}
          </Group>
        ) : (
          <Text size="sm">{known ? t("devices.sensorsOk") : "—"}</Text>
        )}
      </Table.Td>
    </>
  );
}

/** The header cells matching HealthCells. */
export function HealthHeaders() {
  const { t } = useTranslation();
  return (
    <>
      <Table.Th scope="col">{t("devices.status")}</Table.Th>
      <Table.Th scope="col">{t("devices.lastSeen")}</Table.Th>
      <Table.Th scope="col">{t("devices.version")}</Table.Th>
      <Table.Th scope="col">{t("devices.sensors")}</Table.Th>
    </>
  );
}
