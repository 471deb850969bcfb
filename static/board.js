// Floor live board: a hallway screen. Privacy first: patient names (and notes) are dropped the moment a
// message is decoded and never reach the page; a visit is shown as its id ("v12") and provider initials.
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

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 15000;
const FATAL_RETRY_MS = 60000; // unknown clinic / bad parameter: say so, and only try again slowly
const SILENCE_MS = 45000; // heartbeats come every ~15 s; this long without any message means a dead link

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

// -- state ---------------------------------------------------------------------------------------

const state = {
  clinic: null, // id
  name: "",
  timezone: undefined,
  day: null,
  lastSeq: null, // seq of the last snapshot/event applied; null until the first snapshot
  offsetMs: 0, // server clock minus browser clock
  thresholds: {},
  providers: new Map(), // id -> {id, initials}
  rooms: new Map(), // id -> slim room
  visits: new Map(), // id -> slim visit (today's only; replaced on every snapshot)
};

const serverNow = () => Date.now() + state.offsetMs;

function setServerTime(iso) {
  const t = parseTime(iso);
  if (Number.isFinite(t)) state.offsetMs = t - Date.now();
}

/** An event's time only moves the estimate forward: events replayed after a reconnect are old. */
function nudgeServerTime(iso) {
  const t = parseTime(iso);
  if (Number.isFinite(t)) state.offsetMs = Math.max(state.offsetMs, t - Date.now());
}

