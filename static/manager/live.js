// The manager's screen, live: the clinic's feed (snapshot, events, heartbeats, measures) kept in the floor's
// state, what is not on the feed (measures, the lateness history, what Floor has learned) fetched beside it,
// and the screen's parts redrawn, batched to one frame.

import { ApiError } from "../lib/api.js";
import { openFeed, CLOSE } from "../lib/feed.js";
import { parseTime, show } from "../lib/page.js";
import { $, el } from "../lib/dom.js";
import { alertUi, renderAlerts } from "./alerts.js";
import { clinicPath, clock, formats, hm, observeNow, page, serverNow, state } from "./floor.js";
import { renderLateness } from "./lateness.js";
import { renderLearned, renderMeasures } from "./measures.js";
import { api, clearScreens, managerTools, setConn, signedOut } from "./session.js";
import { renderTimeline, unselectVisit } from "./timeline.js";

const LATENESS_EVERY = 10; // minutes between the lateness chart's points
const LATENESS_REFRESH_MS = 60000; // fetch the chart's history at least this often
const LATENESS_MIN_GAP_MS = 15000; // and at most this often (measures messages come every tick)

export function resetState(clinic) {
  Object.assign(state, {
    clinic, name: "", timezone: undefined, day: null, seq: null, session: null, thresholds: {},
    providers: [], providerById: new Map(), visitTypes: new Map(), rooms: new Map(), visits: new Map(),
    alerts: new Map(), delays: new Map(), plans: new Map(), measures: null, lateness: null, heartbeatAhead: 0,
  });
  alertUi.clear();
  unselectVisit();
}

// -- the clinic: live feed, measures, lateness ------------------------------------------------------------

let feed = null;

let latenessTimer = null;
let learnedTimer = null;
const LEARNED_RETRY_MS = 5000; // while the day's learning is still under way
const LEARNED_REFRESH_MS = 60000; // then: what the day itself says (visits tapped only as they ended) moves with it
let latenessFetchedAt = 0;
let latenessInFlight = false;

export function stopClinic() {
  if (feed) feed.close();
  feed = null;
  clearInterval(latenessTimer);
  latenessTimer = null;
  clearTimeout(learnedTimer);
  learnedTimer = null;
}

export function startClinic(clinic) {
  stopClinic();
  resetState(clinic);
  clearScreens();
  $("timeline").append(el("p", "hint", "Loading the floor…"));
  feed = openFeed({
    clinic,
    token: () => page.token,
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

async function loadLearned() {
  const clinic = state.clinic;
  clearTimeout(learnedTimer);
  learnedTimer = null;
  try {
    const answer = await api("GET", clinicPath("/learned"));
    if (state.clinic !== clinic || !answer) return;
    renderLearned(answer);
    learnedTimer = setTimeout(loadLearned, answer.learned ? LEARNED_REFRESH_MS : LEARNED_RETRY_MS);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      $("learned-summary").textContent = `Could not load what Floor has learned: ${err.message}`;
      if (state.clinic === clinic) learnedTimer = setTimeout(loadLearned, LEARNED_REFRESH_MS);
    }
  }
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
    setupVersion: b.setup_version ?? 0,
    fileRooms: b.file_rooms ?? null,
    fileProviders: b.file_providers ?? null,
    fileVisitTypes: b.file_visit_types ?? null,
    fileThresholds: b.file_thresholds ?? null,
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
      if (m.presence && state.delays.has(m.presence.provider)) {
        // "Stepped away", "running late", "back": on the provider's lane at once, not at the next tick (a review).
        const delay = state.delays.get(m.presence.provider);
        state.delays.set(m.presence.provider, { ...delay, away: m.presence.status === "back" ? null : m.presence.status });
        scheduleRender("timeline");
      }
      // An alert raised or cleared turns a provider's lateness red or back (laneLate): the timeline and tile too.
      scheduleRender(...(m.alert ? ["alerts", "timeline", "measures"] : ["timeline"]));
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
      scheduleRender("measures", "timeline", "lateness", "alerts"); // a cascade's minutes are the provider's delay
      if (performance.now() - latenessFetchedAt >= LATENESS_MIN_GAP_MS) loadLateness();
      break;
    default:
      break;
  }
}

// -- rendering, batched to one frame ------------------------------------------------------------------

const dirty = new Set();
let frame = 0;

export function scheduleRender(...parts) {
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

export function renderClock() {
  if (!state.timezone) return;
  $("clock").hidden = false;
  $("clock").textContent = `${hm(serverNow())} clinic time`;
}

let lastWidths = [0, 0];
new ResizeObserver(() => {
  const widths = [$("timeline").clientWidth, $("lateness-chart").clientWidth];
  if (widths[0] !== lastWidths[0] || widths[1] !== lastWidths[1]) {
    lastWidths = widths;
    scheduleRender("timeline", "lateness");
  }
}).observe($("main"));
