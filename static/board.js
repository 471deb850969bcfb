// Floor wall display: a hallway screen on a TV with no keyboard or mouse. It pairs itself with a clinic (a
// manager enters the code it shows), then renders the hallway feed: a tile per room with its state, the
// stage of the visit in it, minutes in that stage counting up every second, provider initials and the
// visit's token; the providers and how late each runs; the alerts; the waiting room. That feed has no
// patient names, and this page never asks for anything that has them.
//
// It runs a whole clinic day without a reload: the nodes are built once per layout (rooms, providers) and
// updated in place, the alert list is a fixed pool, and the state (lib/hallway.js) drops what ended.

import {
  $,
  HallwayState,
  IN_ROOM,
  clinicFormats,
  display,
  el,
  minutesText,
  runDisplay,
  setAttr,
  setClass,
  setText,
  titleCase,
} from "./lib/hallway.js";

const STAGE_LABEL = {
  scheduled: "Scheduled",
  arrived: "Arrived",
  roomed: "Roomed",
  prep_done: "Prep done",
  provider_in: "With provider",
  teach_back_done: "Teach-back done",
};

/** What a visit in this stage is waiting for. */
const STAGE_NOTE = {
  arrived: "waiting to be roomed",
  roomed: "waiting for prep",
  prep_done: "waiting for provider",
  provider_in: "in this stage",
  teach_back_done: "waiting for checkout",
};

const ROOM_STATE_LABEL = { ready: "Ready", occupied: "Occupied", turnover: "Turnover", blocked: "Blocked" };

const LATE_MINUTES = 5; // a provider this far behind shows amber; past the cascade threshold (or alert), red
const MAX_ALERTS = 3; // alerts shown at once; the rest are counted ("+3 more")

const state = new HallwayState();
let formats = clinicFormats(undefined);
let conn = { mode: "connecting", text: "Starting" };
let lastMessageAt = NaN; // server time of the last message, for the "out of date" banner

// -- layout: room tiles and provider rows, built when the rooms or providers change ---------------

let tiles = new Map(); // room id -> tile nodes
let rows = new Map(); // initials -> provider row nodes
let roomsVersion = -1;
let roomsKey = "";
let providersVersion = -1;
const alertItems = []; // the fixed pool of alert list items

/** A zoned display shows only its zone's rooms (the server sends it no others, nor their visits and alerts);
 * the waiting room and the providers are the clinic's. */
const inZone = (room) => display.zone === null || room.zone === display.zone;

