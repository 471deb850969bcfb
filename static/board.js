// Floor wall display: a hallway screen. It pairs itself with a clinic (a manager enters the code it shows),
// then renders the hallway feed: rooms, stages, minutes, provider initials and visit tokens. That feed has
// no patient names, and this page never asks for anything that has them.
// The display token lives in localStorage and goes only into the socket's first message, never a URL.
// All feed text goes into the page through textContent, never innerHTML.

const STAGE_LABEL = {
  scheduled: "Scheduled",
  arrived: "Arrived",
  roomed: "Roomed",
  prep_done: "Prep done",
  provider_in: "With provider",
  teach_back_done: "Teach-back done",
  checked_out: "Checked out",
  no_show: "No show",
  cancelled: "Cancelled",
  left_without_being_seen: "Left unseen",
};

// What a visit in this stage is waiting for, and the clinic threshold that says how long is too long.
const DWELL = {
  arrived: { threshold: "waiting_to_be_roomed", note: "waiting to be roomed" },
  roomed: { threshold: "waiting_for_prep", note: "waiting for prep" },
  prep_done: { threshold: "waiting_for_provider", note: "waiting for provider" },
  provider_in: { threshold: null, note: "in this stage" },
  teach_back_done: { threshold: "waiting_for_checkout", note: "waiting for checkout" },
};

const ROOM_STATE_LABEL = { ready: "Ready", occupied: "Occupied", turnover: "Turnover", blocked: "Blocked" };

// Columns of the provider strip.
const PROVIDER_COLUMNS = [
  ["scheduled", "Booked"],
  ["arrived", "Waiting"],
  ["roomed", "Roomed"],
  ["prep_done", "Prep done"],
  ["provider_in", "With provider"],
  ["teach_back_done", "Teach-back"],
  ["checked_out", "Done"],
];

const LATE_MINUTES = 5; // a provider this far behind shows amber; past the cascade threshold, red

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 15000;
const FATAL_RETRY_MS = 60000; // unknown clinic: say so, and only try again slowly
const SILENCE_MS = 45000; // heartbeats come every ~15 s; this long without any message means a dead link
const AUTH_SETTLE_MS = 1500; // a socket still open this long after its auth message was accepted
const CLAIM_EVERY_MS = 2000; // how often a waiting display asks whether its code was entered

// Close codes of the live feed (floor/web/errors.py, floor/bootstrap.py).
const CLOSE_SIGNED_OUT = 1008; // the sign-in ended: signed out, expired or revoked
const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_FORBIDDEN = 4403; // a display of another clinic (or a page from another origin)
const CLOSE_UNKNOWN_CLINIC = 4404;
const CLOSE_BAD_PARAMETER = 4400;

const STORE = { token: "floor.display.token", clinic: "floor.display.clinic", zone: "floor.display.zone" };

const $ = (id) => document.getElementById(id);

const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

const setText = (node, text) => {
  if (node.textContent !== text) node.textContent = text;
};

const setClass = (node, className) => {
  if (node.className !== className) node.className = className;
};

/** Milliseconds since the epoch of an ISO 8601 instant (msgspec sends microseconds; trim to millis). */
function parseTime(iso) {
  if (typeof iso !== "string") return NaN;
  return Date.parse(iso.replace(/(\.\d{3})\d+/, "$1"));
}

function minutesText(ms) {
  const total = Math.max(0, Math.floor(ms / 60000));
  if (total < 60) return `${total} min`;
  const h = Math.floor(total / 60);
  const m = String(total % 60).padStart(2, "0");
  return `${h} h ${m} min`;
}

const titleCase = (s) => String(s).replace(/[_-]+/g, " ").replace(/\b\w/g, (c) => c.toUpperCase());

// -- the display's pairing, kept across reloads --------------------------------------------------

