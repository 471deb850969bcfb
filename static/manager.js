// The manager's screen: each provider's day as a timeline lane (scheduled slots, what happened, what is
// projected), the alerts to acknowledge, today's measures, and each provider's lateness through the day.
//
// Sign-in is shared with the tablet page (index.js): the same sessionStorage key holds the staff token, so
// a manager signed in there can open this page in the same tab. The token goes out only as
// `Authorization: Bearer` and in the live socket's first message (lib/feed.js), never in a URL.
// Text from the server goes into the page through textContent (lib/svg.js for the charts), never innerHTML.

import { call, tap, ApiError } from "./lib/api.js";
import { openFeed, CLOSE } from "./lib/feed.js";
import { local, parseTime, session, show } from "./lib/page.js";
import { DEVICE_KEY, signInForm, signOutButton } from "./lib/signin.js";
import { svg, polyline, round } from "./lib/svg.js";
import { managerConsole } from "./manager/console.js";
import { $, el, plural } from "./lib/dom.js";
import { DWELL_PHRASE, ROLE_LABEL, STAGE_STATE } from "./lib/labels.js";
import { FALLBACK, use } from "./lib/i18n.js";

// The tablet page's storage keys (static/index.js): keep them the same.
const TOKEN_KEY = "floor.tablet.token"; // sessionStorage
const CLINIC_KEY = "floor.tablet.clinic"; // localStorage

const LATENESS_EVERY = 10; // minutes between the lateness chart's points
const LATENESS_REFRESH_MS = 60000; // fetch the chart's history at least this often
const LATENESS_MIN_GAP_MS = 15000; // and at most this often (measures messages come every tick)

const SEGMENT_LABEL = {
  arrived: "Waiting (arrived)",
  roomed: "Roomed, in prep",
  prep_done: "Waiting for provider",
  provider_in: "With provider",
  teach_back_done: "Teach-back to checkout",
};
const PATH = ["arrived", "roomed", "prep_done", "provider_in", "teach_back_done"];
const ENDS = new Set(["checked_out", "no_show", "cancelled", "left_without_being_seen"]);
const WAITING = new Set(["scheduled", "arrived", "roomed", "prep_done"]);
// Stage, role and alert words: lib/labels.js.

// Line colours for the lateness chart (each at least 3:1 against the card in light and dark mode).
const PROVIDER_COLOURS = ["#1f5fbf", "#b3261e", "#1b7a3a", "#7a3fb0", "#a85400", "#00707a", "#9c2f6e", "#4d5a12"];
const PROVIDER_COLOURS_DARK = ["#7fb0ff", "#ff8f86", "#6fd693", "#c9a1ff", "#ffb066", "#5fd4df", "#ff8cc6", "#c7d46a"];



const darkMode = () => window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;

// -- state -----------------------------------------------------------------------------------------

let token = session.get(TOKEN_KEY);
let me = null;
let feed = null;
let staffNames = new Map(); // staff id -> name (for "acknowledged by")

const state = {
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
  measures: null,
  lateness: null, // {day, every_minutes, points}
  heartbeatAhead: 0,
};
const alertUi = new Map(); // alert id -> {pending, error}
let selectedVisit = null;

function resetState(clinic) {
  Object.assign(state, {
    clinic, name: "", timezone: undefined, day: null, seq: null, session: null, thresholds: {},
    providers: [], providerById: new Map(), visitTypes: new Map(), rooms: new Map(), visits: new Map(),
    alerts: new Map(), delays: new Map(), plans: new Map(), measures: null, lateness: null, heartbeatAhead: 0,
  });
  alertUi.clear();
  selectedVisit = null;
}

// -- the clinic's clock ------------------------------------------------------------------------------
// The server's clock may run fast (the demo plays a day at 30x), so "now" is the server's last word plus
// the time since, at the rate its clock has been seen to run.

const clock = { server: NaN, local: 0, rate: 1, rateServer: NaN, rateLocal: 0 };

