// One site's or gate's entry rules as a form: an empty field follows what the site or gate inherits
// (shown as the placeholder), so an admin sets only what differs. Read-only for those the API does not
// offer `edit`.
import { Alert as Notice, Button, Group, Select, SimpleGrid, Stack, Text, TextInput } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap } from "../api/client";
import { offers } from "../api/hal";
import { keys, useRules, type RulesScope } from "../api/queries";
import { Loading, LoadError } from "../components/QueryState";
import {
  changed,
  ENFORCEMENTS,
  FEVER_MAX_C,
  FEVER_MIN_C,
  formFrom,
  INHERIT,
  inheritedPeople,
  overridesFrom,
  PEOPLE_CHOICES,
  problemOf,
  type Enforcement,
  type RuleForm,
  type RuleOverrides,
} from "./ruleForm";

export function RulesEditor({
  scope,
  subject,
  onSaved,
}: {
  scope: RulesScope;
  subject: string;
  onSaved?: () => void;
}) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const rules = useRules(scope, subject);
  const [form, setForm] = useState<RuleForm | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (rules.data) setForm(formFrom(rules.data.overrides));
  }, [rules.data]);

  const save = useMutation({
    mutationFn: async (body: RuleOverrides) =>
      unwrap(
        scope === "site"
          ? await api.PUT("/api/v1/sites/{site_id}/rules", { params: { path: { site_id: subject } }, body })
          : await api.PUT("/api/v1/gates/{gate_id}/rules", { params: { path: { gate_id: subject } }, body }),
      ),
    onSuccess: (updated) => {
      client.setQueryData(keys.rules(scope, subject), updated);
      // A site's change reaches every gate that follows it.
      void client.invalidateQueries({ queryKey: keys.allRules });
      setSaved(true);
      onSaved?.();
    },
  });

  if (rules.isPending || form === null) return <Loading />;
  if (rules.error) return <LoadError error={rules.error} retry={() => void rules.refetch()} />;
  const data = rules.data;
  const editable = offers(data, "edit", "PUT");
  const problem = problemOf(form);
  const inherited = data.inherited;
  const update = (patch: Partial<RuleForm>) => {
    setSaved(false);
    setForm({ ...form, ...patch });
  };
  const enforcementOptions = (value: Enforcement) => [
    { value: INHERIT, label: t("settings.inherit", { value: t(`settings.enforcement.${value}`) }) },
    ...ENFORCEMENTS.map((e) => ({ value: e, label: t(`settings.enforcement.${e}`) })),
  ];
  const peopleOptions = [
    { value: INHERIT, label: t("settings.inherit", { value: t(`settings.peopleChoice.${inheritedPeople(inherited)}`) }) },
    ...PEOPLE_CHOICES.map((p) => ({ value: p, label: t(`settings.peopleChoice.${p}`) })),
    // Offered only where the API holds some other combination, so that an untouched form saves it as it is.
    ...(formFrom(data.overrides).people === "custom" ? [{ value: "custom", label: t("settings.peopleChoice.custom") }] : []),
  ];
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!editable || problem) return;
    save.mutate(overridesFrom(data.overrides, form));
  };

  return (
    <form onSubmit={submit} aria-label={t(`settings.formLabel.${scope}`, { subject })}>
      <Stack gap="sm">
        {/* The grid's breakpoints follow the window, not the dialog: a gate's rules open in a dialog
            too narrow for four fields side by side, so there they stay two to a row. */}
        <SimpleGrid cols={scope === "gate" ? { base: 1, sm: 2 } : { base: 1, sm: 2, lg: 4 }}>
          <TextInput
            label={t("settings.fever")}
            description={t("settings.feverHint", { min: FEVER_MIN_C, max: FEVER_MAX_C })}
            placeholder={t("settings.inheritValue", { value: inherited.fever_threshold_c })}
            inputMode="decimal"
            value={form.fever}
            onChange={(e) => update({ fever: e.currentTarget.value })}
            error={problem ? t(`settings.problem.${problem}`, { min: FEVER_MIN_C, max: FEVER_MAX_C }) : null}
            readOnly={!editable}
            rightSection={<Text size="xs" c="dimmed">°C</Text>}
          />
          <Select
            label={t("settings.mask")}
            description={t("settings.maskHint")}
            data={enforcementOptions(inherited.mask)}
            value={form.mask}
            onChange={(value) => value && update({ mask: value as RuleForm["mask"] })}
            allowDeselect={false}
            readOnly={!editable}
          />
          <Select
            label={t("settings.maskOverNose")}
            description={t("settings.maskOverNoseHint")}
            data={enforcementOptions(inherited.mask_over_nose)}
            value={form.nose}
            onChange={(value) => value && update({ nose: value as RuleForm["nose"] })}
            allowDeselect={false}
            readOnly={!editable}
          />
          <Select
            label={t("settings.temperature")}
            description={t("settings.temperatureHint")}
            data={enforcementOptions(inherited.temperature)}
            value={form.temperature}
            onChange={(value) => value && update({ temperature: value as RuleForm["temperature"] })}
            allowDeselect={false}
            readOnly={!editable}
          />
        </SimpleGrid>
        {/* Its own row: the choices are sentences, too long for a third of the form. */}
        <Select
          label={t("settings.people")}
          description={t("settings.peopleHint")}
          data={peopleOptions}
          value={form.people}
          onChange={(value) => value && update({ people: value as RuleForm["people"] })}
          allowDeselect={false}
          readOnly={!editable}
        />
        <Text size="sm" data-testid={`effective-${scope}-${subject}`}>
          {t("settings.effective", {
            fever: data.effective.fever_threshold_c,
            mask: t(`settings.enforcement.${data.effective.mask}`),
            nose: t(`settings.enforcement.${data.effective.mask_over_nose}`),
            temperature: t(`settings.enforcement.${data.effective.temperature}`),
          })}
        </Text>
        {save.error && (
          <Notice color="red" variant="light" role="alert">
            {t("alerts.actionFailed", { detail: save.error.message })}
          </Notice>
        )}
        {saved && !save.error && (
          <Notice color="teal" variant="light" role="status">
            {t("settings.saved")}
          </Notice>
        )}
        {editable ? (
          <Group justify="flex-end">
            <Button type="submit" loading={save.isPending} disabled={problem !== null || !changed(data.overrides, form)}>
              {t("settings.save")}
            </Button>
          </Group>
        ) : (
          <Text size="sm" c="dimmed">
            {t("settings.readOnly")}
          </Text>
        )}
      </Stack>
    </form>
  );
}
