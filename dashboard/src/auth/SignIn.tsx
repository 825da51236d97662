// Email and password to a session cookie (POST /api/v1/auth/login); single sign-on is offered only when
// the API root links `oidc_login` for a signed-out caller.
import { Alert, Button, Center, Divider, Group, Paper, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, ApiError, unwrap } from "../api/client";
import { linkOf } from "../api/hal";
import { keys, useRoot } from "../api/queries";
import { LanguageSwitch } from "../components/LanguageSwitch";

export function SignIn() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const root = useRoot();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const signIn = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/auth/login", { body: { email, password } })),
    onSuccess: (me) => {
      client.setQueryData(keys.me, me);
      void client.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "me" });
    },
  });
  const sso = linkOf(root.data, "oidc_login");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate();
  };

  let failure: string | null = null;
  if (signIn.error instanceof ApiError && signIn.error.status === 401) failure = t("signIn.wrong");
  else if (signIn.error instanceof ApiError && signIn.error.status === 429) failure = t("signIn.tooMany");
  else if (signIn.error) failure = t("signIn.failed", { detail: signIn.error.message });

  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={400}>
        <Stack>
          <Group justify="space-between" align="flex-start">
            <div>
              <Title order={1} size="h2">
                {t("signIn.title")}
              </Title>
              <Text c="dimmed" size="sm">
                {t("signIn.subtitle")}
              </Text>
            </div>
            <img src="/favicon.svg" alt="" width={36} height={36} />
          </Group>
          <LanguageSwitch />
          <form onSubmit={submit} noValidate={false}>
            <Stack>
              <TextInput
                label={t("signIn.email")}
                type="email"
                autoComplete="username"
                required
                value={email}
                onChange={(e) => setEmail(e.currentTarget.value)}
              />
              <PasswordInput
                label={t("signIn.password")}
                autoComplete="current-password"
                required
                value={password}
                onChange={(e) => setPassword(e.currentTarget.value)}
              />
              {failure && (
                <Alert color="red" variant="light" role="alert">
                  {failure}
                </Alert>
              )}
              <Button type="submit" loading={signIn.isPending}>
                {t("signIn.submit")}
              </Button>
            </Stack>
          </form>
          {sso && (
            <>
              <Divider label={t("signIn.or")} labelPosition="center" />
              <Button component="a" href={sso.href} variant="outline" data-testid="sso">
                {t("signIn.sso")}
              </Button>
            </>
          )}
        </Stack>
      </Paper>
    </Center>
  );
}
