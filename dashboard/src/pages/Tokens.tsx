// The caller's own API tokens, for integrations (Grafana, scripts): they act with the caller's role
// and sites. A new token's secret is in the answer to its creation only, so it is shown once, here.
import { Alert as Notice, Button, Group, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { adminKeys, noContent, useTokens, type Token } from "../api/admin";
import { api, unwrap } from "../api/client";
import { offers } from "../api/hal";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Loading, LoadError } from "../components/QueryState";
import { SecretOnce } from "../components/SecretOnce";
import { browserZone, formatDateTime } from "../time/format";

function NewToken({ onCreated }: { onCreated: (token: Token) => void }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [name, setName] = useState("");
  const create = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/tokens", { body: { name: name.trim() } })),
    onSuccess: (token) => {
      setName("");
      onCreated(token);
      void client.invalidateQueries({ queryKey: adminKeys.tokens });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim()) create.mutate();
  };
  return (
    <form onSubmit={submit}>
      <Stack gap="xs">
        <Group align="flex-end" gap="sm">
          <TextInput
            label={t("tokens.name")}
            description={t("tokens.nameHint")}
            value={name}
            maxLength={200}
            onChange={(e) => setName(e.currentTarget.value)}
            style={{ flex: 1, minWidth: 200 }}
          />
          <Button type="submit" loading={create.isPending} disabled={!name.trim()} data-action="create-token">
            {t("tokens.create")}
          </Button>
        </Group>
        {create.error && (
          <Notice color="red" variant="light" role="alert">
            {t("form.failed", { detail: create.error.message })}
          </Notice>
        )}
      </Stack>
    </form>
  );
}

function TokenTable({ tokens, onRevoke }: { tokens: Token[]; onRevoke: (token: Token) => void }) {
  const { t, i18n } = useTranslation();
  const zone = browserZone();
  if (tokens.length === 0) return <Text>{t("tokens.empty")}</Text>;
  return (
    <Table.ScrollContainer minWidth={0}>
      <Table striped verticalSpacing="xs" className="card-table" data-testid="tokens">
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">{t("tokens.name")}</Table.Th>
            <Table.Th scope="col">{t("tokens.created")}</Table.Th>
            <Table.Th scope="col">{t("tokens.lastUsed")}</Table.Th>
            <Table.Th scope="col">{t("devices.actions")}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {tokens.map((token) => (
            <Table.Tr key={token.token_id} data-token={token.name}>
              <Table.Td style={{ overflowWrap: "anywhere" }} data-label={t("tokens.name")}>{token.name}</Table.Td>
              <Table.Td data-label={t("tokens.created")}>{formatDateTime(token.created_at, zone, i18n.language)}</Table.Td>
              <Table.Td data-label={t("tokens.lastUsed")}>{token.last_used_at ? formatDateTime(token.last_used_at, zone, i18n.language) : t("tokens.neverUsed")}</Table.Td>
              <Table.Td data-label={t("devices.actions")}>
                {offers(token, "revoke", "DELETE") && (
                  <Button
                    size="xs"
                    variant="subtle"
                    color="red"
                    onClick={() => onRevoke(token)}
                    aria-label={t("tokens.revokeLabel", { name: token.name })}
                    data-action="revoke"
                  >
                    {t("tokens.revoke")}
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

export function Tokens() {
  const { t } = useTranslation();
  const tokens = useTokens();
  const client = useQueryClient();
  const [created, setCreated] = useState<Token | null>(null);
  const [revoking, setRevoking] = useState<Token | null>(null);
  const revoke = useMutation({
    mutationFn: async (token: Token) =>
      noContent(await api.DELETE("/api/v1/tokens/{token_id}", { params: { path: { token_id: token.token_id } } })),
    onSuccess: () => {
      setRevoking(null);
      void client.invalidateQueries({ queryKey: adminKeys.tokens });
    },
  });
  return (
    <Stack>
      <Title order={1} size="h2">
        {t("tokens.title")}
      </Title>
      <Text size="sm" c="dimmed">
        {t("tokens.subtitle", { zone: browserZone() })}
      </Text>
      {created?.token && (
        <SecretOnce label={t("tokens.secretLabel", { name: created.name })} secret={created.token} onDone={() => setCreated(null)} />
      )}
      {tokens.data && offers(tokens.data, "create", "POST") && <NewToken onCreated={setCreated} />}
      {tokens.isPending ? (
        <Loading />
      ) : tokens.error ? (
        <LoadError error={tokens.error} retry={() => void tokens.refetch()} />
      ) : (
        <TokenTable
          tokens={tokens.data._embedded.items}
          onRevoke={(token) => {
            revoke.reset();
            setRevoking(token);
          }}
        />
      )}
      <ConfirmDialog
        opened={revoking !== null}
        title={t("tokens.revokeTitle")}
        message={t("tokens.revokeMessage", { name: revoking?.name ?? "" })}
        confirm={t("tokens.revoke")}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        onClose={() => setRevoking(null)}
        pending={revoke.isPending}
        error={revoke.error}
      />
    </Stack>
  );
}