/** Keep only what the board shows. No patient_name, no notes: they never get past this point. */
function slimVisit(v) {
  const stage = String(v.stage);
  const times = v.times && typeof v.times === "object" ? v.times : {};
  return {
    id: String(v.id),
    provider: String(v.provider),
    stage,
    room: v.room == null ? null : String(v.room),
    since: parseTime(times[stage]),
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

function applySnapshot(board) {
  state.name = String(board.name);
  state.timezone = board.timezone;
  state.day = board.day;
  state.thresholds = board.thresholds || {};
  state.providers = new Map((board.providers || []).map((p) => [String(p.id), { id: String(p.id), initials: String(p.initials) }]));
  state.rooms = new Map((board.rooms || []).map((r) => [String(r.id), slimRoom(r)]));
  state.visits = new Map((board.visits || []).map((v) => [String(v.id), slimVisit(v)]));
  setServerTime(board.now);
  setupClock();
  buildLayout();
}

function applyEvent(msg) {
  if (msg.visit) {
    const v = slimVisit(msg.visit);
    state.visits.set(v.id, v);
  }
  for (const r of msg.rooms || []) {
    const room = slimRoom(r);
    state.rooms.set(room.id, room);
  }
  if (msg.event) nudgeServerTime(msg.event.at);
}

const initialsOf = (providerId) => {
  const p = state.providers.get(providerId);
  return p ? p.initials : String(providerId).slice(0, 3).toUpperCase();
};

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
  if (!timeFormat || layoutKey === "") return; // no board yet: no clinic time zone to show
  const at = new Date(now);
  setText($("clock-time"), timeFormat.format(at));
  setText($("clock-date"), dateFormat.format(at));
}

// -- layout: room tiles, built once per snapshot and updated in place ----------------------------

let tiles = new Map(); // room id -> {root, label, state, token, provider, stage, mins, note}
let providerRows = new Map(); // provider id -> {cells: Map(stage -> td)}
let layoutKey = "";

function buildLayout() {
  const rooms = [...state.rooms.values()];
  const key = JSON.stringify([rooms.map((r) => [r.id, r.label, r.zone]), [...state.providers.values()]]);
  document.title = `${state.name} · Floor board`;
  document.body.classList.remove("no-board");
  setText($("clinic-name"), state.name);
  if (key === layoutKey) return; // same rooms and providers: keep the nodes
  layoutKey = key;

  const zones = new Map();
  for (const r of rooms) {
    if (!zones.has(r.zone)) zones.set(r.zone, []);
    zones.get(r.zone).push(r);
  }
  const main = $("zones");
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
  main.replaceChildren(...sections);

  const headRow = $("providers-head");
  const cells = [el("th", "prov-name", "Provider")];
  for (const [stage, label] of PROVIDER_COLUMNS) {
    const th = el("th", `stage-col stage-${stage}`);
    th.append(el("span", "swatch"), el("span", "", label));
    th.scope = "col";
    cells.push(th);
  }
  headRow.replaceChildren(...cells);
  const body = $("providers-body");
  const rows = [];
  providerRows = new Map();
  for (const p of state.providers.values()) {
    const tr = el("tr");
    const th = el("th", "prov-name", p.initials);
    th.scope = "row";
    tr.append(th);
    const rowCells = new Map();
    for (const [stage] of PROVIDER_COLUMNS) {
      const td = el("td", "count zero", "0");
      rowCells.set(stage, td);
      tr.append(td);
    }
    providerRows.set(p.id, rowCells);
    rows.push(tr);
  }
  body.replaceChildren(...rows);
}

// -- rendering: cheap enough to run every second over the whole board ----------------------------

function renderTile(t, room, now) {
  setText(t.label, room.label);
  const visit = room.state === "occupied" && room.visit ? state.visits.get(room.visit) : undefined;
  let cls = `tile room-${room.state}`;
  if (room.state === "occupied") {
    const stage = visit ? visit.stage : "";
    cls += ` stage-${stage || "unknown"}`;
    setText(t.token, room.visit || "");
    setText(t.provider, visit ? initialsOf(visit.provider) : "");
    setText(t.stage, visit ? STAGE_LABEL[stage] || titleCase(stage) : "Occupied");
    const dwell = DWELL[stage];
    const since = visit ? visit.since : NaN;
    if (Number.isFinite(since)) {
      const ms = now - since;
      const limit = dwell && dwell.threshold ? state.thresholds[dwell.threshold] : undefined;
      const over = typeof limit === "number" && ms >= limit * 60000;
      setText(t.mins, minutesText(ms));
      setText(t.note, over ? `over ${limit} min limit` : dwell ? dwell.note : "in stage");
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

function renderWaiting(now) {
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
    const over = typeof limit === "number" && ms >= limit * 60000;
    setText(longest, minutesText(ms));
    setText(who, `${oldest.id} · ${initialsOf(oldest.provider)}${over ? ` · over ${limit} min limit` : ""}`);
    setClass(box, over ? "waiting over" : "waiting");
  } else {
    setText(longest, "–");
    setText(who, count ? "" : "nobody waiting");
    setClass(box, "waiting");
  }
  for (const [providerId, cells] of providerRows) {
    const row = counts.get(providerId) || {};
    for (const [stage, td] of cells) {
      const n = row[stage] || 0;
      setText(td, String(n));
      setClass(td, n ? `count stage-${stage}` : "count zero");
    }
  }
}

function render() {
  renderQueued = false;
  const now = serverNow();
  renderClock(now);
  if (state.lastSeq === null) return;
  for (const [id, t] of tiles) {
    const room = state.rooms.get(id);
    if (room) renderTile(t, room, now);
  }
  renderWaiting(now);
}

let renderQueued = false;
function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(render, 0); // a burst of catch-up events renders once
}

// -- connection status ---------------------------------------------------------------------------

let conn = { mode: "connecting", text: "Connecting" };
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
  if (conn.mode === "live") {
    banner.hidden = true;
  } else if (hasBoard) {
    const asOf = lastUpdateAt && timeFormat ? timeFormat.format(new Date(lastUpdateAt + state.offsetMs)) : "";
    delete banner.dataset.text;
    setText(banner, `Not live: this board may be out of date${asOf ? ` (last update ${asOf})` : ""}. ${conn.text}.`);
    banner.hidden = false;
  } else if (conn.mode === "offline") {
    // e.g. the server's reason for refusing: "no clinic 'x' on this server", with a way to the list.
    if (banner.dataset.text !== conn.text) {
      banner.dataset.text = conn.text;
      const link = el("a", "", "Choose a clinic");
      link.href = "/";
      banner.replaceChildren(`${conn.text}. `, link);
    }
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
  document.body.classList.toggle("stale", conn.mode !== "live" && hasBoard);
  document.body.classList.toggle("offline", conn.mode === "offline");
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
    start();
  }, delayMs);
  renderConn();
}

function nextBackoff() {
  const delay = backoffMs;
  backoffMs = Math.min(BACKOFF_MAX_MS, backoffMs * 2);
  return delay * (0.8 + Math.random() * 0.4); // jitter, so a wall of screens does not reconnect in step
}