function observeNow(iso, { fresh = true } = {}) {
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

function serverNow() {
  if (!Number.isFinite(clock.server)) return Date.now();
  return clock.server + (performance.now() - clock.local) * clock.rate;
}

// -- formatting in the clinic's time zone ----------------------------------------------------------------

const formats = new Map();
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
const hm = (ms) => (Number.isFinite(ms) ? clinicFormat({ hour: "numeric", minute: "2-digit" }).format(new Date(ms)) : "");
const hourLabel = (ms) => clinicFormat({ hour: "numeric" }).format(new Date(ms));

function minutesText(m, { decimals = false } = {}) {
  if (m === null || m === undefined || !Number.isFinite(Number(m))) return "—";
  const n = Number(m);
  if (n >= 60) {
    const whole = Math.round(n);
    return `${Math.floor(whole / 60)} h ${String(whole % 60).padStart(2, "0")} min`;
  }
  return `${decimals && n < 10 ? Math.round(n * 10) / 10 : Math.round(n)} min`;
}
const percent = (rate) => (rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)}%`);

/** Offset (ms, local minus UTC) of a time zone at an instant. */
function zoneOffset(zone, ms) {
  const parts = clinicFormat({
    hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(ms));
  const get = (type) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour") % 24, get("minute"), get("second"));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** A clinic-local day ("2026-11-23") and wall time ("08:00:00") as epoch ms. */
function clinicTime(day, time) {
  const [y, mo, d] = String(day).split("-").map(Number);
  const [h, mi, s] = String(time).split(":").map(Number);
  const guess = Date.UTC(y, mo - 1, d, h || 0, mi || 0, Math.floor(s || 0));
  if (!Number.isFinite(guess)) return NaN;
  let ms = guess - zoneOffset(state.timezone, guess);
  ms = guess - zoneOffset(state.timezone, ms);
  return ms;
}

const providerName = (id) => state.providerById.get(id)?.name || id || "";
const patientName = (id) => state.visits.get(id)?.patient_name || id || "";
/** A patient as alerts name them: the visit code the wall shows, then the name ("XD2 · Pat Doe"). */
const codedName = (id) => {
  const token = state.visits.get(id)?.token;
  return token ? `${token} · ${patientName(id)}` : patientName(id);
};
const staffName = (id) => {
  if (!id) return "";
  if (me && id === me.id) return `you (${me.name || me.id})`;
  return staffNames.get(id) || id;
};

// -- calling the server ------------------------------------------------------------------------------------

/** A request with the sign-in token; a 401 signs this page out. */
async function api(method, path, body) {
  try {
    return await call(method, path, { token, body });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401 && token) signedOut(`${e.message} Sign in again.`);
    throw e;
  }
}

// Staff, displays, rooms, the schedule, audit trails, past days and downloads (static/manager/).
const managerTools = managerConsole({
  api,
  token: () => token,
  unauthorized: (err) => { if (token) signedOut(`${err.message} Sign in again.`); },
  clinic: () => state.clinic,
  floor: () => state,
  me: () => me,
  onStaff: (staff) => {
    staffNames = new Map(staff.map((s) => [s.id, s.name]));
    scheduleRender("alerts");
  },
});

const clinicPath = (rest) => `/api/clinics/${encodeURIComponent(state.clinic)}${rest}`;

// -- signing in and out --------------------------------------------------------------------------------

function setConn(mode, text) {
  $("conn").dataset.mode = mode;
  $("conn-text").textContent = text;
}

function showSignIn(message, kind = "error") {
  $("app").hidden = true;
  $("who").hidden = true;
  $("clock").hidden = true;
  $("notice").hidden = true;
  $("signin").hidden = false;
  show($("signin-message"), message, kind);
  $("signin-secret").value = "";
  $("signin-device").value = $("signin-device").value || local.get(DEVICE_KEY) || "";
  document.title = "Sign in · Manager · Floor";
  ($("signin-staff").value ? $("signin-secret") : $("signin-staff")).focus();
}

/** The sign-in ended (or we signed out): forget it and everything it showed (patient names). */
function signedOut(message, kind = "error") {
  token = null;
  me = null;
  session.set(TOKEN_KEY, null);
  stopClinic();
  resetState(null);
  clearScreens();
  setConn("offline", "Signed out");
  showSignIn(message, kind);
}

function clearScreens() {
  $("timeline").replaceChildren();
  $("lateness-chart").replaceChildren();
  $("lateness-legend").replaceChildren();
  $("lateness-table").tHead.replaceChildren();
  $("lateness-table").tBodies[0].replaceChildren();
  $("measures").replaceChildren();
  $("provider-measures").tBodies[0].replaceChildren();
  $("learned-stages").tBodies[0].replaceChildren();
  $("learned-patients").tBodies[0].replaceChildren();
  $("alerts").replaceChildren();
  $("alerts-cleared-list").replaceChildren();
  $("alerts-cleared").hidden = true;
  $("visit-detail").replaceChildren();
  $("visit-detail").hidden = true;
  managerTools.clear();
  for (const id of ["timeline-summary", "lateness-summary", "measures-at", "alerts-count", "clinic-name",
    "learned-summary"]) $(id).textContent = "";
}

function showSignedIn() {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  $("whoami").replaceChildren("Signed in as ", el("strong", "", me.name || me.id), ` (${me.id})`);
  document.title = "Manager · Floor";
}

signInForm({
  form: "signin-form",
  message: "signin-message",
  onSignedIn: async (signed, device) => {
    if (signed.role !== "manager") {
      // Not for this screen: end the sign-in just made rather than leave it (and a token) behind.
      await call("POST", "/api/sign-out", { token: String(signed.token) }).catch(() => {});
      return `${signed.name || signed.staff} is signed in as ${(ROLE_LABEL[signed.role] || signed.role).toLowerCase()}: this screen is for managers.`;
    }
    token = String(signed.token);
    session.set(TOKEN_KEY, token);
    me = { kind: "staff", id: signed.staff, name: signed.name, role: signed.role, device, expires_at: signed.expires_at };
    await enter();
    return null;
  },
});

signOutButton({ request: api, onSignedOut: (message) => signedOut(message, "info") });

// -- the clinic: live feed, measures, lateness ------------------------------------------------------------

let latenessTimer = null;
let learnedTimer = null;
const LEARNED_RETRY_MS = 5000; // while the day's learning is still under way
let latenessFetchedAt = 0;
let latenessInFlight = false;

async function enter() {
  showSignedIn();
  let clinics;
  try {
    clinics = await api("GET", "/api/clinics");
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) show($("notice"), `Could not list clinics: ${err.message}`, "error");
    return;
  }
  if (!Array.isArray(clinics) || clinics.length === 0) {
    show($("notice"), "None of your clinics runs on this server: ask a manager which clinics you work in.", "error");
    return;
  }
  const wanted = local.get(CLINIC_KEY);
  const chosen = clinics.some((c) => c.id === wanted) ? wanted : clinics[0].id;
  $("clinic").replaceChildren(...clinics.map((c) => {
    const o = el("option", "", c.name);
    o.value = c.id;
    return o;
  }));
  $("clinic").value = chosen;
  $("clinic-field").hidden = clinics.length < 2;
  startClinic(chosen);
}

$("clinic").addEventListener("change", () => {
  local.set(CLINIC_KEY, $("clinic").value);
  startClinic($("clinic").value);
});

function stopClinic() {
  if (feed) feed.close();
  feed = null;
  clearInterval(latenessTimer);
  latenessTimer = null;
  clearTimeout(learnedTimer);
  learnedTimer = null;
}

function startClinic(clinic) {
  stopClinic();
  resetState(clinic);
  clearScreens();
  $("timeline").append(el("p", "hint", "Loading the floor…"));
  feed = openFeed({
    clinic,
    token: () => token,
    onMessage,
    onStatus: setConn,
    onEnded: (code, reason) => {
      if (code === CLOSE.FORBIDDEN) {
        setConn("offline", "Not allowed");
        show($("notice"), reason || "This sign-in may not watch this clinic.", "error");
      } else {
        signedOut(`Your sign-in has ended${reason ? ` (${reason})` : ""}. Sign in again.`);
      }
    },
  });
  loadMeasures();
  loadLateness();
  loadLearned();
  managerTools.start();
  latenessTimer = setInterval(() => loadLateness(), LATENESS_REFRESH_MS);
}

// -- what Floor has learned from past days --------------------------------------------------------------------

async function loadLearned() {
  const clinic = state.clinic;
  clearTimeout(learnedTimer);
  learnedTimer = null;
  try {
    const answer = await api("GET", clinicPath("/learned"));
    if (state.clinic !== clinic || !answer) return;
    renderLearned(answer);
    if (!answer.learned) learnedTimer = setTimeout(loadLearned, LEARNED_RETRY_MS);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      $("learned-summary").textContent = `Could not load what Floor has learned: ${err.message}`;
    }
  }
}

function stageCell(s) {
  const td = el("td", "");
  td.dataset.stage = s.stage;
  if (!s.visits) {
    td.append(`${minutesText(s.expected, { decimals: true })}`, el("span", "learned-note", " clinic file"));
    return td;
  }
  td.append(`${minutesText(s.expected, { decimals: true })}`,
    el("span", "learned-note", ` file ${minutesText(s.configured)} · median ${minutesText(s.median, { decimals: true })} · ${plural(s.visits, "visit")}`));
  return td;
}

function renderLearned(answer) {
  const summary = !answer.learned ? "Learning from past days…"
    : answer.days ? `From ${plural(answer.days, "past day")} (${answer.first_day} to ${answer.last_day}; at most ${answer.max_days}), each stage drawn toward the clinic file with ${answer.prior_visits} visits' weight`
    : "No past days yet: Floor expects the clinic file's minutes.";
  $("learned-summary").textContent = summary;
  const stageRows = [];
  const patientRows = [];
  for (const p of answer.providers) {
    for (const t of p.visit_types) {
      const tr = el("tr");
      tr.dataset.provider = p.provider;
      tr.dataset.visitType = t.visit_type;
      const th = el("th", "", p.name);
      th.scope = "row";
      tr.append(th, el("td", "", t.label), ...t.stages.map(stageCell));
      stageRows.push(tr);
    }
    const tr = el("tr");
    tr.dataset.provider = p.provider;
    const th = el("th", "", p.name);
    th.scope = "row";
    const early = p.arrival_late_median;
    tr.append(th,
      el("td", "", String(p.booked)),
      el("td", "", p.booked ? `${p.no_shows} of ${p.booked} · expects ${percent(p.no_show_share)}` : "—"),
      el("td", "", early === null ? "—" : early > 0 ? `${minutesText(early)} late` : early < 0 ? `${minutesText(-early)} early` : "on time"),
      el("td", "", p.arrival_to_provider === null ? "—"
        : `${minutesText(p.arrival_to_provider)} (${plural(p.arrival_to_provider_visits, "visit")})`));
    patientRows.push(tr);
  }
  $("learned-stages").tBodies[0].replaceChildren(...stageRows);
  $("learned-patients").tBodies[0].replaceChildren(...patientRows);
}

