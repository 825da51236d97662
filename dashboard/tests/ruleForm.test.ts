import { describe, expect, it } from "vitest";
import { dwellProblem } from "../src/settings/CameraDwellRow";
import { changed, formFrom, inheritedPeople, INHERIT, overridesFrom, problemOf, type RuleSet } from "../src/settings/ruleForm";

describe("the entry rules form", () => {
  it("starts from what is set here, empty where the value is inherited", () => {
    expect(formFrom({ fever_threshold_c: 37.8, mask: null })).toEqual({ fever: "37.8", mask: INHERIT, nose: INHERIT, temperature: INHERIT, people: INHERIT });
  });

  it("sends only what is set, keeping overrides the form does not show", () => {
    const current = { plausible_min_c: 31, fever_threshold_c: 37.8, mask: "soft" as const };
    const body = overridesFrom(current, { fever: "", mask: "hard", nose: INHERIT, temperature: "soft", people: INHERIT });
    expect(body).toEqual({ plausible_min_c: 31, mask: "hard", temperature: "soft" });
  });

  it("sends the nose rule as its own field, and leaves it out when inherited", () => {
    expect(formFrom({ mask_over_nose: "hard" }).nose).toBe("hard");
    const form = { fever: "", mask: INHERIT, nose: "soft", temperature: INHERIT, people: INHERIT } as const;
    expect(overridesFrom({ mask_over_nose: "hard" }, form)).toEqual({ mask_over_nose: "soft" });
    expect(overridesFrom({ mask_over_nose: "hard" }, { ...form, nose: INHERIT })).toEqual({});
  });

  it("reads a decimal comma as a point", () => {
    expect(overridesFrom({}, { fever: " 37,6 ", mask: INHERIT, nose: INHERIT, temperature: INHERIT, people: INHERIT })).toEqual({ fever_threshold_c: 37.6 });
    expect(problemOf({ fever: "37,6", mask: INHERIT, nose: INHERIT, temperature: INHERIT, people: INHERIT })).toBeNull();
  });

  it("names what is wrong with the fever threshold", () => {
    expect(problemOf({ fever: "warm", mask: INHERIT, nose: INHERIT, temperature: INHERIT, people: INHERIT })).toBe("feverNotANumber");
    expect(problemOf({ fever: "34.9", mask: INHERIT, nose: INHERIT, temperature: INHERIT, people: INHERIT })).toBe("feverOutOfRange");
    expect(problemOf({ fever: "42.1", mask: INHERIT, nose: INHERIT, temperature: INHERIT, people: INHERIT })).toBe("feverOutOfRange");
    expect(problemOf({ fever: "", mask: INHERIT, nose: INHERIT, temperature: INHERIT, people: INHERIT })).toBeNull();
  });

  it("knows whether saving would change anything", () => {
    const current = { fever_threshold_c: 38, mask: null };
    expect(changed(current, formFrom(current))).toBe(false);
    expect(changed(current, { fever: "38.0", mask: INHERIT, nose: INHERIT, temperature: INHERIT, people: INHERIT })).toBe(false);
    expect(changed(current, { fever: "38.5", mask: INHERIT, nose: INHERIT, temperature: INHERIT, people: INHERIT })).toBe(true);
    expect(changed(current, { fever: "38", mask: "off", nose: INHERIT, temperature: INHERIT, people: INHERIT })).toBe(true);
  });
});

describe("who counts as a second person", () => {
  const tolerant = { other_face_detector_score: 0.5, other_face_width_share: 0.4, other_face_overlap: 0.25 };
  const strict = { other_face_detector_score: 0, other_face_width_share: 0, other_face_overlap: 1 };
  const custom = { other_face_detector_score: 0.5, other_face_width_share: 0.4, other_face_overlap: null };
  const form = { fever: "", mask: INHERIT, nose: INHERIT, temperature: INHERIT } as const;

  it("reads the three thresholds as one setting", () => {
    expect(formFrom({ min_face_score: 0.6 }).people).toBe(INHERIT);
    expect(formFrom(tolerant).people).toBe("tolerant");
    expect(formFrom(strict).people).toBe("strict");
    expect(formFrom(custom).people).toBe("custom");
    expect(formFrom({ other_face_overlap: 1 }).people).toBe("custom");
  });

  it("names what is inherited: a named setting, or custom when it matches neither", () => {
    const defaults: RuleSet = { fever_threshold_c: 37.5, plausible_min_c: 30, plausible_max_c: 43, mask: "hard", mask_over_nose: "off", temperature: "hard", min_face_score: 0.5, ...tolerant };
    expect(inheritedPeople(defaults)).toBe("tolerant");
    expect(inheritedPeople({ ...defaults, ...strict })).toBe("strict");
    expect(inheritedPeople({ ...defaults, ...strict, other_face_overlap: 0.9 })).toBe("custom");
    expect(inheritedPeople({ ...defaults, other_face_width_share: 0.6 })).toBe("custom");
  });

  it("sends all three, the defaults too, and keeps the overrides the form does not show", () => {
    const current = { min_face_score: 0.6, ...strict };
    expect(overridesFrom(current, { ...form, people: "tolerant" })).toEqual({ min_face_score: 0.6, ...tolerant });
    expect(overridesFrom(current, { ...form, people: "strict" })).toEqual({ min_face_score: 0.6, ...strict });
    expect(overridesFrom(current, { ...form, people: INHERIT })).toEqual({ min_face_score: 0.6 });
  });

  it("sends custom values back as they were", () => {
    const current = { min_face_score: 0.6, ...custom };
    expect(overridesFrom(current, formFrom(current))).toEqual({ min_face_score: 0.6, other_face_detector_score: 0.5, other_face_width_share: 0.4 });
    expect(overridesFrom(current, { ...form, people: "strict" })).toEqual({ min_face_score: 0.6, ...strict });
  });

  it("knows whether saving would change anything", () => {
    for (const current of [{}, tolerant, strict, custom]) expect(changed(current, formFrom(current))).toBe(false);
    expect(changed(strict, { ...form, people: "tolerant" })).toBe(true);
    expect(changed(tolerant, { ...form, people: INHERIT })).toBe(true);
    expect(changed({}, { ...form, people: "tolerant" })).toBe(true);
    expect(changed(custom, { ...form, people: "strict" })).toBe(true);
  });
});

describe("the unmasked-alert threshold", () => {
  it("takes seconds within the API's bounds", () => {
    expect(dwellProblem("90")).toBeNull();
    expect(dwellProblem("7,5")).toBeNull();
    expect(dwellProblem("")).toBe("notANumber");
    expect(dwellProblem("soon")).toBe("notANumber");
    expect(dwellProblem("0")).toBe("outOfRange");
    expect(dwellProblem("86401")).toBe("outOfRange");
  });
});