const stored = {
  get(key) {
    try {
      return localStorage.getItem(key);
    } catch {
      return null; // storage blocked: the display pairs again after each reload
    }
  },
  set(key, value) {
    try {
      if (value == null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch {
      /* see get */
    }
  },
};

const display = {
  token: stored.get(STORE.token),
  clinic: stored.get(STORE.clinic),
  zone: stored.get(STORE.zone) || null,
};

function keepDisplay(token, info) {
  display.token = String(token);
  display.clinic = String(info.clinic);
  display.zone = info.zone == null || info.zone === "" ? null : String(info.zone);
  stored.set(STORE.token, display.token);
  stored.set(STORE.clinic, display.clinic);
  stored.set(STORE.zone, display.zone);
}

function forgetDisplay() {
  display.token = display.clinic = display.zone = null;
  for (const key of Object.values(STORE)) stored.set(key, null);
}

// -- state ---------------------------------------------------------------------------------------

const state = {
  name: "",
  timezone: undefined,
  day: null,
  lastSeq: null, // seq of the last snapshot/update applied; null until the first snapshot
  offsetMs: 0, // server clock minus browser clock
  thresholds: {},
  rooms: new Map(), // id -> slim room (this display's zone only)
  visits: new Map(), // token -> slim visit (today's; replaced on every snapshot)
  delays: new Map(), // provider initials -> {lateness, recoversAt}
  alerts: new Map(), // id -> slim alert
};

function resetState() {
  Object.assign(state, {
    name: "",
    timezone: undefined,
    day: null,
    lastSeq: null,
    offsetMs: 0,
    thresholds: {},
    rooms: new Map(),
    visits: new Map(),
    delays: new Map(),
    alerts: new Map(),
  });
}

const serverNow = () => Date.now() + state.offsetMs;

function setServerTime(iso) {
  const t = parseTime(iso);
  if (Number.isFinite(t)) state.offsetMs = t - Date.now();
}

/** An update's time only moves the estimate forward: updates replayed after a reconnect are old. */
function nudgeServerTime(iso) {
  const t = parseTime(iso);
  if (Number.isFinite(t)) state.offsetMs = Math.max(state.offsetMs, t - Date.now());
}

function slimVisit(v) {
  return {
    token: String(v.token),
    provider: String(v.provider),
    stage: String(v.stage),
    room: v.room == null ? null : String(v.room),
    since: parseTime(v.since),
  };
}

function slimRoom(r) {
  return {
    id: String(r.id),
    label: String(r.label),
    zone: String(r.zone),
    state: String(r.state),
    visit: r.visit == null ? null : String(r.visit),
    since: r.since == null ? NaN : parseTime(r.since),
  };
}

function slimAlert(a) {
  return {
    id: String(a.id),
    kind: String(a.kind),
    active: Boolean(a.active),
    provider: a.provider == null ? null : String(a.provider),
    visit: a.visit == null ? null : String(a.visit),
  };
}

function setDelays(delays) {
  state.delays = new Map();
  for (const d of delays || []) {
    state.delays.set(String(d.provider), { lateness: Number(d.lateness) || 0, recoversAt: parseTime(d.recovers_at) });
  }
}

/** A zoned display shows only its zone's rooms; the waiting room and providers are the whole clinic's. */
const inZone = (room) => display.zone === null || room.zone === display.zone;

function applySnapshot(board) {
  state.name = String(board.name);
  state.timezone = board.timezone;
  state.day = board.day;
  state.thresholds = board.thresholds || {};
  state.rooms = new Map((board.rooms || []).map(slimRoom).filter(inZone).map((r) => [r.id, r]));
  state.visits = new Map((board.visits || []).map((v) => [String(v.token), slimVisit(v)]));
  state.alerts = new Map((board.alerts || []).map((a) => [String(a.id), slimAlert(a)]));
  setDelays(board.delays);
  setServerTime(board.now);
  setupClock();
  buildLayout();
}

function applyUpdate(msg) {
  if (msg.visit) {
    const v = slimVisit(msg.visit);
    state.visits.set(v.token, v);
  }
  for (const r of msg.rooms || []) {
    const room = slimRoom(r);
    if (inZone(room)) state.rooms.set(room.id, room);
  }
  if (msg.alert) {
    const a = slimAlert(msg.alert);
    state.alerts.set(a.id, a);
  }
  nudgeServerTime(msg.at);
}

/** Providers by initials: everyone with a delay figure (the whole clinic) and anyone with a visit today. */
function providerList() {
  const seen = new Set(state.delays.keys());
  for (const v of state.visits.values()) seen.add(v.provider);
  return [...seen];
}

// -- clock ---------------------------------------------------------------------------------------

let timeFormat;
let dateFormat;

function setupClock() {
  const make = (options) => {
    try {
      return new Intl.DateTimeFormat(undefined, { ...options, timeZone: state.timezone });
    } catch {
      return new Intl.DateTimeFormat(undefined, options); // unknown zone: browser time rather than nothing
    }
  };
  timeFormat = make({ hour: "numeric", minute: "2-digit" });
  dateFormat = make({ weekday: "short", month: "short", day: "numeric" });
}

function renderClock(now) {
  if (!timeFormat || layoutKey === "") {
    setText($("clock-time"), "--:--");
    setText($("clock-date"), "");
    return; // no board yet: no clinic time zone to show
  }
  const at = new Date(now);
  setText($("clock-time"), timeFormat.format(at));
  setText($("clock-date"), dateFormat.format(at));
}

// -- layout: room tiles, built once per snapshot and updated in place ----------------------------

let tiles = new Map(); // room id -> {root, label, who, token, provider, stage, dwell, mins, note}
let providerRows = new Map(); // initials -> {cells: Map(stage -> td), late: td}
let layoutKey = "";

function clearLayout() {
  layoutKey = "";
  tiles = new Map();
  providerRows = new Map();
  $("zones").replaceChildren();
  $("providers-head").replaceChildren();
  $("providers-body").replaceChildren();
  setText($("clinic-name"), "Floor");
  document.title = "Floor wall display";
  document.body.classList.add("no-board");
}

function buildLayout() {
  const rooms = [...state.rooms.values()];
  const providers = providerList();
  const key = JSON.stringify([rooms.map((r) => [r.id, r.label, r.zone]), providers, display.zone]);
  const title = display.zone === null ? state.name : `${state.name} · ${titleCase(display.zone)}`;
  document.title = `${title} · Floor`;
  document.body.classList.remove("no-board");
  setText($("clinic-name"), title);
  if (key === layoutKey) return; // same rooms and providers: keep the nodes
  layoutKey = key;

  const zones = new Map();
  for (const r of rooms) {
    if (!zones.has(r.zone)) zones.set(r.zone, []);
    zones.get(r.zone).push(r);
  }
  const sections = [];
  tiles = new Map();
  for (const [zone, zoneRooms] of zones) {
    const section = el("section", "zone");
    section.setAttribute("aria-label", `${titleCase(zone)} zone`);
    section.append(el("h2", "zone-name", titleCase(zone)));
    const grid = el("div", "tiles");
    for (const r of zoneRooms) {
      const t = {
        root: el("article", "tile"),
        label: el("span", "room-label"),
        who: el("div", "who"),
        token: el("span", "token"),
        provider: el("span", "provider"),
        stage: el("div", "stage"),
        dwell: el("div", "dwell"),
        mins: el("span", "mins"),
        note: el("span", "note"),
      };
      const head = el("div", "tile-head");
      head.append(t.label);
      t.who.append(t.token, t.provider);
      t.dwell.append(t.mins, t.note);
      t.root.append(head, t.who, t.stage, t.dwell);
      grid.append(t.root);
      tiles.set(r.id, t);
    }
    section.append(grid);
    sections.push(section);
  }
  if (sections.length === 0) {
    sections.push(el("p", "empty", display.zone === null ? "No rooms in this clinic." : `No rooms in zone ${display.zone}.`));
  }
  $("zones").replaceChildren(...sections);

  const cells = [el("th", "prov-name", "Provider")];
  for (const [stage, label] of PROVIDER_COLUMNS) {
    const th = el("th", `stage-col stage-${stage}`);
    th.append(el("span", "swatch"), el("span", "", label));
    th.scope = "col";
    cells.push(th);
  }
  const lateHead = el("th", "late-col", "Running");
  lateHead.scope = "col";
  cells.push(lateHead);
  $("providers-head").replaceChildren(...cells);
  const rows = [];
  providerRows = new Map();
  for (const initials of providers) {
    const tr = el("tr");
    const th = el("th", "prov-name", initials);
    th.scope = "row";
    tr.append(th);
    const rowCells = new Map();
    for (const [stage] of PROVIDER_COLUMNS) {
      const td = el("td", "count zero", "0");
      rowCells.set(stage, td);
      tr.append(td);
    }
    const late = { root: el("td", "late"), amount: el("span", "late-amount"), until: el("span", "late-until") };
    late.root.append(late.amount, late.until);
    tr.append(late.root);
    providerRows.set(initials, { cells: rowCells, late });
    rows.push(tr);
  }
  $("providers-body").replaceChildren(...rows);
}

// -- rendering: cheap enough to run every second over the whole board ----------------------------

function activeAlerts() {
  const visits = new Set();
  const providers = new Set();
  for (const a of state.alerts.values()) {
    if (!a.active) continue;
    if (a.kind === "dwell" && a.visit) visits.add(a.visit);
    if (a.kind === "cascade" && a.provider) providers.add(a.provider);
  }
  return { visits, providers };
}

function renderTile(t, room, now, alerts) {
  setText(t.label, room.label);
  const visit = room.state === "occupied" && room.visit ? state.visits.get(room.visit) : undefined;
  let cls = `tile room-${room.state}`;
  if (room.state === "occupied") {
    const stage = visit ? visit.stage : "";
    cls += ` stage-${stage || "unknown"}`;
    setText(t.token, room.visit || "");
    setText(t.provider, visit ? visit.provider : "");
    setText(t.stage, visit ? STAGE_LABEL[stage] || titleCase(stage) : "Occupied");
    const dwell = DWELL[stage];
    const since = visit ? visit.since : NaN;
    if (Number.isFinite(since)) {
      const ms = now - since;
      const limit = dwell && dwell.threshold ? state.thresholds[dwell.threshold] : undefined;
      const over = (typeof limit === "number" && ms >= limit * 60000) || alerts.visits.has(room.visit);
      setText(t.mins, minutesText(ms));
      setText(t.note, over && typeof limit === "number" ? `over ${limit} min limit` : dwell ? dwell.note : "in stage");
      setClass(t.dwell, over ? "dwell over" : "dwell");
      if (over) cls += " over";
    } else {
      setText(t.mins, "");
      setText(t.note, "");
      setClass(t.dwell, "dwell");
    }
    t.who.hidden = false;
  } else {
    setText(t.token, "");
    setText(t.provider, "");
    t.who.hidden = true;
    setText(t.stage, ROOM_STATE_LABEL[room.state] || titleCase(room.state));
    setText(t.mins, Number.isFinite(room.since) ? minutesText(now - room.since) : "");
    setText(t.note, Number.isFinite(room.since) ? "in this state" : "");
    setClass(t.dwell, "dwell quiet");
  }
  setClass(t.root, cls);
}

function renderLateness(late, initials, alerts) {
  const d = state.delays.get(initials);
  const minutes = d ? Math.round(d.lateness) : 0;
  const cascade = Number(state.thresholds.cascade_minutes) || Infinity;
  if (minutes < 1) {
    setText(late.amount, d ? "On time" : "–");
    setText(late.until, "");
    setClass(late.root, "late on-time");
    return;
  }
  setText(late.amount, `+${minutes} min`);
  setText(late.until, Number.isFinite(d.recoversAt) && timeFormat ? `on time ${timeFormat.format(new Date(d.recoversAt))}` : "");
  const severe = minutes >= cascade || alerts.providers.has(initials);
  setClass(late.root, severe ? "late very-late" : minutes >= LATE_MINUTES ? "late running-late" : "late");
}

function renderWaiting(now, alerts) {
  let count = 0;
  let oldest;
  const counts = new Map();
  for (const v of state.visits.values()) {
    let row = counts.get(v.provider);
    if (!row) counts.set(v.provider, (row = {}));
    row[v.stage] = (row[v.stage] || 0) + 1;
    if (v.stage === "arrived") {
      count += 1;
      if (Number.isFinite(v.since) && (!oldest || v.since < oldest.since)) oldest = v;
    }
  }
  setText($("waiting-count"), String(count));
  const longest = $("waiting-longest");
  const who = $("waiting-who");
  const box = $("waiting");
  if (oldest) {
    const ms = now - oldest.since;
    const limit = state.thresholds.waiting_to_be_roomed;
    const over = (typeof limit === "number" && ms >= limit * 60000) || alerts.visits.has(oldest.token);
    setText(longest, minutesText(ms));
    setText(who, `${oldest.token} · ${oldest.provider}${over && typeof limit === "number" ? ` · over ${limit} min limit` : ""}`);
    setClass(box, over ? "waiting over" : "waiting");
  } else {
    setText(longest, "–");
    setText(who, count ? "" : "nobody waiting");
    setClass(box, "waiting");
  }
  for (const [initials, row] of providerRows) {
    const n = counts.get(initials) || {};
    for (const [stage, td] of row.cells) {
      const c = n[stage] || 0;
      setText(td, String(c));
      setClass(td, c ? `count stage-${stage}` : "count zero");
    }
    renderLateness(row.late, initials, alerts);
  }
}

function render() {
  renderQueued = false;
  const now = serverNow();
  renderClock(now);
  if (state.lastSeq === null || layoutKey === "") return;
  const key = JSON.stringify(providerList());
  if (key !== JSON.stringify([...providerRows.keys()])) buildLayout(); // a provider we had not seen
  const alerts = activeAlerts();
  for (const [id, t] of tiles) {
    const room = state.rooms.get(id);
    if (room) renderTile(t, room, now, alerts);
  }
  renderWaiting(now, alerts);
}

let renderQueued = false;
function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(render, 0); // a burst of catch-up updates renders once
}

// -- connection status ---------------------------------------------------------------------------

let conn = { mode: "connecting", text: "Starting" };
let feedStale = false; // the server cannot reach its log right now
let lastUpdateAt = null; // browser time of the last message, for the "out of date" banner

function setConn(mode, text) {
  conn = { mode, text };
  renderConn();
}

function renderConn() {
  setClass($("conn"), `conn conn-${conn.mode}`);
  let text = conn.text;
  if (retryAt !== null && conn.mode !== "live") {
    const secs = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    text += ` · retry in ${secs} s`;
  }
  setText($("conn-text"), text);
  setText($("conn-seq"), state.lastSeq === null ? "" : `seq ${state.lastSeq}`);
  const banner = $("banner");
  const hasBoard = layoutKey !== "";
  if (pairing.active || conn.mode === "live") {
    banner.hidden = true;
  } else if (hasBoard) {
    const asOf = lastUpdateAt && timeFormat ? timeFormat.format(new Date(lastUpdateAt + state.offsetMs)) : "";
    setText(banner, `Not live: this board may be out of date${asOf ? ` (last update ${asOf})` : ""}. ${conn.text}.`);
    banner.hidden = false;
  } else if (conn.mode === "offline") {
    setText(banner, `${conn.text}.`); // e.g. the server's reason for refusing: "no clinic 'x' on this server"
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
  document.body.classList.toggle("stale", conn.mode !== "live" && hasBoard);
  document.body.classList.toggle("offline", conn.mode === "offline");
}

// -- pairing: show a code until a manager enters it, then collect the token ----------------------

const pairing = {
  active: false,
  run: 0, // bumped on every start and stop, so a stale loop knows to quit
  code: null,
  claim: null,
  expiresAt: NaN,
  notice: "",
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(path, body) {
  const res = await fetch(path, {
    method: "POST",
    cache: "no-store",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await res.json();
  } catch {
    /* no body, or not JSON */
  }
  return { status: res.status, data, retryAfter: Number(res.headers.get("Retry-After")) || 0 };
}

function formatCode(code) {
  return code.length === 6 ? `${code.slice(0, 3)} ${code.slice(3)}` : code; // the server ignores the space
}

function renderPairing() {
  const p = pairing;
  $("pairing").hidden = !p.active;
  document.body.classList.toggle("is-pairing", p.active);
  if (!p.active) return;
  const notice = $("pairing-notice");
  notice.hidden = !p.notice;
  setText(notice, p.notice);
  setText($("pairing-code"), p.code ? formatCode(p.code) : "\u00a0");
  const code = $("pairing-code");
  if (p.code) code.setAttribute("aria-label", `Pairing code ${p.code.split("").join(" ")}`);
  else code.removeAttribute("aria-label");
  if (p.code && Number.isFinite(p.expiresAt)) {
    const left = Math.max(0, Math.ceil((p.expiresAt - Date.now()) / 1000));
    const mins = Math.floor(left / 60);
    const secs = String(left % 60).padStart(2, "0");
    setText($("pairing-status"), `Waiting for a manager · this code works for ${mins}:${secs} more`);
  }
}

function pairingStatus(text) {
  setText($("pairing-status"), text);
}

/** Go back to showing a code (no token, or the one we had stopped working). */
function startPairing(notice = "") {
  closeSocket();
  clearTimeout(retryTimer);
  retryAt = null;
  resetState();
  clearLayout();
  Object.assign(pairing, { active: true, run: pairing.run + 1, code: null, claim: null, expiresAt: NaN, notice });
  setConn("connecting", "Not paired yet");
  renderPairing();
  pairingStatus("Getting a code…");
  pairLoop(pairing.run);
}

async function pairLoop(run) {
  let backoff = BACKOFF_MIN_MS;
  const current = () => pairing.run === run;
  while (current()) {
    // 1. A fresh code to show.
    if (!pairing.claim) {
      let answer;
      try {
        answer = await post("/api/displays/pairings");
      } catch {
        answer = null;
      }
      if (!current()) return;
      if (!answer || answer.status !== 201 || !answer.data || !answer.data.code) {
        const wait = answer && answer.retryAfter ? answer.retryAfter * 1000 : backoff;
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
        const why = !answer ? "Cannot reach the server" : (answer.data && answer.data.message) || `The server answered ${answer.status}`;
        pairingStatus(`${why}. Trying again in ${Math.ceil(wait / 1000)} s…`);
        setConn("offline", "Cannot get a pairing code");
        await sleep(wait);
        continue;
      }
      backoff = BACKOFF_MIN_MS;
      pairing.code = String(answer.data.code);
      pairing.claim = String(answer.data.claim);
      // The server's clock decides; take the code's lifetime as the server saw it.
      pairing.expiresAt = parseTime(answer.data.expires_at);
      setConn("connecting", "Waiting for pairing");
      renderPairing();
    }
    // 2. Ask whether a manager entered it.
    await sleep(CLAIM_EVERY_MS);
    if (!current()) return;
    let answer;
    try {
      answer = await post("/api/displays/pairings/claim", { claim: pairing.claim });
    } catch {
      answer = null;
    }
    if (!current()) return;
    if (!answer) {
      pairingStatus("Cannot reach the server; still trying…");
      setConn("offline", "Offline");
      continue;
    }
    if (answer.status === 200 && answer.data && answer.data.token && answer.data.display) {
      keepDisplay(answer.data.token, answer.data.display);
      stopPairing();
      startLive();
      return;
    }
    if (answer.status === 202) {
      setConn("connecting", "Waiting for pairing");
      continue;
    }
    if (answer.status === 404) {
      // Expired or already used: a new code.
      pairing.claim = pairing.code = null;
      renderPairing();
      pairingStatus("That code expired. Getting a new one…");
      continue;
    }
    if (answer.status === 429) {
      await sleep((answer.retryAfter || 5) * 1000);
      continue;
    }
    // Anything else (400 for a malformed claim, 5xx): start over with a new code, slowly.
    pairing.claim = pairing.code = null;
    pairingStatus(`${(answer.data && answer.data.message) || `The server answered ${answer.status}`}. Getting a new code…`);
    await sleep(backoff);
    backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
  }
}

function stopPairing() {
  pairing.active = false;
  pairing.run += 1;
  pairing.code = pairing.claim = null;
  pairing.notice = "";
  renderPairing();
}

// -- the socket ----------------------------------------------------------------------------------

let socket = null;
let backoffMs = BACKOFF_MIN_MS;
let retryTimer = null;
let retryAt = null;
let lastMessageAt = 0;

function scheduleConnect(delayMs) {
  clearTimeout(retryTimer);
  retryAt = Date.now() + delayMs;
  retryTimer = setTimeout(() => {
    retryAt = null;
    if (display.token) connect();
  }, delayMs);
  renderConn();
}

function nextBackoff() {
  const delay = backoffMs;
  backoffMs = Math.min(BACKOFF_MAX_MS, backoffMs * 2);
  return delay * (0.8 + Math.random() * 0.4); // jitter, so a wall of screens does not reconnect in step
}

function closeSocket(why) {
  if (!socket) return;
  const s = socket;
  socket = null;
  try {
    s.close(1000, why ? String(why).slice(0, 100) : undefined);
  } catch {
    /* already closing */
  }
}

/** Drop the current socket (if any) and connect again after `delayMs`. */
function reconnect(delayMs, why) {
  closeSocket(why);
  setConn(navigator.onLine === false ? "offline" : "reconnecting", why || "Reconnecting");
  scheduleConnect(delayMs);
}

function liveUrl() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const since = state.lastSeq === null ? "" : `?since=${state.lastSeq}`;
  return `${proto}//${location.host}/api/clinics/${encodeURIComponent(display.clinic)}/live${since}`;
}

function startLive() {
  backoffMs = BACKOFF_MIN_MS;
  connect();
}

function connect() {
  if (!display.token || !display.clinic) {
    startPairing();
    return;
  }
  closeSocket();
  let s;
  try {
    s = new WebSocket(liveUrl());
  } catch {
    reconnect(nextBackoff(), "Cannot open the live feed");
    return;
  }
  socket = s;
  lastMessageAt = Date.now();
  setConn(state.lastSeq === null ? "connecting" : "reconnecting", "Connecting");
  s.onopen = () => {
    if (socket !== s) return;
    lastMessageAt = Date.now();
    // The token goes in the first message, never in the URL (URLs end up in logs).
    s.send(JSON.stringify({ type: "auth", token: display.token }));
    // Resuming with `since` at the server's seq sends nothing until the next update or heartbeat. A token
    // the server refuses closes the socket at once, so one still open a moment later is live.
    setTimeout(() => {
      if (socket === s && s.readyState === WebSocket.OPEN && state.lastSeq !== null && conn.mode !== "live") {
        backoffMs = BACKOFF_MIN_MS;
        setConn(feedStale ? "stale" : "live", feedStale ? "Delayed: server catching up" : "Live");
      }
    }, AUTH_SETTLE_MS);
  };
  s.onmessage = (e) => {
    if (socket !== s) return;
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch {
      return;
    }
    lastMessageAt = Date.now();
    handle(msg);
  };
  s.onclose = (e) => {
    if (socket !== s) return;
    socket = null;
    closed(e.code, e.reason);
  };
}

function closed(code, reason) {
  if (code === CLOSE_UNAUTHENTICATED || code === CLOSE_SIGNED_OUT) {
    forgetDisplay();
    startPairing("This display was signed out or unpaired. A manager can pair it again with the code below.");
    return;
  }
  if (code === CLOSE_FORBIDDEN) {
    forgetDisplay();
    startPairing("This display is paired with another clinic. A manager can pair it again with the code below.");
    return;
  }
  if (code === CLOSE_BAD_PARAMETER && state.lastSeq !== null) {
    state.lastSeq = null; // our `since` was refused: start over from a fresh snapshot
    reconnect(nextBackoff(), reason || "Bad parameter");
    return;
  }
  if (code === CLOSE_UNKNOWN_CLINIC || code === CLOSE_BAD_PARAMETER) {
    setConn("offline", reason ? `Offline: ${reason}` : "Offline: unknown clinic");
    scheduleConnect(FATAL_RETRY_MS);
    return;
  }
  reconnect(nextBackoff(), navigator.onLine === false ? "Offline" : "Reconnecting");
}

function handle(msg) {
  switch (msg.kind) {
    case "snapshot": {
      applySnapshot(msg.board);
      state.lastSeq = msg.seq;
      feedStale = Boolean(msg.board.stale);
      break;
    }
    case "update": {
      if (state.lastSeq === null) {
        reconnect(0, "Resyncing");
        return;
      }
      if (msg.seq <= state.lastSeq) return; // already have it
      if (msg.seq !== state.lastSeq + 1) {
        reconnect(BACKOFF_MIN_MS, "Missed an update, catching up");
        return;
      }
      applyUpdate(msg);
      state.lastSeq = msg.seq;
      break;
    }
    case "heartbeat": {
      setServerTime(msg.now);
      feedStale = Boolean(msg.stale);
      if (state.lastSeq !== null && msg.seq !== state.lastSeq) {
        if (msg.seq < state.lastSeq) state.lastSeq = null; // the server's log went back: start afresh
        reconnect(state.lastSeq === null ? 0 : BACKOFF_MIN_MS, "Out of step, catching up");
        return;
      }
      break;
    }
    case "delays": {
      if (state.lastSeq === null) return;
      setDelays(msg.delays);
      break;
    }
    default:
      return;
  }
  backoffMs = BACKOFF_MIN_MS; // a working feed resets the backoff
  lastUpdateAt = Date.now();
  // The server says its shared log is out of reach: what we show may be behind until it says otherwise.
  if (state.lastSeq !== null) setConn(feedStale ? "stale" : "live", feedStale ? "Delayed: server catching up" : "Live");
  if (msg.kind === "snapshot") render(); // a fresh board shows at once
  else queueRender();
}

// -- timers --------------------------------------------------------------------------------------

setInterval(() => {
  // A socket that has gone quiet past several heartbeats is dead even if the browser has not noticed.
  if (socket && socket.readyState === WebSocket.OPEN && Date.now() - lastMessageAt > SILENCE_MS) {
    reconnect(0, "No heartbeat, reconnecting");
  }
  render();
  renderConn();
  renderPairing();
}, 1000);

window.addEventListener("online", () => {
  if (!socket && display.token) {
    backoffMs = BACKOFF_MIN_MS;
    scheduleConnect(0);
  }
});
window.addEventListener("offline", () => {
  if (conn.mode !== "live") setConn("offline", "Offline");
});
window.addEventListener("pageshow", (e) => {
  if (e.persisted && !socket && display.token) scheduleConnect(0); // back from the back/forward cache
});
window.addEventListener("pagehide", () => closeSocket());

setupClock();
render();
if (display.token && display.clinic) startLive();
else startPairing();