async function loadMeasures() {
  const clinic = state.clinic;
  try {
    const measures = await api("GET", clinicPath("/measures"));
    if (state.clinic !== clinic || !measures) return;
    // The live feed's measures (every tick) win over an answer that crossed one of them.
    if (!state.measures || parseTime(measures.at) >= parseTime(state.measures.at)) {
      observeNow(measures.at);
      state.measures = measures;
      scheduleRender("measures");
    }
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401) && !state.measures) {
      $("measures").replaceChildren(el("p", "hint", `Could not load the measures: ${err.message}`));
    }
  }
}

async function loadLateness() {
  if (!state.clinic || latenessInFlight) return;
  const clinic = state.clinic;
  latenessInFlight = true;
  latenessFetchedAt = performance.now();
  try {
    const answer = await api("GET", clinicPath(`/lateness?every=${LATENESS_EVERY}`));
    if (state.clinic !== clinic) return;
    state.lateness = answer;
    scheduleRender("lateness");
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401) && !state.lateness) {
      $("lateness-chart").replaceChildren(el("p", "hint", `Could not load the lateness: ${err.message}`));
    }
  } finally {
    latenessInFlight = false;
  }
}

function applyBoard(b) {
  const newDay = state.day !== null && state.day !== b.day;
  Object.assign(state, {
    name: String(b.name || ""),
    timezone: b.timezone,
    day: b.day,
    seq: b.seq,
    session: b.session,
    thresholds: b.thresholds || {},
    providers: b.providers || [],
    providerById: new Map((b.providers || []).map((p) => [p.id, p])),
    visitTypes: new Map((b.visit_types || []).map((t) => [t.code, t])),
    rooms: new Map((b.rooms || []).map((r) => [r.id, r])),
    visits: new Map((b.visits || []).map((v) => [v.id, v])),
    alerts: new Map((b.alerts || []).map((a) => [a.id, a])),
    delays: new Map((b.delays || []).map((d) => [d.provider, d])),
    plans: new Map((b.plans || []).map((p) => [p.visit, p])),
    heartbeatAhead: 0,
  });
  formats.clear();
  observeNow(b.now, { fresh: false });
  $("clinic-name").textContent = state.name;
  if (newDay) {
    state.measures = null;
    state.lateness = null;
    loadMeasures();
    loadLateness();
    loadLearned(); // a new day learns from the day that just ended
  }
  scheduleRender("timeline", "alerts", "lateness", "measures");
}

function onMessage(m) {
  switch (m.kind) {
    case "snapshot":
      applyBoard(m.board);
      break;
    case "event": {
      if (state.seq === null || m.seq <= state.seq) return;
      if (m.seq !== state.seq + 1) {
        feed.restart(); // a gap: start over from a snapshot
        return;
      }
      state.seq = m.seq;
      // A live event was stored a moment ago: its time tells the clock's pace before the next heartbeat.
      if (parseTime(m.event?.at) > clock.server) observeNow(m.event.at);
      if (m.visit) state.visits.set(m.visit.id, m.visit);
      if (m.plan) state.plans.set(m.plan.visit, m.plan);
      for (const r of m.rooms || []) state.rooms.set(r.id, r);
      if (m.alert) state.alerts.set(m.alert.id, m.alert);
      scheduleRender(m.alert ? "alerts" : "timeline");
      if (m.visit) scheduleRender("timeline", "alerts"); // alerts name patients
      break;
    }
    case "heartbeat":
      observeNow(m.now);
      if (state.seq !== null && m.seq !== state.seq) {
        // Behind the server twice in a row (not just an event on its way): start over from a snapshot.
        state.heartbeatAhead += 1;
        if (m.seq < state.seq || state.heartbeatAhead >= 2) feed.restart();
      } else {
        state.heartbeatAhead = 0;
      }
      scheduleRender("clock");
      break;
    case "measures":
      if (!m.measures) return;
      observeNow(m.measures.at);
      state.measures = m.measures;
      state.delays = new Map((m.delays || []).map((d) => [d.provider, d]));
      scheduleRender("measures", "timeline", "lateness");
      if (performance.now() - latenessFetchedAt >= LATENESS_MIN_GAP_MS) loadLateness();
      break;
    default:
      break;
  }
}

// -- rendering, batched to one frame ------------------------------------------------------------------

const dirty = new Set();
let frame = 0;

function scheduleRender(...parts) {
  for (const p of parts) dirty.add(p);
  if (!frame) frame = requestAnimationFrame(flush);
}

function flush() {
  frame = 0;
  if ($("app").hidden || state.seq === null) {
    if (dirty.has("measures") && state.measures && !$("app").hidden) renderMeasures();
    dirty.clear();
    return;
  }
  const parts = new Set(dirty);
  dirty.clear();
  try {
    if (parts.has("timeline")) {
      renderTimeline();
      managerTools.floorChanged();
    }
    if (parts.has("alerts")) renderAlerts();
    if (parts.has("measures")) renderMeasures();
    if (parts.has("lateness")) renderLateness();
    renderClock();
  } catch (err) {
    console.warn("Could not draw the screen", err);
  }
}

function renderClock() {
  if (!state.timezone) return;
  $("clock").hidden = false;
  $("clock").textContent = `${hm(serverNow())} clinic time`;
}

// The now-line (and visits in progress) move as the clock runs; redraw when the line has moved a pixel.
let lastNowX = null;
let pxPerMs = 0;
setInterval(() => {
  if ($("app").hidden || state.seq === null) return;
  renderClock();
  if (lastNowX === null || Math.abs((serverNow() - lastNowX) * pxPerMs) >= 2) scheduleRender("timeline");
}, 1000);

let lastWidths = [0, 0];
new ResizeObserver(() => {
  const widths = [$("timeline").clientWidth, $("lateness-chart").clientWidth];
  if (widths[0] !== lastWidths[0] || widths[1] !== lastWidths[1]) {
    lastWidths = widths;
    scheduleRender("timeline", "lateness");
  }
}).observe($("main"));

// -- the timeline -----------------------------------------------------------------------------------------

const GUTTER = 178; // provider names, left of the lanes (the lateness chart uses the same, so times line up)
const RIGHT = 18;
const AXIS = 26;
const PLAN_ROW = 20;
const ROW = 16;
const BAR = 11;
const LANE_PAD = 7;

/** The time range drawn: the session, widened to take in anything outside it. */
function timeDomain(extra = []) {
  let t0 = clinicTime(state.day, state.session?.opens || "08:00");
  let t1 = clinicTime(state.day, state.session?.closes || "17:00");
  if (!Number.isFinite(t0) || !Number.isFinite(t1) || t1 <= t0) {
    const now = serverNow();
    t0 = now - 4 * 3600e3;
    t1 = now + 4 * 3600e3;
  }
  const half = 30 * 60e3;
  // Half an hour either side of the session, so the scale does not shift as the day goes on.
  const lo = Math.min(t0 - half, ...extra.filter(Number.isFinite));
  const hi = Math.max(t1 + half, ...extra.filter(Number.isFinite));
  // At most three hours either side, on the half hour.
  return [Math.floor(Math.max(lo, t0 - 3 * 3600e3) / half) * half, Math.ceil(Math.min(hi, t1 + 3 * 3600e3) / half) * half];
}

function slotOf(v) {
  const start = parseTime(v.start);
  const type = state.visitTypes.get(v.visit_type);
  return [start, start + (type ? type.slot_minutes : 20) * 60e3];
}

