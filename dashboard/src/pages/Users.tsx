// Accounts, for admins of every site: who may sign in, with which role and at which sites. Edit and
// delete appear when an account links them; "Add a user" when the collection links `create`.
import { Badge, Button, Group, Stack, Table, Text, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { adminKeys, noContent, useUsers, type Account } from "../api/admin";
import { api } from "../api/client";
import { offers } from "../api/hal";
import { useMe, useSites } from "../api/queries";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Loading, LoadError } from "../components/QueryState";
import { UserDialog } from "../components/users/UserDialog";
import { browserZone, formatDateTime } from "../time/format";

function SitesCell({ account, names }: { account: Account; names: Map<string, string> }) {
  const { t } = useTranslation();
  if (account.all_sites) return <Text size="sm">{t("users.everySite")}</Text>;
  if (account.sites.length === 0) return <Text size="sm" c="dimmed">{t("users.noSite")}</Text>;
  return <Text size="sm">{account.sites.map((s) => names.get(s) ?? s).join(", ")}</Text>;
}

function UserRow({ account, names, isMe, onEdit, onDelete }: {
  account: Account;
  names: Map<string, string>;
  isMe: boolean;
  onEdit: () => void;
  onDelete: () => void;
}) {
  const { t, i18n } = useTranslation();
  return (
    <Table.Tr data-user={account.email}>
      <Table.Td data-label={t("users.email")}>
        <Text size="sm" fw={500} style={{ overflowWrap: "break-word" }}>
          {account.email}
        </Text>
        {isMe && <Text size="xs" c="dimmed">{t("users.you")}</Text>}
      </Table.Td>
      <Table.Td data-label={t("users.role")}>
        <Badge variant="light" color={account.role === "admin" ? "grape" : account.role === "operator" ? "blue" : "gray"}>
          {t(`role.${account.role}`)}
        </Badge>
      </Table.Td>
      <Table.Td data-label={t("users.sites")}>
        <SitesCell account={account} names={names} />
      </Table.Td>
      <Table.Td data-label={t("users.status")}>
        {account.disabled ? (
          <Badge color="red" variant="light">{t("users.isDisabled")}</Badge>
        ) : (
          <Text size="sm">{t("users.active")}</Text>
        )}
      </Table.Td>
      <Table.Td data-label={t("users.created")}>
        <Text size="sm">{formatDateTime(account.created_at, browserZone(), i18n.language)}</Text>
      </Table.Td>
      <Table.Td data-label={t("devices.actions")}>
        <Group gap="xs" wrap="nowrap">
          {offers(account, "edit", "PATCH") && (
            <Button size="xs" variant="light" onClick={onEdit} aria-label={t("users.editLabel", { email: account.email })} data-action="edit">
              {t("form.edit")}
            </Button>
          )}
          {offers(account, "delete", "DELETE") && !isMe && (
            <Button size="xs" variant="subtle" color="red" onClick={onDelete} aria-label={t("users.deleteLabel", { email: account.email })} data-action="delete">
              {t("form.delete")}
            </Button>
          )}
        </Group>
      </Table.Td>
    </Table.Tr>
  );
}

export function Users() {
  const { t } = useTranslation();
  const users = useUsers();
  const sites = useSites();
  const me = useMe();
  const client = useQueryClient();
  const [editing, setEditing] = useState<Account | null>(null);
  const [creating, setCreating] = useState(false);
  const [removing, setRemoving] = useState<Account | null>(null);
  const remove = useMutation({
    mutationFn: async (account: Account) =>
      noContent(await api.DELETE("/api/v1/users/{user_id}", { params: { path: { user_id: account.user_id } } })),
    onSuccess: () => {
      setRemoving(null);
      void client.invalidateQueries({ queryKey: adminKeys.users });
    },
  });
  const names = new Map((sites.data?._embedded.items ?? []).map((s) => [s.site_id, s.name]));
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">
          {t("users.title")}
        </Title>
        {users.data && offers(users.data, "create", "POST") && (
          <Button onClick={() => setCreating(true)} data-action="add-user">
            {t("users.add")}
          </Button>
        )}
      </Group>
      <Text size="sm" c="dimmed">
        {t("users.subtitle")}
      </Text>
      {users.isPending ? (
        <Loading />
      ) : users.error ? (
        <LoadError error={users.error} retry={() => void users.refetch()} />
      ) : (
        <Table.ScrollContainer minWidth={0}>
          <Table striped verticalSpacing="xs" className="card-table" data-testid="users">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{t("users.email")}</Table.Th>
                <Table.Th scope="col">{t("users.role")}</Table.Th>
                <Table.Th scope="col">{t("users.sites")}</Table.Th>
                <Table.Th scope="col">{t("users.status")}</Table.Th>
                <Table.Th scope="col">{t("users.created")}</Table.Th>
                <Table.Th scope="col">{t("devices.actions")}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {users.data._embedded.items.map((account) => (
                <UserRow
                  key={account.user_id}
                  account={account}
                  names={names}
                  isMe={account.user_id === me.data?.user_id}
                  onEdit={() => setEditing(account)}
                  onDelete={() => {
                    remove.reset();
                    setRemoving(account);
                  }}
                />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <UserDialog
        account={editing}
        creating={creating}
        onClose={() => {
          setEditing(null);
          setCreating(false);
        }}
      />
      <ConfirmDialog
        opened={removing !== null}
        title={t("users.deleteTitle")}
        message={t("users.deleteMessage", { email: removing?.email ?? "" })}
        confirm={t("form.delete")}
        onConfirm={() => removing && remove.mutate(removing)}
        onClose={() => setRemoving(null)}
        pending={remove.isPending}
        error={remove.error}
      />
    </Stack>
  );
}