function buildTiles() {
  roomsVersion = state.roomsVersion;
  const rooms = [];
  for (const r of state.rooms.values()) if (inZone(r)) rooms.push(r);
  const key = JSON.stringify([display.zone, rooms.map((r) => [r.id, r.label, r.zone])]);
  if (key === roomsKey) return; // the same rooms: keep the nodes
  roomsKey = key;
  const zones = new Map();
  for (const r of rooms) {
    if (!zones.has(r.zone)) zones.set(r.zone, []);
    zones.get(r.zone).push(r);
  }
  tiles = new Map();
  const sections = [];
  for (const [zone, zoneRooms] of zones) {
    const section = el("section", "zone");
    const title = el("h2", "zone-name", `${titleCase(zone)}`);
    title.id = `zone-${zone.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    section.setAttribute("aria-labelledby", title.id);
    const grid = el("div", "tiles");
    for (const r of zoneRooms) {
      const t = {
        root: el("article", "tile"),
        label: el("h3", "room-label"),
        who: el("p", "who"),
        token: el("span", "token"),
        provider: el("span", "provider"),
        stage: el("p", "stage"),
        dwell: el("p", "dwell"),
        mins: el("span", "mins"),
        note: el("span", "note"),
      };
      t.root.dataset.room = r.id;
      t.token.dataset.token = "";
      t.who.append(el("span", "visually-hidden", "Visit "), t.token, " ", el("span", "visually-hidden", "provider "), t.provider);
      t.dwell.append(t.mins, " ", t.note);
      t.root.append(t.label, t.who, t.stage, t.dwell);
      grid.append(t.root);
      tiles.set(r.id, t);
    }
    section.append(title, grid);
    sections.push(section);
  }
  if (sections.length === 0) {
    sections.push(el("p", "empty", display.zone === null ? "No rooms in this clinic." : `No rooms in zone ${display.zone}.`));
  }
  $("zones").replaceChildren(...sections);
}

function buildProviders() {
  providersVersion = state.providersVersion;
  const body = $("providers-body");
  rows = new Map();
  const trs = [];
  for (const initials of state.providers) {
    const r = {
      root: el("tr", "prov"),
      name: el("span", "full-name"),
      counts: [el("td", "count"), el("td", "count"), el("td", "count")], // to come, waiting, in rooms
      late: el("td", "late"),
      amount: el("span", "late-amount"),
      until: el("span", "late-until"),
      tally: { scheduled: 0, arrived: 0, inRoom: 0 },
    };
    r.root.dataset.provider = initials;
    r.root.dataset.lateness = "0";
    const th = el("th", "prov-name");
    th.scope = "row";
    th.append(el("span", "initials", initials), " ", r.name);
    r.late.append(r.amount, " ", r.until);
    r.root.append(th, ...r.counts, r.late);
    trs.push(r.root);
    rows.set(initials, r);
  }
  body.replaceChildren(...trs);
  setClass($("providers"), rows.size > 4 ? "compact" : "");
}

function buildAlertPool() {
  const list = $("alerts-list");
  for (let i = 0; i < MAX_ALERTS; i += 1) {
    const item = { root: el("li", "alert"), kind: el("span", "alert-kind"), text: el("span", "alert-text") };
    item.root.append(item.kind, " ", item.text);
    item.root.hidden = true;
    list.append(item.root);
    alertItems.push(item);
  }
}

function clearLayout() {
  tiles = new Map();
  rows = new Map();
  roomsKey = "";
  roomsVersion = providersVersion = -1;
  $("zones").replaceChildren();
  $("providers-body").replaceChildren();
  for (const item of alertItems) item.root.hidden = true;
  setText($("clinic-name"), "Floor");
  document.title = "Floor wall display";
  document.body.classList.add("no-board");
}

function showBoard() {
  formats = clinicFormats(state.timezone);
  const title = display.zone === null ? state.name : `${state.name} · ${titleCase(display.zone)}`;
  document.title = `${title} · Floor`;
  setText($("clinic-name"), title);
  document.body.classList.remove("no-board");
}

// -- rendering: cheap enough to run every second over the whole board ----------------------------

function renderTile(t, room, now) {
  setText(t.label, room.label);
  setAttr(t.root, "data-state", room.state);
  const visit = room.state === "occupied" && room.visit ? state.visits.get(room.visit) : undefined;
  const stage = visit ? visit.stage : "";
  setAttr(t.root, "data-stage", stage);
  let cls = `tile room-${room.state}`;
  if (room.state === "occupied") {
    cls += ` stage-${stage || "unknown"}`;
    const token = room.visit || "";
    setText(t.token, token);
    setAttr(t.token, "data-token", token);
    setText(t.provider, visit ? visit.provider : "");
    t.provider.hidden = !visit;
    t.who.hidden = !token;
    setText(t.stage, visit ? STAGE_LABEL[stage] || titleCase(stage) : "Occupied");
    if (visit && Number.isFinite(visit.since)) {
      const over = state.isOver(visit, now);
      const limit = state.limitFor(stage);
      setText(t.mins, minutesText(now - visit.since));
      setText(t.note, over && limit !== undefined ? `over ${limit} min limit` : STAGE_NOTE[stage] || "in this stage");
      setClass(t.dwell, over ? "dwell over" : "dwell");
      if (over) cls += " over";
    } else {
      setText(t.mins, "");
      setText(t.note, "");
      setClass(t.dwell, "dwell");
    }
  } else {
    setText(t.token, "");
    setAttr(t.token, "data-token", "");
    setText(t.provider, "");
    t.who.hidden = true;
    setText(t.stage, ROOM_STATE_LABEL[room.state] || titleCase(room.state));
    setText(t.mins, Number.isFinite(room.since) ? minutesText(now - room.since) : "");
    setText(t.note, Number.isFinite(room.since) ? "in this state" : "");
    setClass(t.dwell, "dwell quiet");
  }
  setClass(t.root, cls);
}

function renderProvider(r, initials) {
  const c = r.tally;
  setText(r.counts[0], String(c.scheduled));
  setText(r.counts[1], String(c.arrived));
  setText(r.counts[2], String(c.inRoom));
  for (let i = 0; i < 3; i += 1) {
    const n = i === 0 ? c.scheduled : i === 1 ? c.arrived : c.inRoom;
    setClass(r.counts[i], n ? "count" : "count zero");
  }
  const d = state.delays.get(initials);
  const away = d && d.away ? (d.away === "running_late" ? " · running late" : " · away") : "";
  setText(r.name, (state.names.get(initials) || "") + away);
  const minutes = d ? Math.max(0, Math.round(d.lateness)) : 0;
  setAttr(r.root, "data-lateness", String(minutes));
  if (minutes < 1) {
    setText(r.amount, d ? "On time" : "–");
    setText(r.until, "");
    setClass(r.late, "late on-time");
    return;
  }
  setText(r.amount, `+${minutes} min`);
  setText(r.until, Number.isFinite(d.recoversAt) ? `on time by ${formats.time.format(d.recoversAt)}` : "");
  const cascade = Number(state.thresholds.cascade_minutes) || Infinity;
  const severe = minutes >= cascade || state.lateProviders.has(initials);
  setClass(r.late, severe ? "late very-late" : minutes >= LATE_MINUTES ? "late running-late" : "late");
}

function renderCounts(now) {
  for (const r of rows.values()) {
    r.tally.scheduled = r.tally.arrived = r.tally.inRoom = 0;
  }
  let waiting = 0;
  let oldest = null;
  for (const v of state.visits.values()) {
    const r = rows.get(v.provider);
    if (v.stage === "arrived") {
      waiting += 1;
      if (Number.isFinite(v.since) && (!oldest || v.since < oldest.since)) oldest = v;
      if (r) r.tally.arrived += 1;
    } else if (r && v.stage === "scheduled") r.tally.scheduled += 1;
    else if (r && IN_ROOM.has(v.stage)) r.tally.inRoom += 1;
  }
  for (const [initials, r] of rows) renderProvider(r, initials);

  setText($("waiting-count"), String(waiting));
  const box = $("waiting");
  if (oldest) {
    const over = state.isOver(oldest, now);
    const limit = state.limitFor("arrived");
    setText($("waiting-longest"), minutesText(now - oldest.since));
    setText($("waiting-who"), `${oldest.token} · ${oldest.provider}${over && limit !== undefined ? ` · over ${limit} min limit` : ""}`);
    setClass(box, over ? "waiting panel over" : "waiting panel");
  } else {
    setText($("waiting-longest"), "–");
    setText($("waiting-who"), waiting ? "" : "Nobody waiting");
    setClass(box, "waiting panel");
  }
}

const alertOrder = []; // reused every second
const byUrgency = (a, b) => (a.kind === b.kind ? a.raisedAt - b.raisedAt : a.kind === "cascade" ? -1 : 1);

function alertText(a, now) {
  if (a.kind === "cascade") {
    const d = a.provider ? state.delays.get(a.provider) : undefined;
    const late = d ? d.lateness : a.lateness;
    const who = a.provider ? `${a.provider}${state.names.get(a.provider) ? ` (${state.names.get(a.provider)})` : ""}` : "A provider";
    const by = typeof late === "number" && Math.round(late) >= 1 ? `+${Math.round(late)} min, ` : "";
    return `${who}: ${by}later visits affected`;
  }
  if (a.kind === "dwell") {
    const v = a.visit ? state.visits.get(a.visit) : undefined;
    const stage = v ? v.stage : a.stage;
    const mins = v && v.stage === a.stage && Number.isFinite(v.since) ? minutesText(now - v.since) : a.minutes != null ? `${Math.round(a.minutes)} min` : "";
    const room = v && v.room ? state.rooms.get(v.room) : undefined;
    const where = room ? ` in ${room.label}` : "";
    const note = STAGE_NOTE[stage] || "in this stage";
    const limit = a.limit != null ? ` (limit ${a.limit} min)` : "";
    return `${a.visit || "A visit"} · ${a.provider || "?"}${where}: ${note} ${mins}${limit}`;
  }
  return `${titleCase(a.kind)}${a.provider ? ` · ${a.provider}` : ""}${a.visit ? ` · ${a.visit}` : ""}`;
}

function renderAlerts(now) {
  alertOrder.length = 0;
  for (const a of state.alerts.values()) alertOrder.push(a);
  alertOrder.sort(byUrgency);
  for (let i = 0; i < alertItems.length; i += 1) {
    const item = alertItems[i];
    const a = alertOrder[i];
    item.root.hidden = !a;
    if (!a) continue;
    setClass(item.root, `alert alert-${a.kind}${a.acknowledged ? " seen" : ""}`);
    setText(item.kind, a.kind === "cascade" ? "Running late" : a.kind === "dwell" ? "Waiting too long" : titleCase(a.kind));
    setText(item.text, alertText(a, now) + (a.acknowledged ? " · seen by staff" : ""));
  }
  const n = alertOrder.length;
  $("alerts-none").hidden = n > 0;
  setText($("alerts-count"), n ? `(${n})` : "");
  const more = $("alerts-more");
  more.hidden = n <= MAX_ALERTS;
  setText(more, n > MAX_ALERTS ? `+${n - MAX_ALERTS} more` : "");
  setClass($("alerts"), n ? "alerts panel active" : "alerts panel");
  alertOrder.length = 0; // hold no alerts between renders
}

function renderClock(now) {
  if (!state.loaded) {
    setText($("clock-time"), "--:--");
    setText($("clock-date"), "");
    return; // no board yet: no clinic time zone to show
  }
  setText($("clock-time"), formats.time.format(now));
  setText($("clock-date"), formats.date.format(now));
}

function render() {
  renderQueued = false;
  const now = state.now();
  renderClock(now);
  renderConn();
  if (!state.loaded) return;
  if (state.roomsVersion !== roomsVersion) buildTiles();
  if (state.providersVersion !== providersVersion) buildProviders();
  for (const [id, t] of tiles) {
    const room = state.rooms.get(id);
    if (room) renderTile(t, room, now);
  }
  renderCounts(now);
  renderAlerts(now);
}

let renderQueued = false;
function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(render, 0); // a burst of catch-up updates renders once
}

// -- connection status ---------------------------------------------------------------------------

function renderConn() {
  const node = $("conn");
  setAttr(node, "data-mode", conn.mode);
  setClass(node, `conn conn-${conn.mode}`);
  setText($("conn-text"), conn.text);
  setText($("conn-seq"), state.seq === null ? "" : `seq ${state.seq}`);
  const banner = $("banner");
  if (runner && runner.pairing) {
    banner.hidden = true;
  } else if (conn.mode === "live") {
    banner.hidden = true;
  } else if (state.loaded) {
    const asOf = Number.isFinite(lastMessageAt) ? formats.time.format(lastMessageAt) : "";
    const what = conn.mode === "stale" ? "the server cannot reach its log" : conn.text;
    setText(banner, `Not live: this board may be out of date${asOf ? ` (last update ${asOf})` : ""}. ${what}.`);
    banner.hidden = false;
  } else if (conn.mode === "offline") {
    setText(banner, `${conn.text}.`); // e.g. the server's reason for refusing: "no clinic 'x' on this server"
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
  document.body.classList.toggle("stale", conn.mode !== "live" && state.loaded);
  document.body.classList.toggle("offline", conn.mode === "offline");
}

const MODE_TEXT = { live: "Live", stale: "Delayed" };

function onStatus(mode, text) {
  conn = { mode, text: MODE_TEXT[mode] && mode !== "offline" ? MODE_TEXT[mode] : text };
  renderConn();
}

function onChange(kind) {
  if (kind === "reset") {
    clearLayout();
    lastMessageAt = NaN;
    render();
    return;
  }
  lastMessageAt = state.now();
  if (kind === "snapshot") {
    showBoard();
    render(); // a fresh board shows at once
  } else {
    queueRender();
  }
}

buildAlertPool();
let runner = null;
runner = runDisplay({ state, onStatus, onChange, onPairing: (active) => active && clearLayout() });

setInterval(() => {
  render();
  runner.tickPairing();
}, 1000);