/** The stage segments a visit has been through: [{stage, start, end, open}] ("open": still in it). */
function segmentsOf(v, now) {
  const times = v.times || {};
  const marks = Object.entries(times)
    .filter(([stage]) => stage !== "scheduled")
    .map(([stage, iso]) => [stage, parseTime(iso)])
    .filter(([, t]) => Number.isFinite(t))
    .sort((a, b) => a[1] - b[1]);
  const segments = [];
  marks.forEach(([stage, start], i) => {
    if (!PATH.includes(stage)) return;
    const next = marks[i + 1];
    const open = !next && !ENDS.has(v.stage);
    const end = next ? next[1] : open ? Math.max(start, now) : start;
    if (end > start || open) segments.push({ stage, start, end, open });
  });
  return segments;
}

function laneItems(provider, now) {
  const visits = [...state.visits.values()].filter((v) => v.provider === provider.id);
  const delay = state.delays.get(provider.id);
  // A projection from the last tick is dropped once its visit has moved on (provider in, or ended).
  const projections = new Map((delay?.visits || [])
    .filter((p) => WAITING.has(state.visits.get(p.visit)?.stage))
    .map((p) => [p.visit, p]));
  const items = [];
  for (const v of visits) {
    const segments = segmentsOf(v, now);
    const p = projections.get(v.id);
    const projected = p ? { start: parseTime(p.provider_in), end: parseTime(p.provider_out || p.provider_in), planned: parseTime(p.planned_provider_in), lateness: p.lateness, waitsForProvider: p.waits_for_provider } : null;
    if (projected && !(projected.end > projected.start)) projected.end = projected.start + 60e3;
    const starts = [...segments.map((s) => s.start), projected?.start].filter(Number.isFinite);
    const ends = [...segments.map((s) => s.end), projected?.end].filter(Number.isFinite);
    const endMark = ENDS.has(v.stage) ? parseTime(v.times?.[v.stage]) : NaN;
    items.push({
      visit: v,
      slot: v.walk_in ? null : slotOf(v),
      segments,
      projected,
      endMark,
      span: starts.length ? [Math.min(...starts), Math.max(...ends, Number.isFinite(endMark) ? endMark : -Infinity)] : null,
    });
  }
  // Pack the bars into rows, earliest first, so overlapping visits sit one above the other.
  const rows = [];
  for (const item of items.filter((i) => i.span).sort((a, b) => a.span[0] - b.span[0])) {
    let row = rows.findIndex((end) => end <= item.span[0] - 60e3);
    if (row === -1) {
      row = rows.length;
      rows.push(0);
    }
    rows[row] = item.span[1];
    item.row = row;
  }
  return { items, rows: Math.max(2, rows.length), delay };
}

function visitTitle(v) {
  const type = state.visitTypes.get(v.visit_type)?.label || v.visit_type;
  const start = v.walk_in ? `walk-in ${hm(parseTime(v.times?.arrived || v.start))}` : hm(parseTime(v.start));
  return `${v.patient_name} · ${type} · ${start} · ${STAGE_STATE[v.stage] || v.stage}`;
}

/** Text cut to about `width` pixels at `perChar` pixels a character. */
function fitText(text, width, perChar) {
  const fit = Math.floor(width / perChar);
  return text.length <= fit ? text : `${text.slice(0, Math.max(1, fit - 1))}…`;
}

function lateText(lateness) {
  const n = Math.round(Number(lateness) || 0);
  return n <= 0 ? "On time" : `${n} min late`;
}

/** A provider's delay (the server's `lateness`, the core's provider_delay) as the timeline label and the
 * lateness tile both say it: {lateness, level, text}. */
function laneLate(delay) {
  const lateness = delay ? Number(delay.lateness) || 0 : 0;
  const level = lateness >= (state.thresholds.cascade_minutes || 10) ? "bad" : lateness >= 5 ? "warn" : "ok";
  return { lateness, level, text: Math.round(lateness) >= 1 ? `Projected ${lateText(lateness)}` : "On time" };
}

