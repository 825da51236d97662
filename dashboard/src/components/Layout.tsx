// The frame of every signed-in page: header (menu, live state, language, who, sign out) and navigation,
// which folds into a menu on a phone.
import { AppShell, Badge, Burger, Button, Group, NavLink, Stack, Text, Title, VisuallyHidden } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { NavLink as RouterLink, useLocation } from "react-router";
import { api, type User } from "../api/client";
import { offers } from "../api/hal";
import { keys, useOpenAlertCount, useRoot } from "../api/queries";
import { COLORS } from "./colors";
import { LanguageSwitch } from "./LanguageSwitch";
import { LiveBadge } from "./LiveBadge";

const PAGES = [
  { to: "/", key: "nav.overview" },
  { to: "/feed", key: "nav.feed" },
  { to: "/alerts", key: "nav.alerts" },
  { to: "/devices", key: "nav.devices" },
  { to: "/settings", key: "nav.settings" },
  { to: "/notifications", key: "nav.notifications" },
  { to: "/tokens", key: "nav.tokens" },
  // Only for those the API root links them to (admins of every site); the API refuses everyone else.
  { to: "/users", key: "nav.users", rel: "users" },
  { to: "/audit", key: "nav.audit", rel: "audit" },
] as const;

export function Layout({ me, children }: { me: User; children: ReactNode }) {
  const { t } = useTranslation();
  const [opened, { toggle, close }] = useDisclosure(false);
  const location = useLocation();
  const openAlerts = useOpenAlertCount();
  const root = useRoot();
  const visible = PAGES.filter((page) => !("rel" in page) || offers(root.data, page.rel));
  const client = useQueryClient();
  const signOut = useMutation({
    mutationFn: async () => api.POST("/api/v1/auth/logout"),
    onSettled: () => {
      // Signed out: the sign-in page replaces everything, and nothing read as this user stays cached.
      client.setQueryData(keys.me, null);
      client.removeQueries({ predicate: (query) => query.queryKey[0] !== keys.me[0] });
    },
  });

  const isActive = (to: string) =>
    to === "/" ? location.pathname === "/" : location.pathname === to || location.pathname.startsWith(`${to}/`);

  return (
    <AppShell
      header={{ height: 60 }}
      navbar={{ width: 240, breakpoint: "sm", collapsed: { mobile: !opened } }}
      padding="md"
    >
      <a href="#main" className="skip-link">
        {t("app.skipToContent")}
      </a>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t("nav.toggle")} />
            <img src="/favicon.svg" alt="" width={28} height={28} />
            <Title order={1} size="h4">
              {t("app.name")}
              <VisuallyHidden> — {t("app.console")}</VisuallyHidden>
            </Title>
            <LiveBadge />
          </Group>
          <Group gap="sm" wrap="nowrap" visibleFrom="sm">
            <LanguageSwitch />
            <Text size="sm" c="dimmed" data-testid="signed-in-as">
              {t("header.signedInAs", { email: me.email })} · {t(`role.${me.role}`)}
            </Text>
            <Button size="xs" variant="outline" onClick={() => signOut.mutate()} loading={signOut.isPending}>
              {t("header.signOut")}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="sm" aria-label={t("nav.label")} component="nav">
        <Stack gap={4}>
          {visible.map((page) => (
            <NavLink
              key={page.to}
              component={RouterLink}
              to={page.to}
              label={t(page.key)}
              active={isActive(page.to)}
              aria-current={isActive(page.to) ? "page" : undefined}
              onClick={close}
              rightSection={
                page.to === "/alerts" && (openAlerts.data ?? 0) > 0 ? (
                  <Badge size="sm" color={COLORS.bad} data-testid="nav-open-alerts">
                    {openAlerts.data}
                  </Badge>
                ) : null
              }
            />
          ))}
        </Stack>
        <Stack gap="sm" mt="xl" hiddenFrom="sm">
          <LanguageSwitch />
          <Text size="sm" c="dimmed">
            {t("header.signedInAs", { email: me.email })} · {t(`role.${me.role}`)}
          </Text>
          <Button variant="outline" onClick={() => signOut.mutate()} loading={signOut.isPending}>
            {t("header.signOut")}
          </Button>
        </Stack>
      </AppShell.Navbar>
      <AppShell.Main id="main" tabIndex={-1}>
        {children}
      </AppShell.Main>
    </AppShell>
  );
}
