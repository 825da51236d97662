// The audit log, for admins of every site: who did what, when, newest first. Filtered by action and
// by person, a page at a time; the filters and the page are in the address, so a view can be shared.
// Times are in this browser's zone, and an entry of a site also in the site's.
import { Button, Group, Pagination, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { useAudit, useUsers, type AuditEntry } from "../api/admin";
import { useSites } from "../api/queries";
import { actorOf, AUDIT_ACTIONS, dayBounds, detailsLine, type Actor } from "../audit/describe";
import { Loading, LoadError } from "../components/QueryState";
import { auditActionLabel } from "../i18n/labels";
import { browserZone, formatDateTime, zoneOf } from "../time/format";

const PER_PAGE = 25;

function ActorText({ actor }: { actor: Actor }) {
  const { t } = useTranslation();
  if (actor.kind === "system") return <Text size="sm" c="dimmed">{t("audit.system")}</Text>;
  if (actor.kind === "removed") return <Text size="sm">{t("audit.removedUser", { id: actor.id })}</Text>;
  return (
    <Text size="sm" style={{ overflowWrap: "break-word" }}>
      {actor.email}
    </Text>
  );
}

/** Every entry is timed in this browser's zone, so the list reads in order; one that happened at a site
 * in another zone also shows the site's own clock, as the people there lived it. */
function AuditTime({ at, zone, siteZone }: { at: string; zone: string; siteZone: string | null }) {
  const { t, i18n } = useTranslation();
  return (
    <>
      <Text size="sm" style={{ whiteSpace: "nowrap" }}>
        <time dateTime={at} title={zone}>
          {formatDateTime(at, zone, i18n.language)}
        </time>
      </Text>
      {siteZone && siteZone !== zone && (
        <Text size="xs" c="dimmed" data-testid="site-time">
          {t("audit.siteTime", { time: formatDateTime(at, siteZone, i18n.language), zone: siteZone })}
        </Text>
      )}
    </>
  );
}

function AuditRow({ entry, actor, zone, siteZone }: { entry: AuditEntry; actor: Actor; zone: string; siteZone: string | null }) {
  const { t } = useTranslation();
  const details = detailsLine(entry.details);
  return (
    <Table.Tr data-audit={entry.action} data-site={entry.site_id ?? ""}>
      <Table.Td data-label={t("common.time")}>
        <AuditTime at={entry.at} zone={zone} siteZone={siteZone} />
      </Table.Td>
      <Table.Td data-label={t("audit.who")}>
        <ActorText actor={actor} />
      </Table.Td>
      <Table.Td data-label={t("audit.action")}>
        <Text size="sm" fw={500}>
          {auditActionLabel(t, entry.action)}
        </Text>
        <Text size="xs" c="dimmed" style={{ overflowWrap: "anywhere" }}>
          {entry.target}
          {entry.site_id ? ` · ${entry.site_id}` : ""}
        </Text>
      </Table.Td>
      <Table.Td data-label={t("audit.details")}>
        <Text size="xs" style={{ overflowWrap: "anywhere" }}>
          {details || "—"}
        </Text>
      </Table.Td>
    </Table.Tr>
  );
}

export function AuditLog() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const action = params.get("action") ?? undefined;
  const userParam = Number(params.get("user"));
  const user = Number.isInteger(userParam) && userParam > 0 ? userParam : undefined;
  const pageParam = Number(params.get("page"));
  const page = Number.isInteger(pageParam) && pageParam > 0 ? pageParam : 1;
  const site = params.get("site") ?? undefined;
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  const audit = useAudit({ action, user, site, ...dayBounds(from, to), offset: (page - 1) * PER_PAGE, limit: PER_PAGE });
  const users = useUsers();
  const sites = useSites();
  const accounts = new Map((users.data?._embedded.items ?? []).map((a) => [a.user_id, a]));
  const here = browserZone();

  // Each change starts from the one before it, even when the page has not rendered in between (two
  // dates typed one after the other): starting from what the last render saw would drop the first.
  const latest = useRef(params);
  useEffect(() => {
    latest.current = params;
  }, [params]);
  const change = (next: URLSearchParams, replace: boolean) => {
    latest.current = next;
    setParams(next, { replace });
  };
  /** A new filter starts again at the first page. */
  const filter = (key: "action" | "user" | "site" | "from" | "to", value: string | null) => {
    const next = new URLSearchParams(latest.current);
    if (value) next.set(key, value);
    else next.delete(key);
    next.delete("page");
    change(next, true);
  };
  const goTo = (n: number) => {
    const next = new URLSearchParams(latest.current);
    next.set("page", String(n));
    change(next, false);
  };

  return (
    <Stack>
      <Title order={1} size="h2">
        {t("audit.title")}
      </Title>
      <Text size="sm" c="dimmed">
        {t("audit.subtitle", { zone: here })}
      </Text>
      <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="sm">
        <Select
          label={t("audit.action")}
          placeholder={t("audit.anyAction")}
          data={AUDIT_ACTIONS.map((a) => ({ value: a, label: auditActionLabel(t, a) }))}
          value={action ?? null}
          onChange={(value) => filter("action", value)}
          clearable
          searchable
          data-testid="audit-action"
        />
        <Select
          label={t("audit.who")}
          placeholder={t("audit.anyone")}
          data={(users.data?._embedded.items ?? []).map((a) => ({ value: String(a.user_id), label: a.email }))}
          value={user ? String(user) : null}
          onChange={(value) => filter("user", value)}
          clearable
          searchable
        />
        <Select
          label={t("common.site")}
          placeholder={t("audit.anySite")}
          data={(sites.data?._embedded.items ?? []).map((s) => ({ value: s.site_id, label: s.name }))}
          value={site ?? null}
          onChange={(value) => filter("site", value)}
          clearable
        />
      </SimpleGrid>
      <Group gap="sm" align="flex-end">
        <TextInput type="date" w={190} label={t("audit.from")} value={from} max={to || undefined} onChange={(e) => filter("from", e.currentTarget.value)} />
        <TextInput type="date" w={190} label={t("audit.to")} value={to} min={from || undefined} onChange={(e) => filter("to", e.currentTarget.value)} />
        {/* Mantine's clear buttons are for the mouse only (hidden from keyboards and screen readers). */}
        {[...params.keys()].some((key) => key !== "page") && (
          <Button variant="subtle" onClick={() => change(new URLSearchParams(), true)}>
            {t("audit.clearFilters")}
          </Button>
        )}
      </Group>
      {audit.isPending ? (
        <Loading />
      ) : audit.error ? (
        <LoadError error={audit.error} retry={() => void audit.refetch()} />
      ) : audit.data._embedded.items.length === 0 ? (
        <Text>{t("audit.empty")}</Text>
      ) : (
        <>
          <Table.ScrollContainer minWidth={0}>
            <Table striped verticalSpacing="xs" className="card-table" data-testid="audit">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">{t("common.time")}</Table.Th>
                  <Table.Th scope="col">{t("audit.who")}</Table.Th>
                  <Table.Th scope="col">{t("audit.action")}</Table.Th>
                  <Table.Th scope="col">{t("audit.details")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {audit.data._embedded.items.map((entry) => (
                  <AuditRow
                    key={entry.audit_id}
                    entry={entry}
                    actor={actorOf(entry, accounts)}
                    zone={here}
                    siteZone={entry.site_id ? zoneOf(sites.data?._embedded.items, entry.site_id) : null}
                  />
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Group justify="space-between">
            <Text size="sm" c="dimmed">
              {t("common.showing", { shown: audit.data._embedded.items.length, total: audit.data.total })}
            </Text>
            <Pagination
              total={Math.max(1, Math.ceil(audit.data.total / PER_PAGE))}
              value={page}
              onChange={goTo}
              size="sm"
              getControlProps={(control) => ({
                "aria-label": t(`audit.page.${control}`),
              })}
              getItemProps={(n) => ({ "aria-label": t("audit.page.number", { n }) })}
            />
          </Group>
        </>
      )}
    </Stack>
  );
}
