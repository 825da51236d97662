// Acknowledge and resolve, each shown only when the alert's `_links` offer it to this caller.
import { Alert as Notice, Button, Group } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Alert } from "../api/client";
import { offers } from "../api/hal";
import { keys } from "../api/queries";

type Action = "acknowledge" | "resolve";

export function AlertActions({ alert, size = "sm" }: { alert: Alert; size?: "xs" | "sm" }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const act = useMutation({
    mutationFn: async (action: Action) => {
      const params = { params: { path: { alert_id: alert.alert_id } } };
      return unwrap(
        action === "acknowledge"
          ? await api.POST("/api/v1/alerts/{alert_id}/acknowledge", params)
          : await api.POST("/api/v1/alerts/{alert_id}/resolve", params),
      );
    },
    onSuccess: (updated) => {
      client.setQueryData(keys.alert(updated.alert_id), updated);
      void client.invalidateQueries({ queryKey: ["alerts"] });
    },
  });
  const canAcknowledge = offers(alert, "acknowledge", "POST");
  const canResolve = offers(alert, "resolve", "POST");
  if (!canAcknowledge && !canResolve) return null;
  return (
    <>
      <Group gap="xs">
        {canAcknowledge && (
          <Button
            size={size}
            onClick={() => act.mutate("acknowledge")}
            loading={act.isPending && act.variables === "acknowledge"}
            disabled={act.isPending}
            aria-label={`${t("alerts.acknowledge")} — ${t("alerts.alertTitle", { id: alert.alert_id })}`}
            data-action="acknowledge"
          >
            {t("alerts.acknowledge")}
          </Button>
        )}
        {canResolve && (
          <Button
            size={size}
            variant="outline"
            onClick={() => act.mutate("resolve")}
            loading={act.isPending && act.variables === "resolve"}
            disabled={act.isPending}
            aria-label={`${t("alerts.resolve")} — ${t("alerts.alertTitle", { id: alert.alert_id })}`}
            data-action="resolve"
          >
            {t("alerts.resolve")}
          </Button>
        )}
      </Group>
      {act.error && (
        <Notice color="red" variant="light" role="alert" mt="xs">
          {t("alerts.actionFailed", { detail: act.error.message })}
        </Notice>
      )}
    </>
  );
}
