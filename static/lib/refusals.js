// A refusal in the language shown (a front desk review: a Spanish tablet showed the server's English sentence).
// The server's sentence is English and says the most (which field, what was there, how long to wait), so an
// English page shows it as it is; in another language the page says it in its own words, from the answer's
// kind (`error`), the field it names and its Retry-After. A kind the page has no words for keeps the server's.

import { ApiError, Offline } from "./api.js";
import { FALLBACK, language, t } from "./i18n.js";

/** The request fields a refusal may name, in the language shown ("the provider"). */
const FIELD = {
  patient_name: () => t("field.patient_name"),
  provider: () => t("field.provider"),
  visit_type: () => t("field.visit_type"),
  start: () => t("field.start"),
  minutes_ago: () => t("field.minutes_ago"),
  room: () => t("field.room"),
  back_in_minutes: () => t("field.back_in_minutes"),
  reason: () => t("field.reason"),
  status: () => t("field.status"),
  name: () => t("field.name"),
  device: () => t("field.device"),
  secret: () => t("field.secret"),
  staff: () => t("field.staff"),
  code: () => t("field.code"),
  zone: () => t("field.zone"),
  notes: () => t("field.notes"),
  clinics: () => t("field.clinics"),
};

/** "in 30 seconds", "in 2 minutes", in the language shown. */
function within(seconds) {
  const format = new Intl.RelativeTimeFormat(language(), { numeric: "always" });
  return seconds < 60 ? format.format(Math.ceil(seconds), "second") : format.format(Math.ceil(seconds / 60), "minute");
}

/** The server's sentence without what is for programs: "(version 3, you had version 2)" says nothing to staff. */
const serverSentence = (err) => err.message.replace(/\s*\(version \d+, you had version \d+\)/, "");

/** What a failed call says to the person: `signingIn` for the sign-in form (its 401 is a wrong PIN, not an
 *  ended sign-in). */
export function refusalText(err, { signingIn = false } = {}) {
  if (err instanceof Offline) return t("error.offline");
  if (!(err instanceof ApiError)) return String((err && err.message) || err);
  if (language() === FALLBACK) return serverSentence(err);
  const body = err.body || {};
  switch (body.error) {
    case "invalid":
    case "invalid_request": {
      const field = FIELD[body.field];
      return field ? t("refused.invalid_field", { field: field() }) : t("refused.invalid");
    }
    case "unauthenticated":
      if (!signingIn) return t("refused.signed_out");
      if (!err.retryAfter) return t("refused.sign_in");
      // A wait of a second at most: another sign-in with this id or from this network is being checked.
      return err.retryAfter <= 1 ? t("refused.sign_in_busy") : t("refused.sign_in_wait", { when: within(err.retryAfter) });
    case "forbidden": return t("refused.forbidden");
    // A wall's pairing code mistyped (or expired): the code is what to check, nothing was removed.
    case "not_found": return body.field === "code" ? t("refused.pair_code") : t("refused.not_found");
    // The visit's words only where a visit was refused: a provider's presence or a room say their own.
    case "illegal_step":
      if (body.visit) return t("refused.illegal_step");
      return body.field === "status" ? t("refused.presence_seen") : t("refused.not_now");
    case "stale_version": return body.visit ? t("refused.stale_version") : t("refused.changed_first");
    case "room_unavailable": return t("refused.room_unavailable");
    case "nothing_to_undo": return t("refused.nothing_to_undo");
    case "taken": return t("refused.taken");
    case "too_many_requests": return t("refused.too_many", { when: within(err.retryAfter || 1) });
    case "too_large": return t("refused.too_large");
    case "unavailable": return t("refused.unavailable");
    case "log_damaged": return t("refused.log_damaged");
    case "internal": return t("refused.internal");
    default: return serverSentence(err);
  }
}
