import i18n from "i18next";
import { describe, expect, it } from "vitest";
import en from "../src/i18n/en";
import { initialLanguage } from "../src/i18n/index";
import ko from "../src/i18n/ko";
import { alertKindLabel, decisionLabel, reasonLabel, resolutionLabel } from "../src/i18n/labels";

type Tree = { [key: string]: string | Tree };

function leaves(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string") out.set(path, value);
    else for (const [k, v] of leaves(value, path)) out.set(k, v);
  }
  return out;
}

const placeholders = (text: string) => [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

// Every API code the pages show: the reasons of maskwatch/contracts/verdict.py, and so on.
const REASONS = ["no_mask", "incorrect_mask", "fever", "remeasure_temperature", "no_temperature", "no_face", "multiple_faces"];

describe("the catalogues", () => {
  const english = leaves(en as unknown as Tree);
  const korean = leaves(ko as unknown as Tree);

  it("have the same keys, none empty", () => {
    expect([...korean.keys()].sort()).toEqual([...english.keys()].sort());
    for (const [key, text] of [...english, ...korean]) expect(text.trim(), key).not.toBe("");
  });

  it("use the same placeholders in both languages", () => {
    for (const [key, text] of english) expect(placeholders(korean.get(key) ?? ""), key).toEqual(placeholders(text));
  });

  it("translate the pages' words into Korean rather than copying them", () => {
    const same = [...english].filter(([key, text]) => korean.get(key) === text && !/^(\{\{|ID$|Maskwatch$|English$|한국어$)/.test(text));
    expect(same.map(([key]) => key)).toEqual([]);
  });
});

describe("labels for the API's codes", () => {
  it("name every denial reason in both languages", async () => {
    await i18n.changeLanguage("en");
    const t = i18n.t.bind(i18n);
    expect(REASONS.map((r) => reasonLabel(t, r))).toEqual([
      "No mask",
      "Mask worn incorrectly",
      "Elevated temperature",
      "Temperature to be measured again",
      "No temperature reading",
      "No face seen",
      "More than one person",
    ]);
    expect(decisionLabel(t, "deny")).toBe("Denied");
    expect(alertKindLabel(t, "device_offline")).toBe("Device offline");
    await i18n.changeLanguage("ko");
    expect(reasonLabel(t, "no_mask")).toBe("마스크 미착용");
    expect(reasonLabel(t, "fever")).toBe("체온 높음");
    expect(decisionLabel(t, "open")).toBe("통과");
    expect(resolutionLabel(t, "by_hand")).toBe("수동으로 해결");
    for (const reason of REASONS) expect(reasonLabel(t, reason)).not.toBe(reason);
  });

  it("show a code this console does not know as itself", async () => {
    await i18n.changeLanguage("ko");
    expect(reasonLabel(i18n.t.bind(i18n), "sunglasses")).toBe("sunglasses");
  });
});

describe("the first language", () => {
  it("is the remembered one, else the browser's, else English", () => {
    expect(initialLanguage("ko", ["en-US"])).toBe("ko");
    expect(initialLanguage(null, ["ko-KR", "en"])).toBe("ko");
    expect(initialLanguage(null, ["de-DE", "en-GB"])).toBe("en");
    expect(initialLanguage("xx", ["fr"])).toBe("en");
  });
});
