// The recipient dialog's fields and what they become: the body of POST /sites/{site}/recipients or of
// PATCH /recipients/{id}. Quiet hours are two clock times (both or neither); a rate limit is the
// notifier's own notation (`5/10min`), checked here only for its shape so a typo is caught before sending.
import type { Recipient } from "../api/admin";
import type { Schemas } from "../api/client";

export type Severity = "info" | "warning" | "critical";
export const SEVERITIES: Severity[] = ["info", "warning", "critical"];
export type Language = "en" | "ko";
/** Channels an admin adds by hand: a browser's Web Push subscription comes with keys only the browser has. */
export const MANUAL_CHANNELS = ["webhook", "email", "sns", "fcm"] as const;
export type ManualChannel = (typeof MANUAL_CHANNELS)[number];

export type RecipientForm = {
  channel: ManualChannel | "webpush";
  address: string;
  language: Language;
  timeZone: string;
  minSeverity: Severity;
  quietStart: string;
  quietEnd: string;
  rateLimit: string;
  enabled: boolean;
};

export type RecipientProblem = "address" | "quietHours" | "rateLimit";

const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$/;
// The notifier's own grammar (maskwatch/notification_rules.py RATE), so what passes here passes there.
const RATE = /^\s*\d+\s*\/\s*\d*\s*(s|sec|min|m|h|d)\s*$/;

export function emptyRecipient(timeZone: string, language: Language): RecipientForm {
  return {
    channel: "webhook", // the one channel that needs no settings in the notifier, so it always delivers
    address: "",
    language,
    timeZone,
    minSeverity: "info",
    quietStart: "",
    quietEnd: "",
    rateLimit: "",
    enabled: true,
  };
}

export function recipientForm(recipient: Recipient): RecipientForm {
  return {
    channel: recipient.channel as RecipientForm["channel"],
    address: recipient.address,
    language: recipient.language === "ko" ? "ko" : "en",
    timeZone: recipient.time_zone,
    minSeverity: (SEVERITIES as string[]).includes(recipient.min_severity)
      ? (recipient.min_severity as Severity)
      : "info",
    quietStart: recipient.quiet_hours?.start ?? "",
    quietEnd: recipient.quiet_hours?.end ?? "",
    rateLimit: recipient.rate_limit ?? "",
    enabled: recipient.enabled,
  };
}

function quietHours(form: RecipientForm): Schemas["QuietHours"] | null {
  return form.quietStart && form.quietEnd ? { start: form.quietStart, end: form.quietEnd } : null;
}

export function recipientProblems(form: RecipientForm): RecipientProblem[] {
  const found: RecipientProblem[] = [];
  if (form.address.trim() === "") found.push("address");
  const start = form.quietStart;
  const end = form.quietEnd;
  const oneOnly = (start === "") !== (end === "");
  if (oneOnly || (start && (!CLOCK.test(start) || !CLOCK.test(end) || start === end))) found.push("quietHours");
  if (form.rateLimit.trim() !== "" && !RATE.test(form.rateLimit)) found.push("rateLimit");
  return found;
}

export function createRecipientBody(form: RecipientForm): Schemas["RecipientIn"] {
  return {
    channel: form.channel,
    address: form.address.trim(),
    language: form.language,
    time_zone: form.timeZone,
    min_severity: form.minSeverity,
    quiet_hours: quietHours(form),
    rate_limit: form.rateLimit.trim() || null,
  };
}

/** Only what changed; cleared quiet hours or rate limit are sent as null, which the API reads as "none". */
export function patchRecipientBody(form: RecipientForm, before: Recipient): Schemas["RecipientPatch"] {
  const body: Schemas["RecipientPatch"] = {};
  if (form.address.trim() !== before.address) body.address = form.address.trim();
  if (form.language !== before.language) body.language = form.language;
  if (form.timeZone !== before.time_zone) body.time_zone = form.timeZone;
  if (form.minSeverity !== before.min_severity) body.min_severity = form.minSeverity;
  if (form.enabled !== before.enabled) body.enabled = form.enabled;
  const quiet = quietHours(form);
  if (JSON.stringify(quiet) !== JSON.stringify(before.quiet_hours ?? null)) body.quiet_hours = quiet;
  const rate = form.rateLimit.trim() || null;
  if (rate !== (before.rate_limit ?? null)) body.rate_limit = rate;
  return body;
}
