import { describe, expect, it } from "vitest";
import { dwellProblem } from "../src/settings/CameraDwellRow";
import { changed, formFrom, INHERIT, overridesFrom, problemOf } from "../src/settings/ruleForm";

describe("the entry rules form", () => {
  it("starts from what is set here, empty where the value is inherited", () => {
    expect(formFrom({ fever_threshold_c: 37.8, mask: null })).toEqual({ fever: "37.8", mask: INHERIT, temperature: INHERIT });
  });

  it("sends only what is set, keeping overrides the form does not show", () => {
    const current = { plausible_min_c: 31, fever_threshold_c: 37.8, mask: "soft" as const };
    const body = overridesFrom(current, { fever: "", mask: "hard", temperature: "soft" });
    expect(body).toEqual({ plausible_min_c: 31, mask: "hard", temperature: "soft" });
  });

  it("reads a decimal comma as a point", () => {
    expect(overridesFrom({}, { fever: " 37,6 ", mask: INHERIT, temperature: INHERIT })).toEqual({ fever_threshold_c: 37.6 });
    expect(problemOf({ fever: "37,6", mask: INHERIT, temperature: INHERIT })).toBeNull();
  });

  it("names what is wrong with the fever threshold", () => {
    expect(problemOf({ fever: "warm", mask: INHERIT, temperature: INHERIT })).toBe("feverNotANumber");
    expect(problemOf({ fever: "34.9", mask: INHERIT, temperature: INHERIT })).toBe("feverOutOfRange");
    expect(problemOf({ fever: "42.1", mask: INHERIT, temperature: INHERIT })).toBe("feverOutOfRange");
    expect(problemOf({ fever: "", mask: INHERIT, temperature: INHERIT })).toBeNull();
  });

  it("knows whether saving would change anything", () => {
    const current = { fever_threshold_c: 38, mask: null };
    expect(changed(current, formFrom(current))).toBe(false);
    expect(changed(current, { fever: "38.0", mask: INHERIT, temperature: INHERIT })).toBe(false);
    expect(changed(current, { fever: "38.5", mask: INHERIT, temperature: INHERIT })).toBe(true);
    expect(changed(current, { fever: "38", mask: "off", temperature: INHERIT })).toBe(true);
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
