// Words for the codes the API sends (reasons, decisions, alert kinds, states, resolutions). A code this
// console does not know yet (a newer server) shows as itself rather than as nothing.
import type { TFunction } from "i18next";

type Group = "reason" | "decision" | "alertKind" | "alertState" | "resolution" | "channel" | "transition";

export function label(t: TFunction, group: Group, code: string): string {
  const key = `${group}.${code}`;
  // The key is built at run time, so the compile-time key check cannot see it; the fallback covers it.
  return (t as unknown as (key: string, options: { defaultValue: string }) => string)(key, { defaultValue: code });
}

export const reasonLabel = (t: TFunction, code: string) => label(t, "reason", code);
export const decisionLabel = (t: TFunction, code: string) => label(t, "decision", code);
export const alertKindLabel = (t: TFunction, code: string) => label(t, "alertKind", code);
export const alertStateLabel = (t: TFunction, code: string) => label(t, "alertState", code);
export const resolutionLabel = (t: TFunction, code: string) => label(t, "resolution", code);
// Audit actions are dotted (`user.create`); their keys use an underscore, since a dot nests in i18next.
export function auditActionLabel(t: TFunction, code: string): string {
  const key = `auditAction.${code.replace(/\./g, "_")}`;
  return (t as unknown as (key: string, options: { defaultValue: string }) => string)(key, { defaultValue: code });
}
export const channelLabel = (t: TFunction, code: string) => label(t, "channel", code);
export const transitionLabel = (t: TFunction, code: string) => label(t, "transition", code);
