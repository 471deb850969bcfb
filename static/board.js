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
import { language, onLanguage, t, translatePage, useFor } from "./lib/i18n.js";

/** A stage's name, what a visit in it is waiting for, a room state's name, in the language shown. */
const stageLabel = (stage) => t(`stage.${stage}`);
const stageNote = (stage) => t(stage && stage !== "provider_in" ? `note.${stage}` : "wall.in_this_stage");
const roomStateLabel = (state) => t(`room.${state}`);

const LATE_MINUTES = 5; // a provider this far behind shows amber; past the cascade threshold (or alert), red
const MAX_ALERTS = 12; // alert list items; as many as fit whole on the screen show, the rest are counted

const state = new HallwayState();
let formats = clinicFormats(undefined);
let conn = { mode: "connecting", text: "" };
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
  zoneGroups = [];
  fitKey = "";
  for (const [zone, zoneRooms] of zones) {
    const section = el("section", "zone");
    const title = el("h2", "zone-name", `${titleCase(zone)}`);
    title.id = `zone-${zone.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    section.setAttribute("aria-labelledby", title.id);
    const grid = el("div", "tiles");
    for (const r of zoneRooms) {
      const tile = {
        root: el("article", "tile"),
        label: el("h3", "room-label"),
        who: el("p", "who"),
        token: el("span", "token"),
        provider: el("span", "provider"),
        stage: el("p", "stage"),
        reason: el("p", "reason"),
        dwell: el("p", "dwell"),
        mins: el("span", "mins"),
        note: el("span", "note"),
      };
      tile.root.dataset.room = r.id;
      tile.token.dataset.token = "";
      const visitWord = el("span", "visually-hidden");
      visitWord.dataset.i18n = "wall.visit";
      const providerWord = el("span", "visually-hidden");
      providerWord.dataset.i18n = "wall.provider";
      tile.who.append(visitWord, " ", tile.token, " ", providerWord, " ", tile.provider);
      tile.dwell.append(tile.mins, " ", tile.note);
      tile.reason.hidden = true;
      tile.root.append(tile.label, tile.who, tile.stage, tile.reason, tile.dwell);
      grid.append(tile.root);
      tiles.set(r.id, tile);
    }
    section.append(title, grid);
    zoneGroups.push({ section, count: zoneRooms.length });
  }
  if (zoneGroups.length === 0) {
    $("zones").replaceChildren(el("p", "empty", display.zone === null ? t("wall.no_rooms") : t("wall.no_rooms_zone", { zone: display.zone })));
  } else {
    arrange(1, TILE_COLUMNS, 1); // until fitRooms, after the tiles' first render
  }
  translatePage($("zones"));
}

// -- fitting the rooms to the screen -------------------------------------------------------------

const TILE_WIDTH = 11.6; // rem: a tile at full size this wide holds a visit's code and its provider, and "⚠ 20 min", on a line
const TILE_COLUMNS = 5; // a row of tiles before the first fit
const MIN_SCALE = 0.75; // the tiles' text never smaller: a visit's code 38 px, its stage 20 px on a 1080p screen
const MOST_ZONES_ABREAST = 3; // zones side by side in a band, at most

let zoneGroups = []; // {section, count}: the zones' sections, in order, and how many rooms each has
let fitKey = ""; // what the rooms were last fitted to: the screen, the language, the rooms and blocked rooms' reasons
let fitWhole = false; // that fit showed every tile whole on one screen
let fitHeight = Infinity; // px: the height the tiles were fitted to

/** Zones `across` a band, `cols` tiles a row, the tiles' text at `scale` of full size. */
function arrange(across, cols, scale) {
  const zones = $("zones");
  zones.style.setProperty("--zone-cols", String(across));
  zones.style.setProperty("--cols", String(cols));
  zones.style.setProperty("--tile-scale", scale.toFixed(3));
  const bands = [];
  for (let i = 0; i < zoneGroups.length; i += across) {
    const group = zoneGroups.slice(i, i + across);
    const band = el("div", "band");
    band.style.setProperty("--rows", String(Math.max(...group.map((z) => Math.ceil(z.count / cols)))));
    band.append(...group.map((z) => z.section));
    bands.push(band);
  }
  zones.replaceChildren(...bands);
}

/** Lay the rooms out to show every tile whole on one screen (upright, in all but the alerts' least share of it):
 *  true if they do; false if not even at MIN_SCALE, the tiles then at full size and the page scrolling; null when
 *  there is no floor to measure (pairing). */
function fitRooms() {
  const zones = $("zones");
  document.body.classList.remove("crowded");
  if (zoneGroups.length === 0) return true;
  if (!zones.clientWidth) return null;
  document.body.classList.add("fitting"); // upright, the rooms' share of the screen (board.css)
  try {
    return fitTo(zones);
  } finally {
    fitHeight = zones.clientHeight;
    document.body.classList.remove("fitting");
  }
}

/** Each way of laying the zones out (one a band, or two or three abreast; 1 to n tiles a row) gives the largest
 *  text its width and height allow, from the tallest tile's lines measured at full size; the best is tried first,
 *  smaller by steps if its tiles' lines wrap more than measured. A dozen rooms got zones of equal shares whose
 *  tiles dropped their stage and minutes (a review). */
function fitTo(zones) {
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
  const width = zones.clientWidth / rem;
  const height = zones.clientHeight / rem;
  const most = Math.max(...zoneGroups.map((z) => z.count));
  arrange(1, Math.max(1, Math.min(most, Math.floor(width / TILE_WIDTH))), 1);
  const band = zones.querySelector(".band");
  const title = zones.querySelector(".zone-name");
  const tileGap = parseFloat(getComputedStyle(zones.querySelector(".tiles")).rowGap) / rem;
  const bandGap = parseFloat(getComputedStyle(zones).rowGap) / rem;
  const abreastGap = parseFloat(getComputedStyle(band).columnGap) / rem;
  const titleHeight = (title.offsetHeight + parseFloat(getComputedStyle(title).marginBottom)) / rem;
  zones.style.setProperty("--band-basis", `${Math.max(0, titleHeight - tileGap).toFixed(3)}rem`);
  zones.classList.add("measuring");
  let need = 0; // the tallest tile's lines at full size, in rem
  for (const tile of tiles.values()) need = Math.max(need, tile.root.offsetHeight / rem);
  zones.classList.remove("measuring");

  const options = [];
  for (let across = 1; across <= Math.min(MOST_ZONES_ABREAST, zoneGroups.length); across += 1) {
    const zoneWidth = (width - (across - 1) * abreastGap) / across;
    for (let cols = 1; cols <= most; cols += 1) {
      const wide = (zoneWidth - (cols - 1) * tileGap) / cols / TILE_WIDTH;
      if (wide < MIN_SCALE) break;
      let rows = 0;
      let bands = 0;
      for (let i = 0; i < zoneGroups.length; i += across) {
        rows += Math.max(...zoneGroups.slice(i, i + across).map((z) => Math.ceil(z.count / cols)));
        bands += 1;
      }
      const room = height - bands * titleHeight - (bands - 1) * bandGap - (rows - bands) * tileGap;
      const scale = Math.min(1, wide, room / (rows * need));
      if (scale >= MIN_SCALE) options.push({ across, cols, rows, scale, most: Math.min(1, wide) });
    }
  }
  // The largest text; then the fewest rows, zones one a band, the widest tiles.
  const big = (o) => Math.round(o.scale * 100);
  options.sort((a, b) => big(b) - big(a) || a.rows - b.rows || a.across - b.across || a.cols - b.cols);
  const fits = () => zones.scrollHeight <= zones.clientHeight + 1;
  let tries = 0;
  for (const o of options) {
    for (let scale = o.scale; tries < 24; scale = Math.max(MIN_SCALE, scale * 0.95), tries += 1) {
      arrange(o.across, o.cols, scale);
      if (fits()) return grow(o, scale, fits);
      if (scale === MIN_SCALE) break;
    }
  }
  arrange(1, Math.max(1, Math.min(most, Math.floor(width / TILE_WIDTH))), 1);
  document.body.classList.add("crowded");
  return false;
}

/** The estimate took every row as tall as the tallest tile: rows of shorter tiles may leave room for larger text
 *  (a teach-back's two-line stage and note in a row of the demo's ten rooms made it 0.92 where 0.99 fits). */
function grow(o, fitted, fits) {
  let low = fitted;
  let high = o.most;
  if (high - low <= 0.01) return true;
  for (let i = 0; i < 4 && high - low > 0.01; i += 1) {
    const scale = (low + high) / 2;
    arrange(o.across, o.cols, scale);
    if (fits()) low = scale;
    else high = scale;
  }
  arrange(o.across, o.cols, low);
  return true;
}

/** Fit the rooms again when the screen, the language or the rooms changed, or a tile's lines outgrew the fit. */
function fitIfNeeded() {
  if (zoneGroups.length === 0) return;
  let reasons = "";
  for (const tile of tiles.values()) if (!tile.reason.hidden) reasons += `${tile.reason.textContent}\n`;
  // A tile's lines that outgrew the fit (a stage on two lines) make the text smaller until the clinic day ends, or
  // the screen, the language or the rooms change: it does not grow and shrink with every step.
  const key = `${state.day} ${innerWidth}x${innerHeight} ${language()} ${$("banner").hidden} ${roomsKey} ${reasons}`;
  const zones = $("zones");
  const outgrown = fitWhole && zones.scrollHeight > Math.min(zones.clientHeight, fitHeight) + 1;
  if (key === fitKey && !outgrown) return;
  const whole = fitRooms();
  if (whole === null) return; // nothing to measure yet: fit when there is
  fitKey = key;
  fitWhole = whole;
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
  // Past four, a line each; past seven, tighter still (the eighth fell below the panel: a review).
  setClass($("providers"), rows.size > 7 ? "compact tight" : rows.size > 4 ? "compact" : "");
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
  zoneGroups = [];
  fitKey = "";
  document.body.classList.remove("crowded");
  roomsVersion = providersVersion = -1;
  $("zones").replaceChildren();
  $("providers-body").replaceChildren();
  for (const item of alertItems) item.root.hidden = true;
  setText($("clinic-name"), "Floor");
  document.title = t("wall.title");
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

/** A number keeps its unit when the minutes wrap: "⚠ 1 h" over "15 min", never "20" over "min". */
const unbroken = (text) => text.replace(/(\d) /g, "$1\u00a0");

function renderTile(tile, room, now) {
  setText(tile.label, room.label);
  setAttr(tile.root, "data-state", room.state);
  const visit = room.state === "occupied" && room.visit ? state.visits.get(room.visit) : undefined;
  const stage = visit ? visit.stage : "";
  setAttr(tile.root, "data-stage", stage);
  let cls = `tile room-${room.state}`;
  const reason = room.state === "blocked" ? room.reason : "";
  setText(tile.reason, reason);
  tile.reason.hidden = !reason;
  if (room.state === "occupied") {
    cls += ` stage-${stage || "unknown"}`;
    const token = room.visit || "";
    setText(tile.token, token);
    setAttr(tile.token, "data-token", token);
    setText(tile.provider, visit ? visit.provider : "");
    tile.provider.hidden = !visit;
    tile.who.hidden = !token;
    setText(tile.stage, visit ? stageLabel(stage) : roomStateLabel("occupied"));
    if (visit && Number.isFinite(visit.since)) {
      const over = state.isOver(visit, now);
      const limit = state.limitFor(stage);
      setText(tile.mins, unbroken(minutesText(now - visit.since)));
      setText(tile.note, over && limit !== undefined ? t("wall.over_limit", { limit }) : stageNote(stage));
      setClass(tile.dwell, over ? "dwell over" : "dwell");
      if (over) cls += " over";
    } else {
      setText(tile.mins, "");
      setText(tile.note, "");
      setClass(tile.dwell, "dwell");
    }
  } else {
    setText(tile.token, "");
    setAttr(tile.token, "data-token", "");
    setText(tile.provider, "");
    tile.who.hidden = true;
    setText(tile.stage, roomStateLabel(room.state));
    const timed = Number.isFinite(room.since);
    // A room left in turnover past the clinic's limit turns red, and says so.
    const over = state.isTurnoverOver(room, now);
    setText(tile.mins, timed ? unbroken(minutesText(now - room.since)) : "");
    // A blocked room's minutes go without "in this state": its reason has the lines.
    const said = timed && room.state !== "blocked" ? t("wall.in_this_state") : "";
    setText(tile.note, over ? t("wall.over_limit", { limit: state.turnoverLimit }) : said);
    setClass(tile.dwell, over ? "dwell over" : "dwell quiet");
    if (over) cls += " over";
  }
  setClass(tile.root, cls);
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
  const away = d && d.away ? ` · ${d.away === "running_late" ? t("wall.running_late") : t("wall.away")}` : "";
  setText(r.name, (state.names.get(initials) || "") + away);
  const minutes = d ? Math.max(0, Math.round(d.lateness)) : 0;
  setAttr(r.root, "data-lateness", String(minutes));
  if (minutes < 1) {
    setText(r.amount, d ? t("wall.on_time") : "–");
    setText(r.until, "");
    setClass(r.late, "late on-time");
    return;
  }
  setText(r.amount, t("wall.late", { minutes }));
  setText(r.until, Number.isFinite(d.recoversAt) ? t("wall.on_time_by", { time: formats.time.format(d.recoversAt) }) : "");
  // Red with a cascade alert raised for them, amber otherwise: a red "+10 min" beside "No alerts" told the hall
  // two things at once (a review).
  const severe = state.lateProviders.has(initials);
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
    const overText = over && limit !== undefined ? ` · ${t("wall.over_limit", { limit })}` : "";
    setText($("waiting-who"), `${oldest.token} · ${oldest.provider}${overText}`);
    setClass(box, over ? "waiting panel over" : "waiting panel");
  } else {
    setText($("waiting-longest"), "–");
    setText($("waiting-who"), waiting ? "" : t("wall.nobody_waiting"));
    setClass(box, "waiting panel");
  }
}

const alertOrder = []; // reused every second

function alertText(a, now) {
  if (a.kind === "cascade") {
    const d = a.provider ? state.delays.get(a.provider) : undefined;
    const late = d ? d.lateness : a.lateness;
    const name = a.provider ? state.names.get(a.provider) : "";
    const who = a.provider ? `${a.provider}${name ? ` (${name})` : ""}` : t("alert.a_provider");
    const minutes = typeof late === "number" ? Math.round(late) : 0;
    return minutes >= 1 ? t("alert.cascade_text_by", { who, minutes }) : t("alert.cascade_text", { who });
  }
  if (a.kind === "dwell") {
    const v = a.visit ? state.visits.get(a.visit) : undefined;
    const stage = v ? v.stage : a.stage;
    const mins = v && v.stage === a.stage && Number.isFinite(v.since) ? minutesText(now - v.since) : a.minutes != null ? t("time.min", { n: Math.round(a.minutes) }) : "";
    const room = v && v.room ? state.rooms.get(v.room) : undefined;
    const where = room ? t("alert.in_room", { room: room.label }) : "";
    const limit = a.limit != null ? t("alert.limit", { limit: a.limit }) : "";
    return t("alert.dwell_text", { visit: a.visit || t("alert.a_visit"), provider: a.provider || "?", where,
      note: stageNote(stage), minutes: mins, limit });
  }
  // The schedule kept for today not booked: the tablet's sentence ("SCHEDULE / Schedule" told a Spanish wall
  // nothing: a review).
  if (a.kind === "schedule") return t("alert.schedule_not_booked");
  return `${titleCase(a.kind)}${a.provider ? ` · ${a.provider}` : ""}${a.visit ? ` · ${a.visit}` : ""}`;
}

function alertKind(a) {
  if (a.kind === "cascade") return t("alert.cascade");
  if (a.kind === "dwell") return t("alert.dwell");
  if (a.kind === "schedule") return t("alert.schedule");
  return titleCase(a.kind);
}

function renderAlerts(now) {
  alertOrder.length = 0;
  for (const a of state.alerts.values()) alertOrder.push(a);
  alertOrder.sort((a, b) => state.compareUrgency(a, b, now)); // most urgent first: see HallwayState
  for (let i = 0; i < alertItems.length; i += 1) {
    const item = alertItems[i];
    const a = alertOrder[i];
    item.root.hidden = !a;
    if (!a) continue;
    setClass(item.root, `alert alert-${a.kind}${a.acknowledged ? " seen" : ""}`);
    setAttr(item.root, "data-alert", a.id);
    setAttr(item.root, "data-visit", a.visit || "");
    setAttr(item.root, "data-provider", a.provider || "");
    setText(item.kind, alertKind(a));
    setText(item.text, alertText(a, now) + (a.acknowledged ? t("alert.seen") : ""));
  }
  // Only whole alerts show: those that do not fit (the least urgent) are counted below instead of cut off.
  const list = $("alerts-list");
  const bottom = list.getBoundingClientRect().bottom;
  let shown = 0;
  let full = false;
  for (const item of alertItems) {
    if (item.root.hidden) continue;
    if (!full && item.root.getBoundingClientRect().bottom <= bottom + 0.5) shown += 1;
    else {
      full = true;
      item.root.hidden = true;
    }
  }
  const n = alertOrder.length;
  $("alerts-none").hidden = n > 0;
  setText($("alerts-count"), n ? `(${n})` : "");
  const more = $("alerts-more");
  const hidden = n - shown;
  setClass(more, hidden > 0 ? "alerts-more" : "alerts-more none");
  setText(more, hidden > 0 ? t("wall.more", { n: hidden }) : "");
  more.hidden = false;
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
  for (const [id, tile] of tiles) {
    const room = state.rooms.get(id);
    if (room) renderTile(tile, room, now);
  }
  fitIfNeeded();
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

/** The connection in words: live and delayed in the language shown, else what the feed said. */
function connText() {
  if (conn.mode === "live") return t("conn.live");
  if (conn.mode === "stale") return t("conn.stale");
  return conn.text || t("conn.starting");
}

function renderConn() {
  const node = $("conn");
  setAttr(node, "data-mode", conn.mode);
  setClass(node, `conn conn-${conn.mode}`);
  setText($("conn-text"), connText());
  setText($("conn-seq"), state.seq === null ? "" : `seq ${state.seq}`);
  const banner = $("banner");
  if (runner && runner.pairing) {
    banner.hidden = true;
  } else if (conn.mode === "live") {
    banner.hidden = true;
  } else if (state.loaded) {
    const asOf = Number.isFinite(lastMessageAt) ? formats.time.format(lastMessageAt) : "";
    const what = conn.mode === "stale" ? t("wall.cannot_reach_log") : connText();
    setText(banner, t(asOf ? "wall.not_live_since" : "wall.not_live", { time: asOf, what }));
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

function onStatus(mode, text) {
  conn = { mode, text };
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
    // The device's language, else the clinic's default; a change re-renders through onLanguage.
    useFor(state.languages);
    showBoard();
    render(); // a fresh board shows at once
  } else {
    queueRender();
  }
}

onLanguage(() => {
  formats = clinicFormats(state.timezone);
  if (!state.loaded) document.title = t("wall.title");
  render();
});

buildAlertPool();
let runner = null;
await useFor([]); // the device's language (or English) until the clinic's board says its default
runner = runDisplay({ state, onStatus, onChange, onPairing: (active) => active && clearLayout() });

setInterval(() => {
  render();
  runner.tickPairing();
}, 1000);