function renderTimeline() {
  const box = $("timeline");
  const now = serverNow();
  const lanes = state.providers.map((p) => ({ provider: p, ...laneItems(p, now) }));
  const extra = [];
  for (const lane of lanes) {
    for (const item of lane.items) {
      if (item.span) extra.push(item.span[0], item.span[1]);
      if (item.slot) extra.push(item.slot[0], item.slot[1]);
    }
  }
  const [t0, t1] = timeDomain([...extra, now]);
  const width = Math.max(720, box.clientWidth || 960);
  const plotW = width - GUTTER - RIGHT;
  const x = (t) => GUTTER + ((t - t0) / (t1 - t0)) * plotW;
  const clampX = (t) => Math.min(width - RIGHT, Math.max(GUTTER, x(t)));
  pxPerMs = plotW / (t1 - t0);
  lastNowX = now;

  let y = AXIS;
  const laneNodes = [];
  const summaries = [];
  let late = 0;
  lanes.forEach((lane, index) => {
    const { provider, items, rows, delay } = lane;
    const height = LANE_PAD * 2 + PLAN_ROW + rows * ROW;
    const g = svg("g", { class: `lane${index % 2 ? " odd" : ""}`, "data-provider": provider.id, transform: `translate(0 ${y})` });
    g.append(svg("rect", { class: "lane-bg", x: 0, y: 0, width, height }));
    const { lateness, level: lateLevel, text: lateLabel } = laneLate(delay);
    if (lateness > 0) late += 1;
    const recovery = lateness <= 0 || !delay ? "" : delay.recovers_at ? `back on time ${hm(parseTime(delay.recovers_at))}` : "not back on time today";
    const pace = delay && Number.isFinite(delay.pace) && Math.abs(delay.pace - 1) >= 0.1 ? `pace ${Math.round(delay.pace * 100)}% of plan` : "";
    g.append(
      svg("text", { class: "lane-name", x: 10, y: LANE_PAD + 13 }, fitText(provider.name + (delay?.away
        ? (delay.away === "running_late" ? " · running late" : " · away") : ""), GUTTER - 16, 7.4)),
      svg("text", { class: `lane-late ${lateLevel}`, x: 10, y: LANE_PAD + 30 }, lateLabel),
    );
    if (recovery) g.append(svg("text", { class: "lane-pace", x: 10, y: LANE_PAD + 43 }, recovery));
    if (pace) g.append(svg("text", { class: "lane-pace", x: 10, y: LANE_PAD + (recovery ? 56 : 43) }, pace));
    // Scheduled slots.
    const planY = LANE_PAD;
    for (const item of items) {
      if (!item.slot) continue;
      const v = item.visit;
      const sx = x(item.slot[0]);
      const sw = Math.max(2, x(item.slot[1]) - sx - 1);
      // "Due" by the clinic's plan from the server: once the patient should have been roomed (before the
      // booked time where booked times are the provider's).
      const plan = state.plans.get(v.id);
      const dueAt = plan ? parseTime(plan.roomed) : item.slot[0];
      const status = ENDS.has(v.stage) ? v.stage : v.stage === "scheduled" ? (dueAt <= now ? "due" : "scheduled") : "active";
      const planText = plan ? ` · patient due ${hm(parseTime(plan.roomed))}, provider due ${hm(parseTime(plan.provider_in))}` : "";
      const slot = svg("g", { class: `slot slot-${status}${selectedVisit === v.id ? " selected" : ""}`, "data-visit": v.id,
        "data-due": plan ? plan.roomed : null },
        svg("title", {}, `Scheduled ${hm(item.slot[0])}–${hm(item.slot[1])}${planText} · ${visitTitle(v)}`),
        svg("rect", { x: sx, y: planY, width: sw, height: PLAN_ROW - 4, rx: 2 }));
      const fit = Math.floor((sw - 6) / 6.3);
      if (fit >= 4) {
        const last = v.patient_name.trim().split(/\s+/).pop();
        const text = last.length <= fit ? last : `${last.slice(0, fit - 1)}…`;
        slot.append(svg("text", { class: "slot-text", x: sx + 3, y: planY + 12 }, text));
      }
      if (v.stage === "no_show" || v.stage === "cancelled") {
        slot.append(svg("line", { class: "slot-cross", x1: sx, y1: planY + PLAN_ROW - 4, x2: sx + sw, y2: planY }));
      }
      g.append(slot);
    }
    // What happened, and what is projected.
    for (const item of items) {
      if (item.row === undefined) continue;
      const v = item.visit;
      const rowY = LANE_PAD + PLAN_ROW + item.row * ROW + (ROW - BAR) / 2;
      const bar = svg("g", { class: `visit${selectedVisit === v.id ? " selected" : ""}`, "data-visit": v.id });
      for (const s of item.segments) {
        const sx = clampX(s.start);
        const w = Math.max(1.5, clampX(s.end) - sx);
        bar.append(svg("rect", { class: `seg st-${s.stage}${s.open ? " open" : ""}`, x: sx, y: rowY, width: w, height: BAR },
          svg("title", {}, `${v.patient_name} — ${SEGMENT_LABEL[s.stage]} ${hm(s.start)}–${s.open ? "now" : hm(s.end)} (${minutesText((s.end - s.start) / 60e3)})`)));
      }
      if (Number.isFinite(item.endMark) && v.stage !== "checked_out") {
        const ex = clampX(item.endMark);
        bar.append(svg("path", { class: "end-mark", d: `M${ex - 4} ${rowY - 1}L${ex + 4} ${rowY + BAR + 1}M${ex + 4} ${rowY - 1}L${ex - 4} ${rowY + BAR + 1}` },
          svg("title", {}, `${v.patient_name} — ${STAGE_STATE[v.stage]} ${hm(item.endMark)}`)));
      }
      const p = item.projected;
      if (p) {
        const px = clampX(p.start);
        const pw = Math.max(3, clampX(p.end) - px);
        const threshold = state.thresholds.cascade_minutes || 10;
        if (Number.isFinite(p.planned) && p.start - p.planned >= 60e3) {
          bar.append(svg("line", { class: "slip", x1: clampX(p.planned), x2: px, y1: rowY + BAR / 2, y2: rowY + BAR / 2 }),
            svg("line", { class: "slip-tick", x1: clampX(p.planned), x2: clampX(p.planned), y1: rowY, y2: rowY + BAR }));
        }
        bar.append(svg("rect", { class: `proj${p.lateness >= threshold ? " late" : ""}`, x: px, y: rowY, width: pw, height: BAR },
          svg("title", {}, `${v.patient_name} — projected with provider ${hm(p.start)}–${hm(p.end)}` +
            (p.lateness > 0 ? `, ${Math.round(p.lateness)} min late (planned ${hm(p.planned)})${p.waitsForProvider ? ", waiting on the provider" : ""}` : ", on time"))));
      }
      g.append(bar);
    }
    laneNodes.push(g);
    const mine = items.map((i) => i.visit);
    const done = mine.filter((v) => v.stage === "checked_out").length;
    const withProvider = mine.filter((v) => v.stage === "provider_in").length;
    const waiting = mine.filter((v) => ["arrived", "roomed", "prep_done"].includes(v.stage)).length;
    summaries.push(`${provider.name}: ${done} of ${plural(mine.length, "visit")} done, ${withProvider} with the provider, ${waiting} waiting, ${lateText(lateness).toLowerCase()}`);
    y += height;
  });
  const height = y + 4;

  // Axis and hour lines.
  const grid = svg("g", { class: "grid" });
  const hour = 3600e3;
  for (let t = Math.ceil(t0 / (hour / 2)) * (hour / 2); t <= t1; t += hour / 2) {
    const onHour = Math.abs(zoneOffset(state.timezone, t) + t) % hour < 1000;
    grid.append(svg("line", { class: onHour ? "hour" : "half", x1: x(t), x2: x(t), y1: AXIS - (onHour ? 6 : 3), y2: height }));
    // An hour's label gives way to the now-line's.
    if (onHour && !(now >= t0 && now <= t1 && Math.abs(x(t) - x(now)) < 66)) {
      grid.append(svg("text", { class: "axis-label", x: x(t), y: AXIS - 9, "text-anchor": "middle" }, hourLabel(t)));
    }
  }
  const opens = clinicTime(state.day, state.session?.opens);
  const closes = clinicTime(state.day, state.session?.closes);
  const shade = [];
  if (Number.isFinite(opens) && opens > t0) shade.push(svg("rect", { class: "closed", x: GUTTER, y: AXIS, width: x(opens) - GUTTER, height: height - AXIS }));
  if (Number.isFinite(closes) && closes < t1) shade.push(svg("rect", { class: "closed", x: x(closes), y: AXIS, width: width - RIGHT - x(closes), height: height - AXIS }));

  const nowVisible = now >= t0 && now <= t1;
  const nowX = clampX(now);
  const nowIso = new Date(now).toISOString();
  const nowLine = svg("g", { class: "now" },
    svg("rect", { class: "now-line", "data-now": nowIso, x: nowX - 1, y: AXIS - 4, width: 2, height: height - AXIS + 4, visibility: nowVisible ? null : "hidden" }),
    svg("text", { class: "now-label", x: nowX, y: AXIS - 9, "text-anchor": nowX > width - 60 ? "end" : "middle", visibility: nowVisible ? null : "hidden" }, `Now ${hm(now)}`));

  const label = `Provider timelines, ${hm(t0)} to ${hm(t1)}, now ${hm(now)}. ${summaries.join(". ")}.`;
  const chart = svg("svg", { role: "img", "aria-label": label, width, height, viewBox: `0 0 ${width} ${height}`, class: "timeline-svg" },
    svg("title", {}, "Provider timelines"),
    svg("defs", {},
      svg("pattern", { id: "mgr-hatch", patternUnits: "userSpaceOnUse", width: 6, height: 6, patternTransform: "rotate(45)" },
        svg("rect", { class: "hatch-bg", width: 6, height: 6 }),
        svg("line", { class: "hatch-line", x1: 0, y1: 0, x2: 0, y2: 6 }))),
    svg("rect", { class: "gutter-bg", x: 0, y: 0, width: GUTTER, height }),
    ...laneNodes, ...shade, grid, nowLine);
  box.replaceChildren(chart);

  const visits = [...state.visits.values()];
  const count = (pred) => visits.filter(pred).length;
  $("timeline-summary").textContent =
    `${plural(visits.length, "visit")} · ${count((v) => v.stage === "checked_out")} done · ` +
    `${count((v) => !ENDS.has(v.stage) && v.stage !== "scheduled")} in clinic · ` +
    `${late ? `${plural(late, "provider")} behind` : "everyone on time"}`;
  if (selectedVisit) renderVisitDetail();
}

// Details of a visit: point at it (the bars' titles) or tap it.
$("timeline").addEventListener("click", (e) => {
  const target = e.target.closest?.("[data-visit]");
  if (!target) return;
  selectedVisit = target.getAttribute("data-visit");
  renderVisitDetail();
  scheduleRender("timeline");
});

