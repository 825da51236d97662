// The rules form's state and what it sends. A field left empty (or "inherit") is not set here: the
// site or gate then follows what it inherits, which the form shows as the placeholder. PUT replaces
// every override, so fields the form does not show are sent back as they were, never dropped.
import type { Schemas } from "../api/client";

export type RuleOverrides = Schemas["RuleOverrides"];
export type RuleSet = Schemas["RuleSet"];
export type Enforcement = RuleSet["mask"];
export const ENFORCEMENTS: readonly Enforcement[] = ["hard", "soft", "off"];
export const INHERIT = "inherit";

/**
 * Who counts as another person in a gate frame. The three `other_face_*` thresholds only make sense
 * together, so the form offers them as two named settings; "custom" is a combination set through the
 * API, which the form keeps as it is.
 */
export type People = "tolerant" | "strict" | "custom";
export const PEOPLE_CHOICES = ["tolerant", "strict"] as const;
type PeopleKey = "other_face_detector_score" | "other_face_width_share" | "other_face_overlap";
const PEOPLE_KEYS: readonly PeopleKey[] = ["other_face_detector_score", "other_face_width_share", "other_face_overlap"];
const PEOPLE: Record<(typeof PEOPLE_CHOICES)[number], Pick<RuleSet, PeopleKey>> = {
  // The API's defaults. Sent explicitly rather than left unset, so that a gate can be tolerant under a strict site.
  tolerant: { other_face_detector_score: 0.5, other_face_width_share: 0.4, other_face_overlap: 0.25 },
  // Any detection at all, however weak, small or overlapping the visitor's own face, is a second person.
  strict: { other_face_detector_score: 0, other_face_width_share: 0, other_face_overlap: 1 },
};

export type RuleForm = {
  /** Degrees Celsius as typed; "" inherits. */
  fever: string;
  mask: Enforcement | typeof INHERIT;
  /** What to do with a mask pulled under the nose (`mask_over_nose`). */
  nose: Enforcement | typeof INHERIT;
  temperature: Enforcement | typeof INHERIT;
  people: People | typeof INHERIT;
};

export function formFrom(overrides: RuleOverrides): RuleForm {
  return {
    fever: overrides.fever_threshold_c == null ? "" : String(overrides.fever_threshold_c),
    mask: overrides.mask ?? INHERIT,
    nose: overrides.mask_over_nose ?? INHERIT,
    temperature: overrides.temperature ?? INHERIT,
    people: peopleSet(overrides),
  };
}

function peopleSet(overrides: RuleOverrides): RuleForm["people"] {
  if (PEOPLE_KEYS.every((key) => overrides[key] == null)) return INHERIT;
  return namedPeople(overrides);
}

/** What a site or gate that inherits the setting follows: one of the named settings, or "custom" when the
 * inherited values (set through the API higher up) match neither. */
export function inheritedPeople(inherited: RuleSet): People {
  return namedPeople(inherited);
}

/** The named setting whose three values these are, or "custom". */
function namedPeople(values: { readonly [K in PeopleKey]?: number | null }): People {
  return PEOPLE_CHOICES.find((choice) => PEOPLE_KEYS.every((key) => values[key] === PEOPLE[choice][key])) ?? "custom";
}

export type FormProblem = "feverNotANumber" | "feverOutOfRange";

/** The fever threshold's bounds, as the API checks them. */
export const FEVER_MIN_C = 35;
export const FEVER_MAX_C = 42;

export function problemOf(form: RuleForm): FormProblem | null {
  const text = form.fever.trim().replace(",", ".");
  if (text === "") return null;
  const value = Number(text);
  if (!Number.isFinite(value)) return "feverNotANumber";
  if (value < FEVER_MIN_C || value > FEVER_MAX_C) return "feverOutOfRange";
  return null;
}

/** The body of the PUT: the form's fields over the overrides the form does not show. */
export function overridesFrom(current: RuleOverrides, form: RuleForm): RuleOverrides {
  const kept: RuleOverrides = {};
  for (const [key, value] of Object.entries(current) as [keyof RuleOverrides, unknown][]) {
    if (value !== null && value !== undefined && !SHOWN.has(key)) {
      (kept as Record<string, unknown>)[key] = value;
    }
  }
  const fever = form.fever.trim().replace(",", ".");
  return {
    ...kept,
    ...(fever === "" ? {} : { fever_threshold_c: Number(fever) }),
    ...(form.mask === INHERIT ? {} : { mask: form.mask }),
    ...(form.nose === INHERIT ? {} : { mask_over_nose: form.nose }),
    ...(form.temperature === INHERIT ? {} : { temperature: form.temperature }),
    ...peopleOverrides(current, form.people),
  };
}

const SHOWN = new Set<keyof RuleOverrides>([
  "fever_threshold_c",
  "mask",
  "mask_over_nose",
  "temperature",
  ...PEOPLE_KEYS,
]);

function peopleOverrides(current: RuleOverrides, people: RuleForm["people"]): RuleOverrides {
  if (people === INHERIT) return {};
  if (people !== "custom") return PEOPLE[people];
  return Object.fromEntries(PEOPLE_KEYS.filter((key) => current[key] != null).map((key) => [key, current[key]]));
}

/** Whether saving would change anything. */
export function changed(current: RuleOverrides, form: RuleForm): boolean {
  const before = JSON.stringify(normalised(overridesFrom(current, formFrom(current))));
  return before !== JSON.stringify(normalised(overridesFrom(current, form)));
}

function normalised(overrides: RuleOverrides): [string, unknown][] {
  return Object.entries(overrides)
    .filter(([, value]) => value !== null && value !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
}
