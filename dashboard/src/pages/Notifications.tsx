// Notifications: this device's push alerts (anyone), the recipients of the sites one administers, and
// the deliveries that failed for good (admins, when the API root links `deliveries`).
import { Stack, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { offers } from "../api/hal";
import { useRoot, useSites } from "../api/queries";
import { DeadDeliveries } from "../components/notifications/DeadDeliveries";
import { PushOptIn } from "../components/notifications/PushOptIn";
import { Recipients } from "../components/notifications/Recipients";

function Section({ id, title, hint, children }: { id: string; title: string; hint?: string; children: ReactNode }) {
  return (
    <Stack component="section" aria-labelledby={id} gap="xs">
      <Title order={2} size="h3" id={id}>
        {title}
      </Title>
      {hint && (
        <Text size="sm" c="dimmed">
          {hint}
        </Text>
      )}
      {children}
    </Stack>
  );
}

export function Notifications() {
  const { t } = useTranslation();
  const root = useRoot();
  const sites = useSites();
  const siteList = sites.data?._embedded.items ?? [];
  const administered = siteList.filter((s) => offers(s, "recipients"));
  return (
    <Stack gap="lg">
      <Title order={1} size="h2">
        {t("notify.title")}
      </Title>
      <Section id="push-title" title={t("notify.thisDevice")} hint={t("notify.thisDeviceHint")}>
        <PushOptIn />
      </Section>
      {administered.length > 0 && (
        <Section id="recipients-title" title={t("notify.recipients")} hint={t("notify.recipientsHint")}>
          <Recipients sites={administered} />
        </Section>
      )}
      {offers(root.data, "deliveries") && (
        <Section id="dead-title" title={t("notify.dead")} hint={t("notify.deadHint")}>
          <DeadDeliveries sites={siteList} administered={administered.map((s) => s.site_id)} />
        </Section>
      )}
    </Stack>
  );
}