function renderVisitDetail() {
  const box = $("visit-detail");
  const v = state.visits.get(selectedVisit);
  if (!v) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const type = state.visitTypes.get(v.visit_type);
  const head = el("div", "detail-head");
  head.append(el("h3", "", v.patient_name));
  const close = el("button", "secondary small", "Close");
  close.type = "button";
  close.addEventListener("click", () => {
    selectedVisit = null;
    renderVisitDetail();
    scheduleRender("timeline");
    $("timeline-title").focus();
  });
  head.append(close);
  const facts = el("dl", "facts");
  const fact = (k, val) => {
    if (!val) return;
    facts.append(el("dt", "", k), el("dd", "", val));
  };
  fact("Provider", providerName(v.provider));
  fact("Visit", `${type?.label || v.visit_type}${v.walk_in ? " (walk-in)" : ""}`);
  if (!v.walk_in) {
    const [s, e] = slotOf(v);
    fact("Scheduled", `${hm(s)}–${hm(e)}`);
  }
  fact("Now", `${STAGE_STATE[v.stage] || v.stage}${v.room ? ` · ${state.rooms.get(v.room)?.label || v.room}` : ""}`);
  const steps = Object.entries(v.times || {})
    .filter(([stage]) => stage !== "scheduled")
    .sort((a, b) => parseTime(a[1]) - parseTime(b[1]))
    .map(([stage, iso]) => `${STAGE_STATE[stage] || stage} ${hm(parseTime(iso))}`);
  fact("Steps", steps.join(" → "));
  const p = (state.delays.get(v.provider)?.visits || []).find((q) => q.visit === v.id);
  if (p && WAITING.has(v.stage)) {
    fact("Projected", `provider in ${hm(parseTime(p.provider_in))}${p.provider_out ? `, out ${hm(parseTime(p.provider_out))}` : ""}` +
      (p.lateness > 0 ? ` · ${Math.round(p.lateness)} min late (planned ${hm(parseTime(p.planned_provider_in))})` : " · on time"));
  }
  if (v.without_teach_back) fact("Note", "Checked out without teach-back");
  box.replaceChildren(head, facts);
  box.hidden = false;
}

// -- alerts -------------------------------------------------------------------------------------------------

function alertHeadline(a) {
  const d = a.detail || {};
  if (a.kind === "cascade") {
    return `${providerName(a.provider)} running ${minutesText(d.lateness)} late`;
  }
  if (a.kind === "schedule") return "The schedule sent ahead for today was not booked";
  if (a.kind === "dwell") {
    const phrase = DWELL_PHRASE[a.stage] || `in ${STAGE_STATE[a.stage] || a.stage}`;
    return `${codedName(a.visit)} ${phrase} ${minutesText(d.minutes)}${d.limit ? ` (limit ${d.limit} min)` : ""}`;
  }
  return `${a.kind} alert`;
}

function alertBody(a) {
  const d = a.detail || {};
  const parts = [];
  if (a.kind === "cascade") {
    const affected = d.affected || [];
    if (affected.length) {
      const names = affected.slice(0, 4).map(codedName);
      parts.push(`${plural(affected.length, "visit")} projected late: ${names.join(", ")}${affected.length > 4 ? ` and ${affected.length - 4} more` : ""}.`);
    }
    parts.push(d.recovers_at ? `Back on time about ${hm(parseTime(d.recovers_at))}.` : "Not back on time this session.");
    if (d.cause_visit) {
      parts.push(`Cause: ${codedName(d.cause_visit)}, ${(STAGE_STATE[d.cause_stage] || d.cause_stage || "").toLowerCase()} ${minutesText(d.cause_minutes)} over.`);
    }
  } else if (a.kind === "schedule") {
    const problems = d.problems || [];
    parts.push(`None of it was booked: ${problems.slice(0, 3).join("; ")}${problems.length > 3 ? `; and ${problems.length - 3} more` : ""}.`);
    parts.push("Import a corrected file for today.");
  } else {
    const v = state.visits.get(a.visit);
    const room = v?.room ? state.rooms.get(v.room)?.label || v.room : "";
    parts.push(`${providerName(a.provider || v?.provider)}${room ? ` · ${room}` : ""}${v && a.stage !== v.stage ? ` · now ${(STAGE_STATE[v.stage] || v.stage).toLowerCase()}` : ""}`);
  }
  return parts.join(" ");
}

function alertSignature(a) {
  const ui = alertUi.get(a.id) || {};
  return JSON.stringify([a.version, a.cleared_at, a.acknowledged_by, a.updated_at, ui.pending, ui.error,
    a.kind === "cascade" ? (a.detail?.affected || []).map(codedName) : codedName(a.visit), staffNames.size]);
}

function alertNode(a) {
  const cleared = Boolean(a.cleared_at);
  const li = el("li", `alert alert-${a.kind}${cleared ? " cleared" : ""}${a.acknowledged_by ? " acknowledged" : ""}`);
  li.dataset.alert = a.id;
  li.dataset.state = cleared ? "cleared" : "active";
  const headId = `alert-head-${a.id}`;
  const head = el("p", "alert-head");
  head.id = headId;
  const badge = { cascade: "Running late", dwell: "Waiting too long", schedule: "Schedule" }[a.kind] || a.kind;
  head.append(el("span", "badge", badge),
    " ", el("strong", "", alertHeadline(a)));
  li.append(head);
  const body = alertBody(a);
  if (body) li.append(el("p", "alert-body", body));
  const meta = [`Raised ${hm(parseTime(a.raised_at))}`];
  if (a.updated_at && !cleared) meta.push(`updated ${hm(parseTime(a.updated_at))}`);
  if (cleared) meta.push(`cleared ${hm(parseTime(a.cleared_at))}`);
  li.append(el("p", "alert-meta", meta.join(" · ")));
  const ui = alertUi.get(a.id) || {};
  if (a.acknowledged_by) {
    const ack = el("p", "ack", `Acknowledged by ${staffName(a.acknowledged_by)}${a.acknowledged_at ? ` at ${hm(parseTime(a.acknowledged_at))}` : ""}`);
    ack.tabIndex = -1;
    li.append(ack);
  } else if (!cleared) {
    const button = el("button", "small", ui.pending ? "Acknowledging…" : "Acknowledge");
    button.type = "button";
    button.dataset.action = "acknowledge";
    button.setAttribute("aria-describedby", headId);
    button.disabled = Boolean(ui.pending);
    button.addEventListener("click", () => acknowledge(a.id));
    li.append(button);
  }
  if (ui.error) li.append(el("p", "alert-error", ui.error));
  li.dataset.signature = alertSignature(a);
  return li;
}

function alertOrder(a) {
  // Active and not acknowledged first, then active; newest first within each. Cleared ones are folded away.
  const group = a.cleared_at ? 2 : a.acknowledged_by ? 1 : 0;
  return [group, -parseTime(a.updated_at || a.raised_at)];
}

/** Keep a list's items in the given order, rebuilding only the alerts that changed. */
function syncAlertList(list, alerts) {
  const existing = new Map([...list.children].map((li) => [li.dataset.alert, li]));
  alerts.forEach((a, i) => {
    let node = existing.get(a.id);
    if (!node || node.dataset.signature !== alertSignature(a)) {
      const fresh = alertNode(a);
      const hadFocus = node && node.contains(document.activeElement);
      if (node) node.replaceWith(fresh);
      node = fresh;
      if (hadFocus) (node.querySelector(".ack") || node.querySelector("button") || node).focus?.();
    }
    existing.delete(a.id);
    if (list.children[i] !== node) list.insertBefore(node, list.children[i] || null);
  });
  for (const stale of existing.values()) stale.remove();
}

function renderAlerts() {
  const all = [...state.alerts.values()].sort((a, b) => {
    const [ga, ta] = alertOrder(a);
    const [gb, tb] = alertOrder(b);
    return ga - gb || ta - tb;
  });
  const active = all.filter((a) => !a.cleared_at);
  const cleared = all.filter((a) => a.cleared_at);
  // A node moving between the lists is rebuilt (a cleared alert has no Acknowledge button).
  syncAlertList($("alerts"), active);
  syncAlertList($("alerts-cleared-list"), cleared);
  const unacknowledged = active.filter((a) => !a.acknowledged_by).length;
  $("alerts-count").textContent = active.length ? `(${active.length} active${unacknowledged ? `, ${unacknowledged} to acknowledge` : ""})` : "";
  $("alerts-empty").hidden = active.length > 0;
  $("alerts-empty").textContent = all.length ? "No active alerts." : "No alerts today.";
  $("alerts-cleared").hidden = cleared.length === 0;
  $("alerts-cleared-title").textContent = `Cleared alerts (${cleared.length})`;
}