/** Drop the current socket (if any) and connect again after `delayMs`. */
function reconnect(delayMs, why) {
  if (socket) {
    const s = socket;
    socket = null;
    try {
      s.close(1000, why ? String(why).slice(0, 100) : undefined);
    } catch {
      /* already closing */
    }
  }
  setConn(navigator.onLine === false ? "offline" : "reconnecting", why || "Reconnecting");
  scheduleConnect(delayMs);
}

function liveUrl() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const since = state.lastSeq === null ? "" : `?since=${state.lastSeq}`;
  return `${proto}//${location.host}/api/clinics/${encodeURIComponent(state.clinic)}/live${since}`;
}

function connect() {
  let s;
  try {
    s = new WebSocket(liveUrl());
  } catch (e) {
    reconnect(nextBackoff(), "Cannot open the live feed");
    return;
  }
  socket = s;
  lastMessageAt = Date.now();
  setConn(state.lastSeq === null ? "connecting" : "reconnecting", "Connecting");
  s.onopen = () => {
    if (socket !== s) return;
    lastMessageAt = Date.now();
    // Resuming with `since` at the server's seq sends nothing until the next event or heartbeat: the
    // board we hold is current, so say live now.
    if (state.lastSeq !== null) setConn("live", "Live");
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
  if (code === 4404 || code === 4400) {
    if (code === 4400 && state.lastSeq !== null) {
      // Our `since` was refused: start over from a fresh snapshot.
      state.lastSeq = null;
      reconnect(nextBackoff(), reason || "Bad parameter");
      return;
    }
    setConn("offline", reason ? `Offline: ${reason}` : code === 4404 ? "Offline: unknown clinic" : "Offline");
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
    case "event": {
      if (state.lastSeq === null) {
        reconnect(0, "Resyncing");
        return;
      }
      if (msg.seq <= state.lastSeq) return; // already have it
      if (msg.seq !== state.lastSeq + 1) {
        reconnect(BACKOFF_MIN_MS, "Missed an update, catching up");
        return;
      }
      if (msg.event && state.day && msg.event.day !== state.day) {
        // A new clinic day began while we were away: yesterday's board must go, so take a snapshot.
        state.lastSeq = null;
        reconnect(0, "New day, reloading");
        return;
      }
      applyEvent(msg);
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

// -- choosing the clinic -------------------------------------------------------------------------

async function start() {
  if (!state.clinic) {
    const wanted = new URLSearchParams(location.search).get("clinic");
    if (wanted) {
      state.clinic = wanted;
    } else {
      setConn("connecting", "Finding clinic");
      let clinics;
      try {
        const res = await fetch("/api/clinics", { cache: "no-store" });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        clinics = await res.json();
      } catch {
        reconnect(nextBackoff(), "Cannot reach the server");
        return;
      }
      if (!Array.isArray(clinics) || clinics.length === 0) {
        setConn("offline", "Offline: no clinics on this server");
        scheduleConnect(FATAL_RETRY_MS);
        return;
      }
      state.clinic = String(clinics[0].id);
      setText($("clinic-name"), String(clinics[0].name));
      const url = new URL(location.href);
      url.searchParams.set("clinic", state.clinic);
      history.replaceState(null, "", url); // a reload stays on this clinic
    }
  }
  connect();
}

// -- timers --------------------------------------------------------------------------------------

setInterval(() => {
  // A socket that has gone quiet past several heartbeats is dead even if the browser has not noticed.
  if (socket && socket.readyState === WebSocket.OPEN && Date.now() - lastMessageAt > SILENCE_MS) {
    reconnect(0, "No heartbeat, reconnecting");
  }
  render();
  renderConn();
}, 1000);

window.addEventListener("online", () => {
  if (!socket) {
    backoffMs = BACKOFF_MIN_MS;
    scheduleConnect(0);
  }
});
window.addEventListener("offline", () => {
  if (conn.mode !== "live") setConn("offline", "Offline");
});
window.addEventListener("pageshow", (e) => {
  if (e.persisted && !socket) scheduleConnect(0); // back from the back/forward cache
});
window.addEventListener("pagehide", () => {
  if (socket) {
    const s = socket;
    socket = null;
    s.close(1000);
  }
});

setupClock();
render();
start();
