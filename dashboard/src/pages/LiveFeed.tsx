// The latest verdicts at the gates, newest first. The list is the API's (GET /api/v1/checks); each
// `check` event from the live stream refetches it, so new verdicts appear with their temperature.
import { Badge, Box, Button, Group, Stack, Table, Text, Title, VisuallyHidden } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { linkOf } from "../api/hal";
import { useLatestChecks, useSites } from "../api/queries";
import { decisionColor } from "../components/colors";
import { Loading, LoadError } from "../components/QueryState";
import { decisionLabel, reasonLabel } from "../i18n/labels";
import { formatTime, formatDateTime, zoneOf } from "../time/format";

const STEP = 50;
const THUMB = 48;

/** The face the gate saw, while the venue's retention keeps it; an empty square otherwise. */
function FaceThumbnail({ href, gate }: { href: string | undefined; gate: string }) {
  const { t } = useTranslation();
  if (!href) return <Box w={THUMB} h={THUMB} bg="gray.1" style={{ borderRadius: 6 }} aria-hidden />;
  return (
    <img
      src={href}
      alt={t("feed.faceAt", { gate })}
      width={THUMB}
      height={THUMB}
      loading="lazy"
      style={{ objectFit: "cover", borderRadius: 6, display: "block" }}
      data-testid="face-thumbnail"
    />
  );
}

function isToday(iso: string, zone: string): boolean {
  const day = (d: Date) => new Intl.DateTimeFormat("en-CA", { timeZone: zone, dateStyle: "short" }).format(d);
  try {
    return day(new Date(iso)) === day(new Date());
  } catch {
    return false;
  }
}

export function LiveFeed() {
  const { t, i18n } = useTranslation();
  const [limit, setLimit] = useState(STEP);
  const checks = useLatestChecks(limit);
  const sites = useSites();
  const siteList = sites.data?._embedded.items;

  return (
    <Stack>
      <div>
        <Title order={1} size="h2">
          {t("feed.title")}
        </Title>
        <Text c="dimmed" size="sm">
          {t("feed.subtitle")}
        </Text>
      </div>
      {checks.isPending ? (
        <Loading />
      ) : checks.error ? (
        <LoadError error={checks.error} retry={() => void checks.refetch()} />
      ) : checks.data._embedded.items.length === 0 ? (
        <Text>{t("feed.empty")}</Text>
      ) : (
        <>
          <Table.ScrollContainer minWidth={340}>
            <Table striped highlightOnHover verticalSpacing="xs" data-testid="feed">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col" w={64}>
                    <VisuallyHidden>{t("feed.face")}</VisuallyHidden>
                  </Table.Th>
                  <Table.Th scope="col">{t("common.time")}</Table.Th>
                  <Table.Th scope="col">{t("common.gate")}</Table.Th>
                  <Table.Th scope="col">{t("feed.decision")}</Table.Th>
                  <Table.Th scope="col" visibleFrom="sm">
                    {t("feed.reasons")}
                  </Table.Th>
                  <Table.Th scope="col" ta="right">
                    {t("feed.temperature")}
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {checks.data._embedded.items.map((check) => {
                  const zone = zoneOf(siteList, check.site_id);
                  const reasons = check.reasons.map((r) => reasonLabel(t, r)).join(", ");
                  const when = isToday(check.decided_at, zone)
                    ? formatTime(check.decided_at, zone, i18n.language)
                    : formatDateTime(check.decided_at, zone, i18n.language);
                  return (
                    <Table.Tr key={check.check_id} data-check={check.check_id}>
                      <Table.Td>
                        <FaceThumbnail href={linkOf(check, "face")?.href} gate={check.gate_id} />
                      </Table.Td>
                      <Table.Td>
                        <time dateTime={check.decided_at} title={zone}>
                          {when}
                        </time>
                      </Table.Td>
                      <Table.Td>
                        <Text size="sm" fw={500}>
                          {check.gate_id}
                        </Text>
                        <Text size="xs" c="dimmed">
                          {check.site_id}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <Badge color={decisionColor(check.decision)}>{decisionLabel(t, check.decision)}</Badge>
                        {reasons && (
                          // On a phone the reasons sit under the decision rather than in a column of their own.
                          <Text size="xs" mt={4} hiddenFrom="sm">
                            {reasons}
                          </Text>
                        )}
                      </Table.Td>
                      <Table.Td visibleFrom="sm">{reasons || "—"}</Table.Td>
                      <Table.Td ta="right">
                        {check.temperature_c == null ? "—" : t("feed.celsius", { value: check.temperature_c.toFixed(1) })}
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Group justify="space-between">
            <Text size="sm" c="dimmed">
              {t("common.showing", { shown: checks.data._embedded.items.length, total: checks.data.total })}
            </Text>
            {checks.data.total > checks.data._embedded.items.length && limit < 500 && (
              <Button variant="subtle" onClick={() => setLimit((l) => Math.min(500, l + STEP))}>
                {t("common.showMore")}
              </Button>
            )}
          </Group>
        </>
      )}
    </Stack>
  );
}
