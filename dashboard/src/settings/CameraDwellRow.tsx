// How long a person may stay unmasked in front of one camera before it alerts, edited in place.
import { Button, Group, Text, TextInput } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap } from "../api/client";
import { offers, type HalResource } from "../api/hal";
import { keys } from "../api/queries";
import { COLORS } from "../components/colors";

/** The API's bounds for the threshold, in seconds. */
const MAX_DWELL_S = 24 * 3600;

export function dwellProblem(text: string): "notANumber" | "outOfRange" | null {
  const value = Number(text.trim().replace(",", "."));
  if (text.trim() === "" || !Number.isFinite(value)) return "notANumber";
  if (value <= 0 || value > MAX_DWELL_S) return "outOfRange";
  return null;
}

/** The part of a camera this row reads (the list's items and the camera resource both have it). */
type DwellCamera = HalResource & { camera_id: string; name: string; settings: { unmasked_after_s: number } };

export function CameraDwellRow({ camera }: { camera: DwellCamera }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [text, setText] = useState(String(camera.settings.unmasked_after_s));
  const editable = offers(camera, "edit", "PATCH");
  const problem = dwellProblem(text);
  const save = useMutation({
    mutationFn: async (seconds: number) =>
      unwrap(
        await api.PATCH("/api/v1/cameras/{camera_id}", {
          params: { path: { camera_id: camera.camera_id } },
          body: { settings: { unmasked_after_s: seconds } },
        }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.cameras }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (problem === null) save.mutate(Number(text.trim().replace(",", ".")));
  };
  const unchanged = Number(text) === camera.settings.unmasked_after_s;
  return (
    <form onSubmit={submit} data-camera-dwell={camera.camera_id}>
      <Group align="flex-end" wrap="wrap">
        <TextInput
          label={t("settings.dwellFor", { camera: camera.name })}
          inputMode="decimal"
          value={text}
          onChange={(e) => {
            save.reset();
            setText(e.currentTarget.value);
          }}
          readOnly={!editable}
          error={problem ? t(`settings.dwellProblem.${problem}`, { max: MAX_DWELL_S }) : null}
          rightSection={<Text size="xs" c="dimmed">{t("settings.seconds")}</Text>}
          rightSectionWidth={48}
          w={320}
        />
        {editable && (
          <Button type="submit" variant="light" loading={save.isPending} disabled={problem !== null || unchanged}>
            {t("settings.save")}
          </Button>
        )}
        {save.isSuccess && (
          <Text size="sm" c={COLORS.good} role="status">
            {t("settings.saved")}
          </Text>
        )}
        {save.error && (
          <Text size="sm" c="red" role="alert">
            {t("alerts.actionFailed", { detail: save.error.message })}
          </Text>
        )}
      </Group>
    </form>
  );
}
