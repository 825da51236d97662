// Create an account, or change one's role, sites, password or whether it is disabled. The password
// field of an existing account stays empty unless a new password is being set.
import {
  Alert as Notice,
  Button,
  Group,
  Modal,
  MultiSelect,
  PasswordInput,
  Select,
  Stack,
  Switch,
  TextInput,
} from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { adminKeys, type Account } from "../../api/admin";
import { api, unwrap } from "../../api/client";
import { useSites } from "../../api/queries";
import { createBody, emptyForm, formOf, MIN_PASSWORD, patchBody, problems, ROLES, type UserForm } from "../../users/form";

type Props = { account: Account | null; creating: boolean; onClose: () => void };

export function UserDialog({ account, creating, onClose }: Props) {
  const { t } = useTranslation();
  const opened = creating || account !== null;
  return (
    <Modal
      opened={opened}
      onClose={onClose}
      title={creating ? t("users.createTitle") : t("users.editTitle", { email: account?.email ?? "" })}
      centered
      closeButtonProps={{ "aria-label": t("form.close") }}
    >
      {/* Keyed, so each opening starts from the account as it is now. */}
      {opened && <UserFields key={account?.user_id ?? "new"} account={account} onClose={onClose} />}
    </Modal>
  );
}

function UserFields({ account, onClose }: { account: Account | null; onClose: () => void }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const sites = useSites();
  const creating = account === null;
  const [form, setForm] = useState<UserForm>(account ? formOf(account) : emptyForm());
  const [tried, setTried] = useState(false);
  const set = <K extends keyof UserForm>(key: K, value: UserForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const save = useMutation({
    mutationFn: async () =>
      account === null
        ? unwrap(await api.POST("/api/v1/users", { body: createBody(form) }))
        : unwrap(
            await api.PATCH("/api/v1/users/{user_id}", {
              params: { path: { user_id: account.user_id } },
              body: patchBody(form, account),
            }),
          ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: adminKeys.users });
      onClose();
    },
  });
  const wrong = tried ? problems(form, creating) : [];
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTried(true);
    if (problems(form, creating).length === 0) save.mutate();
  };
  const siteOptions = (sites.data?._embedded.items ?? []).map((s) => ({ value: s.site_id, label: s.name }));
  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <TextInput
          label={t("users.email")}
          type="email"
          required={creating}
          disabled={!creating}
          value={form.email}
          onChange={(e) => set("email", e.currentTarget.value)}
          error={wrong.includes("email") ? t("users.emailWrong") : undefined}
          data-autofocus={creating || undefined}
        />
        <PasswordInput
          label={creating ? t("users.password") : t("users.newPassword")}
          description={creating ? t("users.passwordHint", { n: MIN_PASSWORD }) : t("users.newPasswordHint", { n: MIN_PASSWORD })}
          required={creating}
          autoComplete="new-password"
          value={form.password}
          onChange={(e) => set("password", e.currentTarget.value)}
          error={wrong.includes("password") ? t("users.passwordShort", { n: MIN_PASSWORD }) : undefined}
          visibilityToggleButtonProps={{ "aria-label": t("users.showPassword") }}
        />
        <Select
          label={t("users.role")}
          description={t(`users.roleHint.${form.role}`)}
          data={ROLES.map((role) => ({ value: role, label: t(`role.${role}`) }))}
          value={form.role}
          onChange={(value) => {
            const role = ROLES.find((r) => r === value);
            if (role) set("role", role);
          }}
          allowDeselect={false}
          comboboxProps={{ withinPortal: true }}
        />
        <Switch
          label={t("users.allSites")}
          checked={form.allSites}
          onChange={(e) => set("allSites", e.currentTarget.checked)}
        />
        {!form.allSites && (
          <MultiSelect
            label={t("users.sites")}
            data={siteOptions}
            value={form.sites}
            onChange={(value) => set("sites", value)}
            searchable
            error={wrong.includes("sites") ? t("users.sitesNone") : undefined}
            comboboxProps={{ withinPortal: true }}
          />
        )}
        {!creating && (
          <Switch
            label={t("users.disabled")}
            description={t("users.disabledHint")}
            checked={form.disabled}
            onChange={(e) => set("disabled", e.currentTarget.checked)}
            color="red"
          />
        )}
        {save.error && (
          <Notice color="red" variant="light" role="alert">
            {t("form.failed", { detail: save.error.message })}
          </Notice>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            {t("form.cancel")}
          </Button>
          <Button type="submit" loading={save.isPending} data-action="save-user">
            {creating ? t("users.create") : t("form.save")}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
