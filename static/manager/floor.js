// The manager's screen's state, shared by its parts: the sign-in, the clinic's floor as the live feed last
// said it, the server's clock (it may run fast), times in the clinic's time zone, and names for what the floor
// holds.

import { parseTime, session } from "../lib/page.js";
import { TOKEN_KEY } from "../lib/signin.js";
import { ENDED as ENDS } from "../lib/stages.js";

export const SEGMENT_LABEL = {
  arrived: "Waiting (arrived)",
  roomed: "Roomed, in prep",
  prep_done: "Waiting for provider",
  provider_in: "With provider",
  teach_back_done: "Teach-back to checkout",
};
export const PATH = ["arrived", "roomed", "prep_done", "provider_in", "teach_back_done"];
export { ENDS };
export const WAITING = new Set(["scheduled", "arrived", "roomed", "prep_done"]);
// Stage, role and alert words: lib/labels.js.

// -- state -----------------------------------------------------------------------------------------

/** The sign-in (its token and person) and the staff's names (for "acknowledged by"). */
export const page = {
  token: session.get(TOKEN_KEY),
  me: null,
  staffNames: new Map(), // staff id -> name (for "acknowledged by")
};

export const state = {
  clinic: null,
  name: "",
  timezone: undefined,
  day: null,
  seq: null,
  session: null,
  thresholds: {},
  providers: [],
  providerById: new Map(),
  visitTypes: new Map(),
  rooms: new Map(),
  visits: new Map(),
  alerts: new Map(),
  delays: new Map(), // provider id -> ProviderDelay
  plans: new Map(), // visit id -> {roomed, provider_in}: its plan by the clinic's convention, from the server
  setupVersion: 0, // the clinic's set-up version (its rooms), what a change of the rooms is sent with
  fileRooms: null, // the clinic file's rooms, while the rooms set from the browser differ from them
  fileProviders: null, // the clinic file's providers, while the providers set from the browser differ from them
  fileVisitTypes: null, // the clinic file's visit types, while the visit types set from the browser differ from them
  fileThresholds: null, // the clinic file's alert thresholds, while the thresholds set from the browser differ
  measures: null,
  lateness: null, // {day, every_minutes, points}
  heartbeatAhead: 0,
};

// -- the clinic's clock ------------------------------------------------------------------------------
// The server's clock may run fast (the demo plays a day at 30x), so "now" is the server's last word plus
// the time since, at the rate its clock has been seen to run.

export const clock = { server: NaN, local: 0, rate: 1, rateServer: NaN, rateLocal: 0 };

export function observeNow(iso, { fresh = true } = {}) {
  const t = parseTime(iso);
  if (!Number.isFinite(t)) return;
  const l = performance.now();
  if (!fresh) {
    // A snapshot's time may be from when it was encoded: use it only until a fresh one comes.
    if (!Number.isFinite(clock.server)) Object.assign(clock, { server: t, local: l });
    return;
  }
  if (!Number.isFinite(clock.rateServer)) {
    Object.assign(clock, { rateServer: t, rateLocal: l });
  } else if (l - clock.rateLocal >= 5000) {
    const rate = (t - clock.rateServer) / (l - clock.rateLocal);
    if (rate > 0.01 && rate < 10000) clock.rate = rate;
    Object.assign(clock, { rateServer: t, rateLocal: l });
  }
  Object.assign(clock, { server: t, local: l });
}

export function serverNow() {
  if (!Number.isFinite(clock.server)) return Date.now();
  return clock.server + (performance.now() - clock.local) * clock.rate;
}

// -- formatting in the clinic's time zone ----------------------------------------------------------------

export const formats = new Map();
function clinicFormat(options) {
  const key = JSON.stringify([options, state.timezone]);
  let f = formats.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat(undefined, { ...options, timeZone: state.timezone });
    } catch {
      f = new Intl.DateTimeFormat(undefined, options);
    }
    formats.set(key, f);
  }
  return f;
}
export const hm = (ms) => (Number.isFinite(ms) ? clinicFormat({ hour: "numeric", minute: "2-digit" }).format(new Date(ms)) : "");
export const hourLabel = (ms) => clinicFormat({ hour: "numeric" }).format(new Date(ms));

export function minutesText(m, { decimals = false } = {}) {
  if (m === null || m === undefined || !Number.isFinite(Number(m))) return "—";
  const n = Number(m);
  if (n >= 60) {
    const whole = Math.round(n);
    return `${Math.floor(whole / 60)} h ${String(whole % 60).padStart(2, "0")} min`;
  }
  return `${decimals && n < 10 ? Math.round(n * 10) / 10 : Math.round(n)} min`;
}
// A share ({count, hits, rate}) as a whole percent of its hits, rounded once (its rate is rounded already: 5 of
// 13 is 0.385, which read 39%); or a plain fraction.
export const percent = (share) => {
  if (share === null || share === undefined) return "—";
  if (typeof share === "object") return share.count ? `${Math.round((100 * share.hits) / share.count)}%` : "—";
  return `${Math.round(share * 100)}%`;
};

/** Offset (ms, local minus UTC) of a time zone at an instant. */
export function zoneOffset(zone, ms) {
  const parts = clinicFormat({
    hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(ms));
  const get = (type) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour") % 24, get("minute"), get("second"));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** A clinic-local day ("2026-11-23") and wall time ("08:00:00") as epoch ms. */
export function clinicTime(day, time) {
  const [y, mo, d] = String(day).split("-").map(Number);
  const [h, mi, s] = String(time).split(":").map(Number);
  const guess = Date.UTC(y, mo - 1, d, h || 0, mi || 0, Math.floor(s || 0));
  if (!Number.isFinite(guess)) return NaN;
  let ms = guess - zoneOffset(state.timezone, guess);
  ms = guess - zoneOffset(state.timezone, ms);
  return ms;
}

export const providerName = (id) => state.providerById.get(id)?.name || id || "";
const patientName = (id) => state.visits.get(id)?.patient_name || id || "";
/** A patient as alerts name them: the visit code the wall shows, then the name ("XD2 · Pat Doe"). */
export const codedName = (id) => {
  const token = state.visits.get(id)?.token;
  return token ? `${token} · ${patientName(id)}` : patientName(id);
};
export const staffName = (id) => {
  if (!id) return "";
  if (page.me && id === page.me.id) return `you (${page.me.name || page.me.id})`;
  return page.staffNames.get(id) || id;
};

export const clinicPath = (rest) => `/api/clinics/${encodeURIComponent(state.clinic)}${rest}`;