async function acknowledge(id) {
  const ui = { pending: true, error: "" };
  alertUi.set(id, ui);
  renderAlerts();
  const clinic = state.clinic;
  try {
    const answer = await tap(clinicPath(`/alerts/${encodeURIComponent(id)}/acknowledge`), undefined, {
      token,
      onWaiting: () => show($("alerts-message"), "Waiting for the network to acknowledge…", "info"),
    });
    $("alerts-message").hidden = true;
    alertUi.delete(id);
    if (state.clinic === clinic && answer?.alert) {
      const known = state.alerts.get(id);
      if (!known || (known.version || 0) <= answer.alert.version) state.alerts.set(id, answer.alert);
    }
  } catch (err) {
    $("alerts-message").hidden = true;
    if (err instanceof ApiError && err.status === 401) {
      signedOut(`${err.message} Sign in again.`);
      return;
    }
    alertUi.set(id, { pending: false, error: err.message || "Could not acknowledge." });
    if (err instanceof ApiError && err.status === 409) {
      // Someone else got there first: the message says who; fetch the alert as it is now.
      refreshAlerts();
    }
  }
  if (state.clinic === clinic) {
    renderAlerts();
    const node = $("alerts").querySelector(`[data-alert="${CSS.escape(id)}"]`);
    (node?.querySelector(".ack") || node?.querySelector("button"))?.focus();
  }
}

async function refreshAlerts() {
  try {
    const board = await api("GET", clinicPath("/board"));
    for (const a of board.alerts || []) {
      const known = state.alerts.get(a.id);
      if (!known || (known.version || 0) <= (a.version || 0)) state.alerts.set(a.id, a);
    }
    scheduleRender("alerts");
  } catch {
    /* the live feed brings it anyway */
  }
}

// -- measures -----------------------------------------------------------------------------------------------

const TILES = [
  { name: "visits", label: "Visits", kind: "counts" },
  { name: "arrival_to_provider", label: "Arrival to provider", kind: "durations", note: "from arriving to seeing the provider" },
  { name: "roomed_to_provider", label: "Wait in room", kind: "durations", note: "from roomed to the provider coming in" },
  { name: "cycle_time", label: "Cycle time", kind: "durations", note: "from arriving to checking out" },
  { name: "time_with_provider", label: "With provider", kind: "durations", note: "from provider in to teach-back (or checkout)" },
  { name: "on_time_starts", label: "On-time starts", kind: "share", note: "provider in within 5 min of plan" },
  { name: "teach_back_rate", label: "Teach-back rate", kind: "share", note: "checked out after teach-back" },
  { name: "no_show_rate", label: "No-show rate", kind: "share", note: "of scheduled visits due so far" },
  { name: "lateness", label: "Lateness by provider", kind: "lateness" },
];

function tile(spec, m) {
  const node = el("div", `tile tile-${spec.kind}`);
  node.dataset.measure = spec.name;
  node.append(el("h3", "tile-label", spec.label));
  if (spec.kind === "durations") {
    const d = m.clinic[spec.name] || {};
    const big = el("p", "tile-value");
    big.append(d.count ? minutesText(d.median) : "—", el("span", "unit", " median"));
    node.append(big, el("p", "tile-note", d.count ? `p90 ${minutesText(d.p90)} · ${plural(d.count, "visit")}` : "No visits measured yet"));
  } else if (spec.kind === "share") {
    const s = m.clinic[spec.name] || {};
    node.append(el("p", "tile-value", percent(s.rate)),
      el("p", "tile-note", s.count ? `${s.hits} of ${plural(s.count, "visit")}` : "No visits yet"));
  } else if (spec.kind === "lateness") {
    const list = el("ul", "late-list");
    for (const p of state.providers.length ? state.providers : Object.keys(m.providers).map((id) => ({ id, name: id }))) {
      const pm = m.providers[p.id];
      if (!pm) continue;
      const li = el("li", "");
      li.dataset.provider = p.id;
      // Now: the provider's delay from the server, the figure and words of the timeline's label (laneLate).
      const late = laneLate(state.delays.get(p.id));
      li.append(el("span", "late-name", p.name), el("span", `late-now ${late.level}`, late.text),
        el("span", "late-worst", `worst start ${minutesText(pm.worst_lateness)}`));
      list.append(li);
    }
    node.append(list, el("p", "tile-note", "Now: the provider's projected delay, as on the timeline (a patient who " +
      "came late does not count). Worst start: the latest start of a visit due so far today, measured."));
  } else if (spec.kind === "counts") {
    const c = m.clinic;
    node.append(el("p", "tile-value", `${c.seen} / ${c.booked}`), el("p", "tile-note",
      `seen of booked · ${c.checked_out} checked out · ${c.waiting} waiting · ${c.no_show} no-show${c.left_without_being_seen ? ` · ${c.left_without_being_seen} left unseen` : ""}`));
  }
  if (spec.note && spec.kind !== "lateness") node.title = spec.note;
  return node;
}

function renderMeasures() {
  const m = state.measures;
  if (!m || !m.clinic) return;
  $("measures").replaceChildren(...TILES.map((spec) => tile(spec, m)));
  $("measures-at").textContent = `As of ${hm(parseTime(m.at))} · alerts raised today: ${m.clinic.alerts_raised}`;
  const rows = [];
  for (const p of state.providers.length ? state.providers : Object.keys(m.providers).map((id) => ({ id, name: id }))) {
    const pm = m.providers[p.id];
    if (!pm) continue;
    const tr = el("tr");
    tr.dataset.provider = p.id;
    const th = el("th", "", p.name);
    th.scope = "row";
    tr.append(th,
      el("td", "", `${pm.seen} / ${pm.booked}`),
      el("td", "", pm.arrival_to_provider.count ? minutesText(pm.arrival_to_provider.median) : "—"),
      el("td", "", pm.roomed_to_provider.count ? minutesText(pm.roomed_to_provider.median) : "—"),
      el("td", "", pm.cycle_time.count ? minutesText(pm.cycle_time.median) : "—"),
      el("td", "", percent(pm.on_time_starts.rate)),
      el("td", "", percent(pm.teach_back_rate.rate)),
      el("td", "", percent(pm.no_show_rate.rate)),
      el("td", "", `${minutesText(pm.current_lateness)} / ${minutesText(pm.worst_lateness)}`),
      el("td", "", String(pm.alerts_raised)));
    rows.push(tr);
  }
  $("provider-measures").tBodies[0].replaceChildren(...rows);
}

// -- lateness through the day -----------------------------------------------------------------------------------

function providerColour(index) {
  const palette = darkMode() ? PROVIDER_COLOURS_DARK : PROVIDER_COLOURS;
  return palette[index % palette.length];
}

function niceCeil(n) {
  for (const step of [10, 15, 20, 30, 45, 60, 90, 120, 180, 240]) if (n <= step) return step;
  return Math.ceil(n / 60) * 60;
}

