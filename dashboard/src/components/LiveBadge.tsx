import { Badge } from "@mantine/core";
import { useTranslation } from "react-i18next";
import { useLiveState } from "../live/LiveEvents";
import { COLORS } from "./colors";

export function LiveBadge() {
  const { t } = useTranslation();
  const state = useLiveState();
  return (
    <Badge
      color={state === "live" ? COLORS.good : COLORS.quiet}
      variant="filled"
      role="status"
      aria-live="polite"
      data-live-state={state}
    >
      {t(`live.${state}`)}
    </Badge>
  );
}
