// This browser's (or installed phone app's) alerts: turned on, the service worker subscribes with the
// server's VAPID key and the subscription is registered for each of the caller's sites; per site it
// can be switched off again, and "turn off" removes every registration and unsubscribes.
import { Alert as Notice, Button, Group, Stack, Switch, Text } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { noContent, usePushDevices, type PushDevice } from "../../api/admin";
import { api, unwrap, type Site } from "../../api/client";
import { useSites } from "../../api/queries";
import { isLanguage } from "../../i18n";
import {
  browserPushSupport,
  currentSubscription,
  PushRefused,
  registrationBody,
  subscribe,
  type PushSupport,
} from "../../push/webPush";
import { browserZone } from "../../time/format";
import { Loading } from "../QueryState";

const subscriptionKey = ["push", "this-browser"] as const;

const UNAVAILABLE: Record<Exclude<PushSupport, "supported">, "push.unsupported" | "push.insecure" | "push.denied"> = {
  unsupported: "push.unsupported",
  insecure: "push.insecure",
  denied: "push.denied",
};

export function PushOptIn() {
  const { t } = useTranslation();
  const support = browserPushSupport();
  if (support !== "supported") {
    return (
      <Notice color="gray" variant="light" data-testid="push-unavailable">
        {t(UNAVAILABLE[support])}
      </Notice>
    );
  }
  return <PushControls />;
}

function PushControls() {
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const sites = useSites();
  const subscription = useQuery({ queryKey: subscriptionKey, queryFn: currentSubscription, staleTime: Infinity });
  const endpoint = subscription.data?.endpoint ?? null;
  const devices = usePushDevices(endpoint);
  const language = isLanguage(i18n.language) ? i18n.language : "en";
  const refresh = () => {
    void client.invalidateQueries({ queryKey: subscriptionKey });
    void client.invalidateQueries({ queryKey: ["push-subscriptions"] });
  };

  const register = async (pushSubscription: PushSubscription, site: string) => {
    const body = registrationBody(pushSubscription.toJSON(), site, language, browserZone());
    if (body === null) throw new Error(t("push.noKeys"));
    unwrap(await api.POST("/api/v1/me/push-subscriptions", { body }));
  };
  const unregister = async (device: PushDevice) =>
    noContent(
      await api.DELETE("/api/v1/me/push-subscriptions/{recipient_id}", {
        params: { path: { recipient_id: device.recipient_id } },
      }),
    );

  const turnOn = useMutation({
    mutationFn: async (siteIds: string[]) => {
      const key = unwrap(await api.GET("/api/v1/push/vapid-public-key")).application_server_key;
      const pushSubscription = await subscribe(key);
      for (const site of siteIds) await register(pushSubscription, site);
    },
    onSettled: refresh,
  });
  const turnOff = useMutation({
    mutationFn: async (remove: PushDevice[]) => {
      for (const device of remove) await unregister(device);
      // The last site gone: the browser's subscription goes too, so the push service forgets it.
      const left = (devices.data?._embedded.items ?? []).filter((d) => !remove.includes(d));
      if (left.length === 0) await subscription.data?.unsubscribe();
    },
    onSettled: refresh,
  });

  if (subscription.isPending || sites.isPending || (endpoint !== null && devices.isPending)) return <Loading />;
  const siteList: Site[] = sites.data?._embedded.items ?? [];
  const registered = devices.data?._embedded.items ?? [];
  const error = turnOn.error ?? turnOff.error ?? subscription.error ?? devices.error;
  const busy = turnOn.isPending || turnOff.isPending;

  return (
    <Stack gap="sm" data-testid="push-opt-in" data-push-state={registered.length > 0 ? "on" : "off"}>
      <Text size="sm">{registered.length > 0 ? t("push.onHere") : t("push.offHere")}</Text>
      {registered.length > 0 &&
        siteList.map((site) => {
          const device = registered.find((d) => d.site_id === site.site_id);
          return (
            <Switch
              key={site.site_id}
              label={t("push.siteSwitch", { site: site.name })}
              checked={device !== undefined}
              disabled={busy}
              onChange={(e) => (e.currentTarget.checked ? turnOn.mutate([site.site_id]) : device && turnOff.mutate([device]))}
            />
          );
        })}
      <Group gap="sm">
        {registered.length === 0 ? (
          <Button
            onClick={() => turnOn.mutate(siteList.map((s) => s.site_id))}
            loading={turnOn.isPending}
            disabled={siteList.length === 0}
            data-action="push-on"
          >
            {t("push.turnOn")}
          </Button>
        ) : (
          <Button variant="outline" color="red" onClick={() => turnOff.mutate(registered)} loading={turnOff.isPending} data-action="push-off">
            {t("push.turnOff")}
          </Button>
        )}
      </Group>
      {error && (
        <Notice color="red" variant="light" role="alert">
          {error instanceof PushRefused ? t("push.refused") : t("form.failed", { detail: error.message })}
        </Notice>
      )}
      <Text size="xs" c="dimmed">
        {t("push.note")}
      </Text>
    </Stack>
  );
}