function renderLateness() {
  const box = $("lateness-chart");
  const data = state.lateness;
  if (!data || !Array.isArray(data.points) || state.day === null) return;
  if (data.day !== state.day) return; // a new day began: its history is on its way
  const now = serverNow();
  const providers = state.providers;
  const points = data.points.map((p) => ({ at: parseTime(p.at), lateness: p.lateness || {} })).filter((p) => Number.isFinite(p.at));
  // The feed's current delays are the same projection now: the line runs up to the present.
  const last = points[points.length - 1];
  if (state.delays.size && (!last || now - last.at > 30e3)) {
    points.push({ at: now, lateness: Object.fromEntries([...state.delays.values()].map((d) => [d.provider, d.lateness])), live: true });
  }
  const [t0, t1] = timeDomain(points.map((p) => p.at));
  const width = Math.max(720, box.clientWidth || 960);
  const height = 240;
  const top = 16;
  const bottom = 28;
  const plotW = width - GUTTER - RIGHT;
  const plotH = height - top - bottom;
  const threshold = state.thresholds.cascade_minutes || 10;
  let max = threshold + 5;
  for (const p of points) for (const v of Object.values(p.lateness)) max = Math.max(max, Number(v) || 0);
  const yMax = niceCeil(max);
  const x = (t) => GUTTER + ((t - t0) / (t1 - t0)) * plotW;
  const y = (v) => top + plotH - (Math.max(0, v) / yMax) * plotH;

  const grid = svg("g", { class: "grid" });
  const yStep = yMax <= 20 ? 5 : yMax <= 60 ? 10 : yMax <= 120 ? 30 : 60;
  for (let v = 0; v <= yMax; v += yStep) {
    grid.append(svg("line", { class: v === 0 ? "base" : "half", x1: GUTTER, x2: width - RIGHT, y1: y(v), y2: y(v) }),
      svg("text", { class: "axis-label", x: GUTTER - 8, y: y(v) + 4, "text-anchor": "end" }, v === 0 ? "on time" : `${v} min`));
  }
  const hour = 3600e3;
  for (let t = Math.ceil(t0 / hour) * hour - hour; t <= t1; t += hour / 2) {
    if (t < t0) continue;
    const onHour = Math.abs(zoneOffset(state.timezone, t) + t) % hour < 1000;
    if (!onHour) continue;
    grid.append(svg("line", { class: "hour", x1: x(t), x2: x(t), y1: top, y2: top + plotH + 4 }),
      svg("text", { class: "axis-label", x: x(t), y: height - 8, "text-anchor": "middle" }, hourLabel(t)));
  }
  grid.append(svg("text", { class: "axis-title", x: 10, y: top + 4 }, "Minutes behind"));

  const thresholdLine = svg("g", { class: "threshold" },
    svg("line", { x1: GUTTER, x2: width - RIGHT, y1: y(threshold), y2: y(threshold) }),
    svg("text", { class: "threshold-label", x: width - RIGHT - 4, y: y(threshold) - 5, "text-anchor": "end" }, `alert level ${threshold} min`));

  const lines = svg("g", { class: "lines" });
  const summaries = [];
  const legend = [];
  providers.forEach((p, i) => {
    const colour = providerColour(i);
    const series = points.filter((pt) => pt.lateness[p.id] !== undefined).map((pt) => [pt.at, Number(pt.lateness[p.id]) || 0]);
    const lastPoint = series[series.length - 1];
    // The line, and a ring where it ends (now): a day with no lateness is still a visible line.
    const [ex, ey] = lastPoint ? [x(lastPoint[0]), y(lastPoint[1])] : [x(Math.min(Math.max(now, t0), t1)), y(0)];
    const ring = `M${round(ex - 3.5)} ${round(ey)}a3.5 3.5 0 1 0 7 0a3.5 3.5 0 1 0 -7 0`;
    const d = polyline(series.map(([t, v]) => [x(t), y(v)]));
    lines.append(svg("path", { "data-provider": p.id, class: "series", d: `${d}${ring}`, stroke: colour, fill: "none" },
      svg("title", {}, p.name)));
    const peak = series.reduce((best, pt) => (pt[1] > best[1] ? pt : best), [NaN, 0]);
    const current = lastPoint ? lastPoint[1] : 0;
    summaries.push(`${p.name} ${current > 0 ? `${Math.round(current)} min late now` : "on time now"}` +
      (peak[1] > 0 ? `, at most ${Math.round(peak[1])} min at ${hm(peak[0])}` : ""));
    const li = el("li", "");
    li.dataset.provider = p.id;
    const swatch = el("span", "swatch line");
    swatch.style.background = colour;
    swatch.setAttribute("aria-hidden", "true");
    li.append(swatch, `${p.name}: ${current > 0 ? `${Math.round(current)} min late` : "on time"}` + (peak[1] > 0 ? ` (worst ${Math.round(peak[1])})` : ""));
    legend.push(li);
  });

  const nowX = Math.min(width - RIGHT, Math.max(GUTTER, x(now)));
  const nowLine = svg("line", { class: "now-line", x1: nowX, x2: nowX, y1: top, y2: top + plotH });
  const label = `Projected lateness by provider from ${hm(t0)}, every ${data.every_minutes} minutes, up to ${hm(now)}: ${summaries.join("; ")}.`;
  box.replaceChildren(svg("svg", { role: "img", "aria-label": label, width, height, viewBox: `0 0 ${width} ${height}`, class: "lateness-svg" },
    svg("title", {}, "Lateness through the day"),
    svg("rect", { class: "gutter-bg", x: 0, y: 0, width: GUTTER, height }),
    grid, thresholdLine, nowLine, lines));
  $("lateness-legend").replaceChildren(...legend);
  const worst = Math.max(0, ...points.flatMap((p) => Object.values(p.lateness).map(Number).filter(Number.isFinite)));
  $("lateness-summary").textContent = worst > 0 ? `Worst today ${Math.round(worst)} min` : "No one has run late today";

  // The same figures as a table.
  const table = $("lateness-table");
  const headRow = el("tr");
  const corner = el("th", "", "Time");
  corner.scope = "col";
  headRow.append(corner, ...providers.map((p) => {
    const th = el("th", "", p.name);
    th.scope = "col";
    return th;
  }));
  table.tHead.replaceChildren(headRow);
  table.tBodies[0].replaceChildren(...points.map((pt) => {
    const tr = el("tr");
    const th = el("th", "", `${hm(pt.at)}${pt.live ? " (now)" : ""}`);
    th.scope = "row";
    tr.append(th, ...providers.map((p) => el("td", "", pt.lateness[p.id] === undefined ? "—" : `${Math.round(pt.lateness[p.id])}`)));
    return tr;
  }));
}

if (window.matchMedia) {
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener?.("change", () => scheduleRender("lateness"));
}

// -- start ------------------------------------------------------------------------------------------------

async function boot() {
  await use(FALLBACK); // this screen is in English; the shared parts (sign-in, labels) read en.json
  if (!token) {
    setConn("offline", "Not signed in");
    showSignIn("");
    return;
  }
  let who;
  try {
    who = await call("GET", "/api/me", { token });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      signedOut("Your sign-in has ended. Sign in again.");
      return;
    }
    show($("notice"), `${err instanceof ApiError ? err.message : "Cannot reach the server."} Reload the page to try again.`, "error");
    return;
  }
  if (who.kind !== "staff" || who.role !== "manager") {
    // Someone else's sign-in on this tab (the tablet's): leave it be, and offer a manager's sign-in.
    token = null;
    setConn("offline", "Not signed in");
    showSignIn(`${who.name || who.id} is signed in on this tab as ${(ROLE_LABEL[who.role] || who.kind).toLowerCase()}. ` +
      "This screen is for managers: sign in as a manager to use it.", "info");
    return;
  }
  me = who;
  await enter();
}

boot();
