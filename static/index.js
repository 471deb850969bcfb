// The tablet: sign in, then the work list for your role (front desk, medical assistant, provider; a manager
// sees each as a tab), live from the clinic's feed. Every tap carries the version of the visit the card shows;
// a refusal says what happened and by whom and the card shows the visit as it is now. Taps survive a dropped
// network: lib/api.js tap() resends with the same Idempotency-Key until the server answers, so nothing is
// applied twice, and lib/outbox.js keeps each tap in localStorage until answered, to send it again after a
// reload. The front desk's search and views are lib/desk.js. The sign-in token lives in sessionStorage and goes
// out only as `Authorization: Bearer` and in the live socket's first message. Text from the server goes into
// the page through textContent only.

import { ApiError, Offline, call, newKey, tap } from "./lib/api.js";
import { frontDesk } from "./lib/desk.js";
import { pairingForm } from "./tablet/pairing.js";
import { MORE, NEXT, WAIT, byStart, bySince, workLists } from "./tablet/work.js";
import { toastRegion } from "./tablet/toast.js";
import { CLOSE, openFeed } from "./lib/feed.js";
import { outbox } from "./lib/outbox.js";
import { local, parseTime, session, show } from "./lib/page.js";
import { DEVICE_KEY, signInForm, signOutButton } from "./lib/signin.js";
import { ENDING, confirmEnd, createVisitDetail, roomUndoButton, visitCode } from "./lib/visit-detail.js";
import { renderAlerts } from "./lib/alert-lines.js";
import { labels, language, onLanguage, t, tn, useFor } from "./lib/i18n.js";
import { ROLES, ROLE_LABEL, ROOM_MARK, ROOM_STATE_LABEL, STAGE_LABEL, STEP_BUTTON } from "./lib/labels.js";
import { $, el, plural, titleCase } from "./lib/dom.js";

const TOKEN_KEY = "floor.tablet.token"; // sessionStorage
const CLINIC_KEY = "floor.tablet.clinic"; // localStorage: the clinic last looked at
const TAB_KEY = "floor.tablet.tab"; // localStorage: the manager's last tab
const PROVIDER_KEY = "floor.tablet.provider"; // localStorage, per person: whose patients they chose to see

const PIN_MS = 60000; // how long a card that met a conflict stays where it was tapped

const ORDER = ["scheduled", "arrived", "roomed", "prep_done", "provider_in", "teach_back_done"];
const FINISHED = new Set(["checked_out", "no_show", "cancelled", "left_without_being_seen"]);

/** A step in a sentence: "roomed in East 2", "checked out". */
function stepDone(step, room) {
  switch (step) {
    case "arrived": return t("done.arrived");
    case "roomed": return room ? t("done.roomed_in", { room: roomLabel(room) }) : t("done.roomed");
    case "prep_done": return t("done.prep_done");
    case "provider_in": return t("done.provider_in");
    case "teach_back_done": return t("done.teach_back_done");
    case "checked_out": return t("done.checked_out");
    case "no_show": return t("done.no_show");
    case "cancelled": return t("done.cancelled");
    case "left_without_being_seen": return t("done.left_without_being_seen");
    case "undo": return t("done.undo");
    default: return titleCase(step);
  }
}

// -- small helpers -------------------------------------------------------------------------------------------



// -- state ---------------------------------------------------------------------------------------------------

let token = session.get(TOKEN_KEY);
let me = null; // {id, name, role, device, expires_at}
let clinics = [];
let feed = null;
let feedMode = "connecting";
let feedText = t("feed.connecting");
let wentDown = false; // the feed was live and dropped; cleared when it is live again
let downSince = null; // when this screen last lost its connection (server clock, ms)
let lastHeard = null; // when the feed last brought anything (server clock, ms)

const board = {
  clinic: null,
  name: "",
  timezone: undefined,
  seq: null,
  offsetMs: 0, // server clock minus this tablet's (the demo's clock runs fast)
  generation: 0, // bumped at each snapshot: cards are rebuilt
  rooms: new Map(),
  visits: new Map(),
  providers: new Map(),
  visitTypes: new Map(),
  thresholds: {},
  delays: new Map(),
  presence: new Map(), // provider id -> {status, since, back_at, by, version}
  plans: new Map(), // visit id -> {roomed, provider_in}: its plan by the clinic's convention, from the server
  alerts: new Map(), // alert id -> alert (active and cleared)
};

/** Taps on their way: visit id -> {step, room, version, list, key, waiting, ctrl}. */
const pending = new Map();
/** Room taps on their way: room id -> {action, waiting}. */
const pendingRooms = new Map();
/** Cards that met a refusal stay where they were tapped: visit id -> {list, note, kind, until}. */
const pins = new Map();
let walkinPending = null;
/** The toast at the foot of the screen: what a tap did, with Undo for a while (tablet/toast.js). */
const toasts = toastRegion();
/** The one card whose room picker is open (tapping "Room patient" opens it; one at a time). */
let pickerFor = null;

const serverNow = () => Date.now() + board.offsetMs;

function clinicFormat(options) {
  try {
    return new Intl.DateTimeFormat(language(), { ...options, timeZone: board.timezone });
  } catch {
    return new Intl.DateTimeFormat(language(), options);
  }
}
const clock = (iso) => {
  const ms = typeof iso === "number" ? iso : parseTime(iso);
  return Number.isFinite(ms) ? clinicFormat({ hour: "numeric", minute: "2-digit" }).format(new Date(ms)) : "";
};
const localClock = (ms) => new Date(ms).toLocaleTimeString(language(), { hour: "numeric", minute: "2-digit" });

function duration(ms) {
  const mins = Math.max(0, Math.floor(ms / 60000));
  return mins < 60 ? t("time.min", { n: mins }) : t("time.h_min", { h: Math.floor(mins / 60), m: String(mins % 60).padStart(2, "0") });
}

const roomLabel = (id) => board.rooms.get(id)?.label || id;
const providerName = (id) => board.providers.get(id)?.name || id;
const typeLabel = (code) => board.visitTypes.get(code)?.label || code;
const stageLabel = (stage) => STAGE_LABEL[stage] || titleCase(stage);
const stageIndex = (stage) => (FINISHED.has(stage) ? 99 : ORDER.indexOf(stage));

// -- talking to the server -----------------------------------------------------------------------------------

/** A request with the sign-in token; a 401 signs this page out with the server's message. */
async function request(method, path, body) {
  try {
    return await call(method, path, { token, body });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && token) signedOut(err.message);
    throw err;
  }
}

const errorText = (err) => (err instanceof Offline ? t("error.offline") : err.message);

const pairing = pairingForm({ request, clinics: () => clinics, errorText });

// -- signing in and out --------------------------------------------------------------------------------------

function showSignIn(message, kind = "error") {
  me = null;
  $("app").hidden = true;
  $("who").hidden = true;
  $("whoami").removeAttribute("data-role");
  $("notice").hidden = true;
  $("sign-in").hidden = false;
  $("manager-link").hidden = true;
  $("manager-sep").hidden = true;
  show($("sign-in-message"), message, kind);
  $("signin-secret").value = "";
  $("signin-device").value = $("signin-device").value || local.get(DEVICE_KEY) || "";
  document.title = t("tablet.title_sign_in");
  ($("signin-staff").value ? $("signin-secret") : $("signin-staff")).focus();
  updateBanner();
}

/** The token stopped working (or we signed out): forget it and everything it showed. */
function signedOut(message, kind = "error") {
  token = null;
  session.set(TOKEN_KEY, null);
  if (feed) feed.close();
  feed = null;
  for (const p of pending.values()) p.ctrl.abort();
  pending.clear();
  pendingRooms.clear();
  pins.clear();
  walkinPending = null;
  toasts.hide();
  clinics = [];
  pairing.reset();
  // Nothing the sign-in showed stays on the page: the lists had patient names.
  Object.assign(board, { clinic: null, name: "", seq: null, rooms: new Map(), visits: new Map(), providers: new Map(),
    visitTypes: new Map(), delays: new Map() });
  for (const node of document.querySelectorAll("[data-lists]")) node.replaceChildren();
  $("rooms").replaceChildren();
  $("visits-body").replaceChildren();
  $("board-message").hidden = true;
  $("walkin-message").hidden = true;
  $("walkin").reset();
  $("provider-filter").value = "";
  desk.reset();
  for (const r of sendingAgain.values()) r.ctrl.abort();
  sendingAgain.clear();
  $("kept-refused").hidden = true;
  $("kept-refused-list").replaceChildren();
  wentDown = false;
  downSince = null;
  showSignIn(message, kind);
}

function showSignedIn() {
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  const role = ROLE_LABEL[me.role] || titleCase(me.role || "staff");
  const until = Number.isFinite(parseTime(me.expires_at)) ? localClock(parseTime(me.expires_at)) : "";
  const who = $("whoami");
  who.dataset.role = me.role;
  who.dataset.staff = me.id;
  who.replaceChildren(
    t("tablet.signed_in_as"), " ",
    el("strong", { text: me.name || me.id }),
    ` (${me.id}) · `,
    el("span", { class: "role", text: role }),
    " · ", t(until ? "tablet.on_device_until" : "tablet.on_device", { device: me.device, until }),
  );
  const manager = me.role === "manager";
  $("pair").hidden = !manager;
  $("tabs").hidden = !manager;
  $("manager-link").hidden = !manager;
  $("manager-sep").hidden = !manager;
  for (const r of ROLES) {
    const panel = $(`panel-${r}`);
    if (manager) {
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", `tab-${r}`);
    } else {
      panel.removeAttribute("role");
      panel.setAttribute("aria-labelledby", `title-${r}`);
    }
  }
  document.title = t("tablet.title", { role });
}

signInForm({
  form: "sign-in-form",
  message: "sign-in-message",
  onSignedIn: async (signed, device) => {
    token = String(signed.token);
    session.set(TOKEN_KEY, token);
    me = { id: signed.staff, name: signed.name, role: signed.role, provider: signed.provider || null, device,
      expires_at: signed.expires_at };
    await enter();
    return null;
  },
});

signOutButton({ request, onSignedOut: (message) => signedOut(message, "info") });

// -- after signing in ----------------------------------------------------------------------------------------

async function enter() {
  showSignedIn();
  $("clinic-title").focus();
  try {
    clinics = await request("GET", "/api/clinics");
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) show($("board-message"), t("tablet.could_not_list_clinics", { why: errorText(err) }), "error");
    return;
  }
  if (!Array.isArray(clinics) || clinics.length === 0) {
    show($("board-message"), t("tablet.no_clinics"), "error");
    return;
  }
  const options = () => clinics.map((c) => el("option", { value: c.id, text: c.name }));
  const wanted = local.get(CLINIC_KEY);
  const chosen = clinics.some((c) => c.id === wanted) ? wanted : clinics[0].id;
  $("clinic").replaceChildren(...options());
  $("clinic").value = chosen;
  $("clinic-field").hidden = clinics.length < 2;
  useFor(clinics.find((c) => c.id === chosen)?.languages); // the device's language, else the clinic's
  if (me.role === "manager") {
    pairing.show(chosen);
  }
  startFeed(chosen);
}

$("clinic").addEventListener("change", () => {
  local.set(CLINIC_KEY, $("clinic").value);
  startFeed($("clinic").value);
});

// -- the live feed: a snapshot, then one event at a time -----------------------------------------------------

function startFeed(clinic) {
  if (feed) feed.close();
  if (board.clinic !== clinic) {
    Object.assign(board, { clinic, name: "", seq: null, rooms: new Map(), visits: new Map(), delays: new Map() });
    pins.clear();
    render();
  }
  feed = openFeed({
    clinic,
    token: () => token,
    onMessage: handle,
    onStatus: feedStatus,
    onEnded: feedEnded,
  });
}

function feedStatus(mode, text) {
  feedMode = mode;
  if (mode === "live" || mode === "stale") {
    wentDown = false;
    downSince = null;
  } else if (mode === "offline") {
    wentDown = true;
    downSince ??= serverNow();
  }
  feedText = mode === "live" ? t("conn.live") : mode === "stale" ? t("conn.stale") : text || titleCase(mode);
  $("stale").hidden = mode !== "stale";
  updateBanner();
}

function feedEnded(code, reason) {
  if (code === CLOSE.UNAUTHENTICATED || code === CLOSE.SIGNED_OUT) {
    signedOut(t(reason ? "tablet.sign_in_ended_why" : "tablet.sign_in_ended", { why: reason }));
    return;
  }
  show($("board-message"), reason || t("tablet.may_not_watch"), "error");
}

/** The server's clock, from heartbeats. A snapshot's `now` can be older (the server encodes a snapshot once
 *  per seq), so it only sets the clock until the first heartbeat; an event is never in the future. */
let clockFromHeartbeat = false;
function setClock(iso, { from = "heartbeat" } = {}) {
  const ms = parseTime(iso);
  if (!Number.isFinite(ms)) return;
  if (from === "heartbeat") {
    clockFromHeartbeat = true;
    board.offsetMs = ms - Date.now();
  } else if (from === "snapshot" ? !clockFromHeartbeat : ms > serverNow()) {
    board.offsetMs = ms - Date.now();
  }
}

/** Keep the newest of two versions of a visit (a refusal or an answer can be ahead of the feed), and its plan
 * when the server sent one with it. */
function putVisit(visit, plan) {
  if (!visit || !visit.id) return;
  const have = board.visits.get(visit.id);
  if (!have || !(have.version > visit.version)) {
    board.visits.set(visit.id, visit);
    if (plan) board.plans.set(visit.id, plan);
  }
}

function putRoom(room) {
  if (!room || !room.id) return;
  const have = board.rooms.get(room.id);
  if (!have || !(have.version > room.version)) board.rooms.set(room.id, room);
}

function handle(msg) {
  try {
    apply(msg);
  } finally {
    lastHeard = serverNow();
  }
}

function apply(msg) {
  switch (msg.kind) {
    case "snapshot": {
      const b = msg.board;
      Object.assign(board, {
        name: String(b.name),
        timezone: b.timezone,
        seq: msg.seq,
        generation: board.generation + 1,
        rooms: new Map((b.rooms || []).map((r) => [r.id, r])),
        visits: new Map((b.visits || []).map((v) => [v.id, v])),
        providers: new Map((b.providers || []).map((p) => [p.id, p])),
        visitTypes: new Map((b.visit_types || []).map((vt) => [vt.code, vt])),
        thresholds: b.thresholds || {},
        delays: new Map((b.delays || []).map((d) => [d.provider, d])),
        presence: new Map((b.presence || []).map((p) => [p.provider, p])),
        plans: new Map((b.plans || []).map((p) => [p.visit, p])),
        alerts: new Map((b.alerts || []).map((a) => [a.id, a])),
      });
      setClock(b.now, { from: "snapshot" });
      fillWalkinChoices();
      fillProviderFilter();
      fillPresenceProviders();
      $("board-message").hidden = true;
      sendKeptAgain();
      break;
    }
    case "event":
      board.seq = msg.seq;
      setClock(msg.event?.at, { from: "event" });
      if (msg.visit) putVisit(msg.visit, msg.plan);
      for (const r of msg.rooms || []) putRoom(r);
      if (msg.presence) board.presence.set(msg.presence.provider, msg.presence);
      if (msg.alert) board.alerts.set(msg.alert.id, msg.alert);
      if (msg.visit) detail.changed(msg.visit.id);
      break;
    case "heartbeat":
      setClock(msg.now);
      tick();
      return;
    case "delays":
    case "measures":
      board.delays = new Map((msg.delays || []).map((d) => [d.provider, d]));
      renderDelay();
      return;
    default:
      return;
  }
  render();
}

addEventListener("offline", () => updateBanner());
addEventListener("online", () => {
  // The socket may have died quietly while the network was gone: start it again at once rather than wait
  // for its next retry (a fresh snapshot; taps waiting to be sent retry by themselves, see lib/api.js).
  if (token && board.clinic && feedMode !== "live") startFeed(board.clinic);
  updateBanner();
});

// -- which visits each role works on ------------------------------------------------------------------------

// What each role taps and the lists it works from: static/tablet/work.js.

function myProvider() {
  // The server says which clinic provider a provider's sign-in is (their account's provider id).
  if (me && me.role === "provider" && me.provider && board.providers.has(me.provider)) return me.provider;
  const chosen = $("provider-filter").value;
  return chosen && board.providers.has(chosen) ? chosen : null;
}

/** The front desk's search and views (lib/desk.js), on the clinic's clock: a patient not yet come is due by
 *  the clinic's plan (roomed by then), else at their booked time. */
const desk = frontDesk({ onChange: () => render() });
function deskClock() {
  const dueOf = (v) => {
    const due = v.stage === "scheduled" && !v.walk_in ? parseTime(board.plans.get(v.id)?.roomed) : NaN;
    return Number.isFinite(due) ? due : parseTime(v.start);
  };
  return { now: serverNow(), timezone: board.timezone, dueOf };
}

/** The lists of a role's panel (tablet/work.js), the front desk's from lib/desk.js. */
function listsOf(role) {
  const mine = myProvider();
  return workLists(role, {
    deskLists: () => desk.lists({ ...deskClock(), byStart, bySince, mine }),
    mine,
    you: Boolean(mine) && me.provider === mine,
  });
}

function currentView() {
  if (!me) return null;
  if (me.role !== "manager") return me.role;
  const tab = local.get(TAB_KEY);
  return ROLES.includes(tab) ? tab : "front_desk";
}

// -- rendering -----------------------------------------------------------------------------------------------

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  queueMicrotask(() => {
    renderQueued = false;
    renderNow();
  });
}

function renderNow() {
  if (!me) return;
  expirePins();
  $("clinic-title").textContent = board.name || t("tablet.clinic");
  renderSummary();
  const view = currentView();
  for (const r of ROLES) {
    const panel = $(`panel-${r}`);
    const shown = r === view;
    panel.hidden = !shown;
    const tab = $(`tab-${r}`);
    tab.setAttribute("aria-selected", String(shown));
    tab.tabIndex = shown ? 0 : -1;
    const holder = panel.querySelector("[data-lists]");
    // Only the panel on screen holds cards: one card per visit on the page.
    if (!shown) holder.replaceChildren();
    else renderPanel(holder, r);
    if (shown && r === "front_desk" && board.seq !== null) desk.paint({ visits: [...board.visits.values()], ...deskClock() });
  }
  renderDelay();
  renderPresence();
  renderFloor();
  renderAlerts($("tablet-alerts"), board.alerts.values(), { visit: (id) => board.visits.get(id), provider: providerName, clock });
  updateBanner();
}

function renderSummary() {
  if (board.seq === null) {
    $("summary").textContent = t("tablet.loading");
    return;
  }
  const visits = [...board.visits.values()];
  const count = (stage) => visits.filter((v) => v.stage === stage).length;
  const ready = [...board.rooms.values()].filter((r) => r.state === "ready").length;
  const date = clinicFormat({ weekday: "long", month: "long", day: "numeric" }).format(new Date(serverNow()));
  $("summary").textContent = t("tablet.summary", { date, expected: count("scheduled"), waiting: count("arrived"),
    ready: tn("tablet.rooms_ready", ready, { of: board.rooms.size }) });
}

function renderPanel(holder, role) {
  if (board.seq === null) {
    holder.replaceChildren(el("p", { class: "hint", text: t("tablet.loading") }));
    return;
  }
  const lists = listsOf(role);
  const pinnedHere = new Map(); // list key -> [visit]
  for (const [id, pin] of pins) {
    const v = board.visits.get(id);
    if (!v) continue;
    if (!lists.some((l) => l.key === pin.list)) continue;
    if (!pinnedHere.has(pin.list)) pinnedHere.set(pin.list, []);
    pinnedHere.get(pin.list).push(v);
  }
  const pinnedIds = new Set([...pinnedHere.values()].flat().map((v) => v.id));
  const sections = lists.map((list) => {
    let section = holder.querySelector(`:scope > [data-list="${list.key}"]`);
    if (!section) {
      const titleId = `list-${list.key}`;
      section = el("section", { class: `list${list.compact ? " compact" : ""}`, "data-list": list.key, "aria-labelledby": titleId },
        el("h3", { id: titleId }, el("span", { class: "list-title", text: list.title }), " ", el("span", { class: "count" })),
        el("p", { class: "empty hint" }),
        el("ul", { class: list.rooms ? "cards room-cards" : "cards" }));
    }
    section.querySelector(".list-title").textContent = list.title;
    if (list.rooms) {
      renderRoomList(section);
      return section;
    }
    let visits = [...board.visits.values()].filter((v) => list.stages.includes(v.stage) && !pinnedIds.has(v.id) &&
      (!list.filter || list.filter(v)));
    visits.sort(list.sort);
    visits = [...(pinnedHere.get(list.key) || []), ...visits];
    section.querySelector(".count").textContent = `(${visits.length})`;
    const empty = section.querySelector(".empty");
    empty.textContent = list.empty;
    empty.hidden = visits.length > 0;
    syncChildren(section.querySelector("ul"), visits.map((v) => ({
      key: v.id,
      sig: cardSignature(v, role, list),
      build: () => visitCard(v, role, list),
    })));
    return section;
  });
  if (sections.some((s, i) => holder.children[i] !== s) || holder.children.length !== sections.length) {
    holder.replaceChildren(...sections);
  }
}

/** Put `items` (in order) into `parent`, building a node only when it is new or its signature changed, so
 *  cards that did not change keep their DOM (and a finger on one of their buttons). */
function syncChildren(parent, items) {
  const existing = new Map();
  for (const child of parent.children) existing.set(child.dataset.key, child);
  const wanted = [];
  for (const item of items) {
    let node = existing.get(item.key);
    existing.delete(item.key);
    if (!node || node._sig !== item.sig) {
      const fresh = item.build();
      fresh.dataset.key = item.key;
      fresh._sig = item.sig;
      if (node) {
        const focus = focusKey(node);
        node.replaceWith(fresh);
        if (focus) restoreFocus(fresh, focus);
      }
      node = fresh;
    }
    wanted.push(node);
  }
  for (const gone of existing.values()) gone.remove();
  wanted.forEach((node, i) => {
    if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] || null);
  });
}

function focusKey(node) {
  const active = document.activeElement;
  if (!active || !node.contains(active)) return null;
  for (const attr of ["data-pick-room", "data-step", "data-action"]) {
    if (active.hasAttribute(attr)) return `[${attr}="${CSS.escape(active.getAttribute(attr))}"]`;
  }
  return "[tabindex]";
}

function restoreFocus(node, selector) {
  const target = node.querySelector(selector) || node.querySelector("button:not([disabled])");
  if (target) target.focus({ preventScroll: true });
  else {
    node.tabIndex = -1;
    node.focus({ preventScroll: true });
  }
}

const readyRooms = () => [...board.rooms.values()].filter((r) => r.state === "ready");

function cardSignature(v, role, list) {
  const p = pending.get(v.id);
  const pin = pins.get(v.id);
  const next = NEXT[role]?.[v.stage];
  return JSON.stringify([
    board.generation, v.version, v.stage, v.room, list.key, role,
    p ? [p.version, p.step, p.waiting] : null,
    pin ? [pin.note, pin.kind] : null,
    next === "roomed" && pickerFor === v.id ? readyRooms().map((r) => r.id) : null,
    v.room ? roomLabel(v.room) : null,
  ]);
}

function visitCard(v, role, list) {
  const p = pending.get(v.id);
  const sending = p && p.version === v.version; // this card's tap is on its way
  const busy = Boolean(p); // one tap at a time per visit
  const pin = pins.get(v.id);
  const next = NEXT[role]?.[v.stage];
  const more = (MORE[role]?.[v.stage] || []).filter((s) => s !== next);
  const titleId = `card-${list.key}-${v.id}`;
  const card = el("li", {
    class: `vcard stage-${v.stage}${list.compact ? " compact" : ""}${pin ? " pinned" : ""}`,
    "data-visit": v.id,
    "data-stage": v.stage,
    "data-version": v.version,
    "data-sending": sending ? "" : null,
    "aria-labelledby": titleId,
    "aria-busy": sending ? "true" : null,
  });

  const head = el("div", { class: "vhead" },
    el("h4", { id: titleId, class: "patient", text: v.patient_name }),
    visitCode(v.token),
    v.walk_in ? el("span", { class: "badge", text: t("tablet.walk_in_badge") }) : null,
    detailButton(v));
  card.append(head);

  const start = parseTime(v.start);
  const meta = [providerName(v.provider), typeLabel(v.visit_type)];
  if (Number.isFinite(start) && !v.walk_in) meta.push(t("detail.booked_at", { time: clock(start) }));
  if (v.room) meta.push(roomLabel(v.room));
  card.append(el("p", { class: "meta", text: meta.join(" · ") }));

  const status = el("p", { class: "status" }, el("span", { class: "stage-label", text: stageLabel(v.stage) }));
  // A patient not yet come is due by the clinic's plan (the server's: where booked times are the provider's,
  // patients are due before them, to be roomed and prepped by then).
  const due = v.stage === "scheduled" && !v.walk_in ? board.plans.get(v.id)?.roomed : undefined;
  if (due && Number.isFinite(parseTime(due))) {
    status.append(" · ", waitSpan("due", due));
  } else if (WAIT[v.stage] && v.times?.[v.stage]) {
    status.append(" · ", waitSpan("wait", v.times[v.stage], t(WAIT[v.stage].label), board.thresholds?.[WAIT[v.stage].limit]));
  }
  const last = v.steps?.at(-1);
  if (last && last.step === v.stage && last.by) status.append(el("span", { class: "by", text: ` · by ${last.by} at ${clock(last.at)}` }));
  card.append(status);
  if (v.notes) card.append(el("p", { class: "notes", text: v.notes }));

  if (pin) {
    const note = el("div", { class: `note ${pin.kind}`, "data-conflict": pin.kind === "conflict" ? "" : null,
      "data-error": pin.kind === "error" ? "" : null, role: "status" },
    el("p", {}, el("span", { class: "icon", "aria-hidden": "true", text: "⚠ " }), el("strong", { text: `${t(pin.kind === "conflict" ? "card.not_sent" : "card.refused")} ` }), pin.note),
    el("button", { type: "button", class: "link-button", "data-action": "dismiss", text: t("card.got_it") }));
    card.append(note);
  }
  if (sending) {
    card.append(el("p", { class: `note sending${p.waiting ? " waiting" : ""}`, role: "status", text: p.waiting === "offline"
      ? t("card.kept_offline") : p.waiting === "busy" ? t("card.busy") : t("card.sending") }));
  }

  if (next) {
    if (next === "checked_out" && v.stage === "provider_in") {
      card.append(el("p", { class: "hint", text: t("card.teach_back_missing") }));
    }
    const label = sending && p.step === next ? t("card.sending") : STEP_BUTTON[next];
    const picking = next === "roomed" && pickerFor === v.id && !busy;
    card.append(el("button", { type: "button", class: "primary next", "data-action": "next", "data-step": next,
      disabled: busy, text: label, "aria-expanded": next === "roomed" ? String(picking) : null,
      "aria-controls": next === "roomed" ? `picker-${v.id}` : null }));
    if (picking) card.append(roomPicker(v));
  } else if (!FINISHED.has(v.stage) && !list.compact) {
    card.append(el("p", { class: "hint", text: t("card.next", { what: whoIsNext(v.stage) }) }));
  }
  if (more.length) {
    card.append(el("div", { class: "more" }, ...more.map((s) => el("button", { type: "button", class: "secondary",
      "data-action": "step", "data-step": s, disabled: busy, text: sending && p.step === s ? t("card.sending") : STEP_BUTTON[s] }))));
  }
  return card;
}

function whoIsNext(stage) {
  return ORDER.includes(stage) ? t(`next.${stage}`) : t("next.nothing");
}

/** The ready rooms, as buttons: picking one rooms the patient there. */
function roomPicker(v) {
  const rooms = readyRooms();
  const group = el("div", { class: "picker", id: `picker-${v.id}`, role: "group", "aria-label": t("picker.label", { name: v.patient_name }) },
    el("p", { class: "picker-label", text: rooms.length ? t("picker.pick") : t("picker.none") }));
  const buttons = el("div", { class: "picker-rooms" }, ...rooms.map((r) => el("button", { type: "button", class: "room-choice",
    "data-pick-room": r.id, text: r.label })));
  if (rooms.length) group.append(buttons);
  return group;
}

function waitSpan(kind, iso, label, limit) {
  const span = el("span", { class: "wait", "data-kind": kind, "data-since": iso, "data-label": label || "",
    "data-limit": limit || "" });
  paintWait(span);
  return span;
}

function paintWait(span) {
  const since = parseTime(span.dataset.since);
  if (!Number.isFinite(since)) return;
  const now = serverNow();
  if (span.dataset.kind === "due") {
    const late = now - since;
    span.textContent = late >= 60000 ? t("due.late", { time: duration(late) }) : late > -60000 ? t("due.now") : t("due.in", { time: duration(-late) });
    span.classList.toggle("over", late >= 10 * 60000);
    return;
  }
  const ms = now - since;
  const limit = Number(span.dataset.limit);
  const over = limit > 0 && ms >= limit * 60000;
  const text = `${span.dataset.label} ${duration(ms)}${over ? t("wait.long") : ""}`;
  if (span.textContent !== text) span.textContent = text;
  span.classList.toggle("over", over);
}

/** Waits count up on screen every second (server time: the demo's clock runs fast). */
function tick() {
  for (const span of document.querySelectorAll(".wait[data-since]")) paintWait(span);
}
setInterval(() => {
  tick();
  if (pins.size && [...pins.values()].some((p) => p.until < Date.now())) render();
}, 1000);

function renderRoomList(section) {
  const rooms = [...board.rooms.values()].filter((r) => r.state === "turnover" || r.state === "blocked");
  rooms.sort((a, b) => (a.state === "blocked") - (b.state === "blocked") || parseTime(a.since) - parseTime(b.since));
  const ready = readyRooms();
  section.querySelector(".count").textContent = `(${rooms.filter((r) => r.state === "turnover").length})`;
  const empty = section.querySelector(".empty");
  empty.textContent = t("rooms.none_to_clean", { ready: ready.length ? ready.map((r) => r.label).join(", ") : t("rooms.none") });
  empty.hidden = rooms.length > 0;
  syncChildren(section.querySelector("ul"), rooms.map((r) => ({
    key: r.id,
    sig: JSON.stringify([board.generation, r.version, r.state, pendingRooms.get(r.id)?.waiting ?? pendingRooms.has(r.id)]),
    build: () => roomCard(r),
  })));
}

function roomCard(r) {
  const p = pendingRooms.get(r.id);
  const titleId = `room-${r.id}`;
  const card = el("li", { class: `rcard room-${r.state}`, "data-room": r.id, "data-state": r.state, "aria-labelledby": titleId },
    el("h4", { id: titleId, class: "room-name", text: r.label }),
    el("p", { class: "status" }, el("span", { class: "stage-label", text: ROOM_STATE_LABEL[r.state] || titleCase(r.state) }),
      r.since ? " · " : "", r.since ? waitSpan("wait", r.since, t("wait.for")) : ""));
  if (p) card.append(el("p", { class: "note sending", role: "status",
    text: p.waiting === "offline" ? t("rooms.kept_offline") : t("card.sending") }));
  if (r.state === "turnover") {
    card.append(el("button", { type: "button", class: "primary", "data-action": "room-ready", disabled: Boolean(p),
      text: p ? t("card.sending") : t("rooms.ready_button") }));
  } else if (r.state === "blocked") {
    card.append(el("button", { type: "button", class: "secondary", "data-action": "room-unblock", disabled: Boolean(p),
      text: p ? t("card.sending") : t("rooms.unblock") }));
  }
  if (!p) card.append(roomUndoButton(r, me) || "");
  return card;
}

function renderDelay() {
  const node = $("provider-delay");
  if (!me || currentView() !== "provider" || board.seq === null) {
    node.hidden = true;
    return;
  }
  const mine = myProvider();
  const delays = mine ? [board.delays.get(mine)].filter(Boolean) : [...board.delays.values()].filter((d) => d.lateness >= 1);
  const parts = delays.map((d) => {
    const you = mine && me.provider === mine;
    const name = providerName(d.provider);
    if (d.lateness < 1) return t(you ? "delay.you_on_time" : "delay.on_time", { name });
    const vars = { name, minutes: Math.round(d.lateness), time: clock(d.recovers_at) };
    return t(`delay.${you ? "you_" : ""}behind${d.recovers_at ? "_back" : ""}`, vars);
  });
  node.textContent = parts.join(" ") || t("delay.everyone_on_time");
  node.hidden = false;
}

function renderFloor() {
  if (!$("floor-details").open || board.seq === null) {
    if (board.seq === null) {
      $("rooms").replaceChildren();
      $("visits-body").replaceChildren();
    }
    return;
  }
  const now = serverNow();
  $("rooms").replaceChildren(...[...board.rooms.values()].map((r) => {
    const li = el("li", { class: `room room-${r.state}` },
      el("span", { class: "room-label", text: r.label }),
      el("span", { class: "room-state", text: ROOM_STATE_LABEL[r.state] || titleCase(r.state) }));
    const v = r.visit ? board.visits.get(r.visit) : null;
    if (v) li.append(el("span", { class: "room-who", text: v.patient_name }), el("span", { class: "room-stage", text: stageLabel(v.stage) }));
    else if (r.since) li.append(el("span", { class: "room-stage", text: `for ${duration(now - parseTime(r.since))}` }));
    const undo = roomUndoButton(r, me);
    if (undo) li.append(undo);
    return li;
  }));
  const visits = [...board.visits.values()];
  visits.sort((a, b) => (FINISHED.has(a.stage) - FINISHED.has(b.stage)) || byStart(a, b));
  $("visits-body").replaceChildren(...visits.map((v) => el("tr", { class: FINISHED.has(v.stage) ? "finished" : "" },
    el("td", { text: `${clock(v.start)}${v.walk_in ? " (walk-in)" : ""}` }),
    el("td", { class: "patient", text: v.patient_name }),
    el("td", {}, visitCode(v.token)),
    el("td", { text: providerName(v.provider) }),
    el("td", { text: typeLabel(v.visit_type) }),
    el("td", { text: `${stageLabel(v.stage)}${v.entered_in_error ? t("detail.event.in_error") : ""}` }),
    el("td", { text: v.room ? roomLabel(v.room) : "" }),
    el("td", {}, detailButton(v)))));
  $("visits-empty").hidden = visits.length > 0;
}
$("floor-details").addEventListener("toggle", () => renderFloor());

// -- the offline banner --------------------------------------------------------------------------------------

function updateBanner() {
  const banner = $("offline");
  const waiting = [...pending.entries()].filter(([, p]) => p.waiting === "offline");
  const roomsWaiting = [...pendingRooms.entries()].filter(([, p]) => p.waiting === "offline");
  const browserOffline = navigator.onLine === false;
  const feedDown = wentDown && feedMode !== "live" && feedMode !== "stale";
  const off = Boolean(me) && (browserOffline || feedDown || waiting.length > 0 || roomsWaiting.length > 0 ||
    walkinPending?.waiting === "offline" || toasts.current?.waiting === "offline" ||
    [...sendingAgain.values()].some((r) => r.waiting === "offline"));
  if (off) {
    downSince ??= serverNow();
  } else if (!feedDown) {
    downSince = null;
  }
  banner.hidden = !off;
  paintLive(off, browserOffline);
  if (!off) return;
  // A live region: write only what changed, so a screen reader is not told the same thing again.
  setText($("offline-since"), t("offline.since", { time: clock(downSince) }));
  const heard = lastHeard ? ` ${t("offline.last_update", { time: clock(lastHeard) })}` : "";
  setText($("offline-detail"), `${t(browserOffline ? "offline.no_network" : "offline.dropped")} ${t("offline.out_of_date")}${heard} ` +
    t("offline.taps_kept"));
  const lines = [
    ...waiting.map(([id, p]) => t("offline.step_waiting", { name: board.visits.get(id)?.patient_name || id, step: stepDone(p.step, p.room) })),
    ...roomsWaiting.map(([id]) => t("offline.room_waiting", { room: roomLabel(id) })),
    ...(walkinPending?.waiting === "offline" ? [t("offline.walk_in_waiting", { name: walkinPending.name })] : []),
    ...(toasts.current?.waiting === "offline" ? [t("offline.undo_waiting", { name: toasts.current.patient })] : []),
    ...[...sendingAgain.values()].filter((r) => r.waiting === "offline" && !r.visit).map((r) => t("offline.kept_waiting", { what: r.label })),
  ];
  if (lines.join("\n") !== [...$("offline-taps").children].map((li) => li.textContent).join("\n")) {
    $("offline-taps").replaceChildren(...lines.map((line) => el("li", { text: line })));
  }
}

/** The connection pill tells the truth: green only while the feed is live and nothing is offline; while the
 *  tablet has no network, or taps wait for it, it says so (the banner says more). */
function paintLive(off, browserOffline) {
  const mode = !off ? feedMode : feedMode === "connecting" ? "connecting" : "offline";
  const text = !off ? feedText : browserOffline ? t("conn.offline") : feedMode === "connecting" ? feedText
    : feedMode === "live" || feedMode === "stale" ? t("offline.not_reaching") : feedText;
  const live = $("live");
  if (live.className !== `live live-${mode}`) live.className = `live live-${mode}`;
  live.dataset.mode = mode;
  setText($("live-text"), text);
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// -- taps ----------------------------------------------------------------------------------------------------

const visitPath = (id) => `/api/clinics/${encodeURIComponent(board.clinic)}/visits/${encodeURIComponent(id)}/events`;

document.addEventListener("click", (e) => {
  const button = e.target.closest("button[data-action], button[data-pick-room]");
  if (!button || button.disabled) return;
  const card = button.closest("[data-visit]");
  if (button.hasAttribute("data-pick-room")) {
    if (card) sendStep(card, "roomed", button.dataset.pickRoom);
    return;
  }
  switch (button.dataset.action) {
    case "next":
      if (button.dataset.step === "roomed") {
        // Rooming needs a room: the card opens its picker of ready rooms (and closes it on a second tap).
        const id = card.dataset.visit;
        pickerFor = pickerFor === id ? null : id;
        renderNow();
        if (pickerFor === id) {
          const fresh = document.querySelector(`[data-visit="${CSS.escape(id)}"]`);
          (fresh?.querySelector("[data-pick-room]") || fresh?.querySelector("[data-action='next']"))?.focus({ preventScroll: true });
          fresh?.querySelector(".picker")?.scrollIntoView({ block: "nearest" });
        }
        return;
      }
      sendStep(card, button.dataset.step);
      return;
    case "step":
      // Ending a visit asks first; so does a provider's check-out that skips the teach-back.
      if (ENDING.has(button.dataset.step) || (button.dataset.step === "checked_out" && card.dataset.stage === "provider_in")) {
        confirmStep(card, button.dataset.step);
        return;
      }
      sendStep(card, button.dataset.step);
      return;
    case "detail":
      detail.open(button.dataset.detailVisit, button);
      return;
    case "room-undo":
      detail.undoRoom(button.dataset.undoRoom, board.rooms.get(button.dataset.undoRoom)?.version);
      return;
    case "dismiss":
      pins.delete(card.dataset.visit);
      render();
      return;
    case "undo":
      sendUndo();
      return;
    case "room-ready":
      sendRoom(button.closest("[data-room]").dataset.room, "ready");
      return;
    case "room-unblock":
      sendRoom(button.closest("[data-room]").dataset.room, "unblocked");
      return;
    default:
  }
});

// -- fixing mistakes: confirming the steps that end a visit, a visit's detail and history (lib/visit-detail.js) -

/** Ask before ending a visit (no-show, cancel, left unseen); the card's tap goes only on "yes". */
async function confirmStep(card, step) {
  const id = card.dataset.visit;
  const v = board.visits.get(id);
  if (!v) return;
  const code = v.token ? ` (${v.token})` : "";
  const yes = t(`confirm.yes.${step}`);
  const skip = step === "checked_out" ? ` ${t("confirm.skip_teach_back")}` : "";
  const ok = await confirmEnd({ title: t("confirm.title", { step: STEP_BUTTON[step], name: v.patient_name, code }),
    text: `${t("confirm.ends")}${skip} ${t("confirm.undo_later")}`, yes });
  const fresh = document.querySelector(`[data-visit="${CSS.escape(id)}"]`);
  if (ok && fresh) sendStep(fresh, step);
}

function detailButton(v) {
  return el("button", { type: "button", class: "link-button details", "data-action": "detail", "data-detail-visit": v.id,
    "aria-label": t("card.details_label", { name: v.patient_name }), text: t("card.details") });
}

const detail = createVisitDetail({
  clinic: () => board.clinic,
  me: () => me,
  visit: (id) => board.visits.get(id),
  request: (method, path) => request(method, path),
  send: (path, body) => tap(path, body, { token }),
  labels: { stage: stageLabel, step: stepDone, provider: providerName, type: typeLabel, room: roomLabel, clock },
  onAnswer: (answer) => {
    putVisit(answer.visit, answer.plan);
    if (answer.visit) pins.delete(answer.visit.id);
    render();
  },
  onRoom: (answer) => {
    putRoom(answer.room);
    render();
  },
  say: (text, error) => toasts.show({ text, error }),
});

async function sendStep(card, step, room) {
  const id = card.dataset.visit;
  if (!id || pending.has(id)) return;
  // The version the card shows: if the visit moved on since, the server refuses and says how.
  const version = Number(card.dataset.version);
  const list = card.closest("[data-list]")?.dataset.list;
  const shownStage = card.dataset.stage;
  const p = { step, room, version, list, key: newKey(), waiting: null, ctrl: new AbortController() };
  pending.set(id, p);
  if (pickerFor === id) pickerFor = null;
  pins.delete(id);
  render();
  const body = { type: step, expected_version: version };
  if (room) body.room = room;
  try {
    const answer = await kept.send(keptTap({ key: p.key, path: visitPath(id), body, visit: id, stage: shownStage }), {
      token,
      signal: p.ctrl.signal,
      onWaiting: (attempt, err) => {
        p.waiting = err instanceof Offline ? "offline" : "busy";
        render();
      },
    });
    if (pending.get(id) !== p) return;
    putVisit(answer.visit, answer.plan);
    showUndo(answer.visit, step, room);
  } catch (err) {
    if (pending.get(id) !== p) return;
    refused(id, err, { list, shownStage, step });
  } finally {
    if (pending.get(id) === p) pending.delete(id);
    render();
  }
}

// -- taps kept in the browser: sent again after a reload (lib/outbox.js) -----------------------------------

const kept = outbox({ send: tap });
/** Taps kept from before this page started, being sent again: key -> {label, visit, waiting}. */
const sendingAgain = new Map();

/** A tap as kept: for this clinic and the person signed in, with when (server clock) it was made. */
const keptTap = (entry) => ({ ...entry, clinic: board.clinic, staff: me.id, kept_at: serverNow() });

/** What a kept tap was, in words, from what the board shows now. */
function keptLabel(entry) {
  const body = entry.body || {};
  if (entry.visit) {
    const name = board.visits.get(entry.visit)?.patient_name || t("kept.a_patient");
    return `${name}: ${stepDone(body.type, body.room)}`;
  }
  if (entry.provider) return `${providerName(entry.provider)}: ${body.type === "undo" ? t("kept.undo") : PRESENCE_LABEL[body.type]}`;
  if (entry.room) return `${roomLabel(entry.room)} ${ROOM_MARK[body.type] || body.type}`;
  if (body.walk_in) return t("kept.walk_in", { name: body.patient_name });
  return t("kept.a_tap");
}

/** Once the board is in: send again every tap this tablet kept for this clinic and person (a reload, a crash),
 *  with its own Idempotency-Key, so what the server already stored is answered, not stored twice. */
function sendKeptAgain() {
  if (!me || !board.clinic) return;
  // A tap made on an earlier clinic day is not sent (a walk-in would be booked today).
  const dayOf = (ms) => clinicFormat({ year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(ms));
  const today = dayOf(serverNow());
  const { again, old } = kept.left(board.clinic, me.id, (e) => !Number.isFinite(e.kept_at) || dayOf(e.kept_at) !== today);
  for (const entry of old) noteRefused(t("kept.too_old", { what: keptLabel(entry) }));
  for (const entry of again) if (!sendingAgain.has(entry.key)) sendAgain(entry);
}

async function sendAgain(entry) {
  const r = { label: keptLabel(entry), visit: entry.visit, waiting: null, ctrl: new AbortController() };
  sendingAgain.set(entry.key, r);
  const body = entry.body || {};
  // The card shows the tap on its way, as if just tapped.
  const p = entry.visit && !pending.has(entry.visit) ? { step: body.type, room: body.room, version: body.expected_version,
    key: entry.key, waiting: null, ctrl: r.ctrl } : null;
  if (p) pending.set(entry.visit, p);
  render();
  try {
    const answer = await kept.send(entry, {
      token,
      signal: r.ctrl.signal,
      onWaiting: (attempt, err) => {
        r.waiting = err instanceof Offline ? "offline" : "busy";
        if (p) p.waiting = r.waiting;
        render();
      },
    });
    if (answer?.visit) putVisit(answer.visit, answer.plan);
    if (answer?.room) putRoom(answer.room);
    if (answer?.presence) board.presence.set(answer.presence.provider, answer.presence);
    toasts.show({ text: t("kept.sent", { what: r.label }) });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      signedOut(err.message);
      return;
    }
    if (err instanceof ApiError) {
      if (err.body?.visit) putVisit(err.body.visit);
      const why = err.status === 409 && err.body?.visit && (err.body.error === "stale_version" || err.body.error === "illegal_step")
        ? conflictText(err.body.visit, entry.stage) : err.message;
      noteRefused(`${r.label}: ${why}`);
    }
  } finally {
    sendingAgain.delete(entry.key);
    if (p && pending.get(entry.visit) === p) pending.delete(entry.visit);
    render();
  }
}

/** Kept taps the server refused stay listed until someone has read them. */
function noteRefused(text) {
  const list = $("kept-refused-list");
  list.append(el("li", { text }));
  $("kept-refused").hidden = false;
}
$("kept-refused-ok").addEventListener("click", () => {
  $("kept-refused").hidden = true;
  $("kept-refused-list").replaceChildren();
});

/** A tap was refused: the card shows why, as the visit is now, where it was tapped. */
function refused(id, err, { list, shownStage, step }) {
  if (err instanceof ApiError && err.status === 401) {
    signedOut(err.message);
    return;
  }
  let note;
  let kind = "error";
  if (err instanceof ApiError) {
    const body = err.body || {};
    if (body.visit) putVisit(body.visit);
    if (err.status === 409 && (body.error === "stale_version" || body.error === "illegal_step") && body.visit) {
      kind = "conflict";
      note = conflictText(body.visit, shownStage);
    } else if (err.status === 409) {
      kind = "conflict";
      note = err.message;
      if (body.error === "room_unavailable" && step === "roomed") {
        note += ` ${t("picker.another")}`;
        pickerFor = id;
      }
    } else {
      note = err.message;
    }
  } else {
    note = errorText(err);
  }
  if (list) pins.set(id, { list, note, kind, until: Date.now() + PIN_MS, step });
  else toasts.show({ text: note });
}

/** What happened to a visit meanwhile, from its last step: "Already roomed in East 2 by ben at 10:42." */
function conflictText(visit, shownStage) {
  const last = visit.steps?.at(-1);
  const now = stageLabel(visit.stage);
  if (stageIndex(visit.stage) > stageIndex(shownStage) && last && last.step === visit.stage) {
    return t("conflict.already", { step: stepDone(last.step, last.room), who: last.by || t("conflict.someone"), time: clock(last.at) });
  }
  if (last) {
    return t("conflict.undone_last", { now, step: stepDone(last.step, last.room), who: last.by || t("conflict.someone"),
      time: clock(last.at) });
  }
  // A visit still scheduled also changes when a schedule import moves its time or provider.
  if (visit.stage === "scheduled") return t("conflict.rescheduled", { now });
  return t("conflict.undone", { now });
}

async function sendRoom(roomId, action) {
  if (pendingRooms.has(roomId)) return;
  const p = { action, waiting: null };
  pendingRooms.set(roomId, p);
  render();
  const path = `/api/clinics/${encodeURIComponent(board.clinic)}/rooms/${encodeURIComponent(roomId)}/events`;
  try {
    const answer = await kept.send(keptTap({ key: newKey(), path, body: { type: action }, room: roomId }), {
      token,
      onWaiting: (attempt, err) => {
        p.waiting = err instanceof Offline ? "offline" : "busy";
        render();
      },
    });
    putRoom(answer.room);
    toasts.show({ text: t("rooms.now", { room: answer.room.label, state: ROOM_STATE_LABEL[answer.room.state]?.toLowerCase() || answer.room.state }),
      undo: { room: roomId, version: answer.room.version }, patient: answer.room.label });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signedOut(err.message);
    const room = board.rooms.get(roomId);
    const already = err instanceof ApiError && err.status === 409 && room && room.state === "ready" && action === "ready";
    toasts.show({ text: already ? t("rooms.already_ready", { room: room.label }) : `${roomLabel(roomId)}: ${errorText(err)}`, error: true });
  } finally {
    pendingRooms.delete(roomId);
    render();
  }
  return undefined;
}

// -- provider presence: running late to clinic, stepped away, back ------------------------------------------

const PRESENCE_LABEL = labels("presence", { running_late: "running late to clinic", stepped_away: "stepped away", back: "back" });
let presencePending = false;

/** Whose presence this tablet may say: a provider their own, an assistant or a manager any provider's. */
function presenceProvider() {
  if (!me || board.seq === null) return null;
  if (me.role === "provider") return me.provider && board.providers.has(me.provider) ? me.provider : null;
  if (me.role !== "medical_assistant" && me.role !== "manager") return null;
  const chosen = $("presence-provider").value;
  return board.providers.has(chosen) ? chosen : null;
}

function fillPresenceProviders() {
  const select = $("presence-provider");
  const keep = select.value;
  select.replaceChildren(...[...board.providers.values()].map((p) => el("option", { value: p.id, text: p.name })));
  if (board.providers.has(keep)) select.value = keep;
}
$("presence-provider").addEventListener("change", () => render());

function presenceText(provider, p) {
  const own = me && me.provider === provider;
  const name = providerName(provider);
  if (!p || p.status === "back") return t(own ? "presence.you_on_floor" : "presence.on_floor", { name });
  const back = p.back_at ? t("presence.back_about", { time: clock(p.back_at) }) : "";
  return t(own ? "presence.you_said" : "presence.said", { name, what: PRESENCE_LABEL[p.status], back,
    by: p.by === me?.id ? t("presence.by_you") : p.by });
}

function renderPresence() {
  const section = $("presence");
  const view = currentView();
  const provider = presenceProvider();
  const shown = view === "provider" || view === "medical_assistant";
  section.hidden = !shown || (me.role === "provider" && !provider) || board.seq === null;
  if (section.hidden) return;
  const own = me.role === "provider";
  $("presence-provider-field").hidden = own;
  setText($("presence-title"), t(own ? "presence.where_you" : "presence.where"));
  const p = provider ? board.presence.get(provider) : null;
  setText($("presence-now"), provider ? presenceText(provider, p) : "");
  for (const button of section.querySelectorAll("button[data-presence]")) {
    button.disabled = presencePending || !provider;
    button.setAttribute("aria-pressed", String(Boolean(p) && p.status === button.dataset.presence && p.status !== "back"));
  }
}

$("presence").addEventListener("click", (e) => {
  const button = e.target.closest("button[data-presence]");
  if (button && !button.disabled) sendPresence(button.dataset.presence);
});

const presencePath = (provider) =>
  `/api/clinics/${encodeURIComponent(board.clinic)}/providers/${encodeURIComponent(provider)}/presence`;

async function sendPresence(status) {
  const provider = presenceProvider();
  if (!provider || presencePending) return;
  const body = { type: status, expected_version: board.presence.get(provider)?.version ?? 0 };
  const minutes = document.querySelector("input[name='presence-minutes']:checked")?.value;
  if (status !== "back" && minutes) body.back_in_minutes = Number(minutes);
  presencePending = true;
  render();
  try {
    const answer = await kept.send(keptTap({ key: newKey(), path: presencePath(provider), body, provider }), { token });
    const p = answer.presence;
    board.presence.set(p.provider, p);
    const said = { name: providerName(provider), what: PRESENCE_LABEL[p.status] };
    toasts.show({ text: t(me.provider === provider ? "presence.you_now" : "presence.now", said), undo: { presence: provider, version: p.version },
      patient: providerName(provider) });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signedOut(err.message);
    toasts.show({ text: t("presence.could_not", { what: PRESENCE_LABEL[status], why: errorText(err) }), error: true, ms: 8000 });
  } finally {
    presencePending = false;
    render();
  }
  return undefined;
}

async function sendPresenceUndo(sent) {
  const { presence: provider, version } = sent.undo;
  try {
    const answer = await kept.send(keptTap({ key: newKey(), path: presencePath(provider),
      body: { type: "undo", expected_version: version }, provider }), { token });
    const p = answer.presence;
    board.presence.set(p.provider, p);
    toasts.show({ text: t("toast.undone", { what: presenceText(provider, p) }) });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signedOut(err.message);
    toasts.show({ text: t("detail.could_not_undo", { why: errorText(err) }), error: true, ms: 8000 });
  } finally {
    render();
  }
  return undefined;
}

// -- the Undo toast (tablet/toast.js shows it) ---------------------------------------------------------------

function showUndo(visit, step, room) {
  const text = t("toast.step", { name: visit.patient_name, step: stepDone(step, room) });
  toasts.show({ text, undo: { visit: visit.id, version: visit.version, step }, patient: visit.patient_name });
}

async function sendUndo() {
  const sent = toasts.current;
  if (!sent || !sent.undo || sent.sending) return;
  const { visit: id, version } = sent.undo;
  toasts.sending();
  if (sent.undo.presence) return sendPresenceUndo(sent);
  if (sent.undo.room) {
    toasts.hide();
    return detail.undoRoom(sent.undo.room, version);
  }
  try {
    const answer = await kept.send(keptTap({ key: newKey(), path: visitPath(id), body: { type: "undo", expected_version: version },
      visit: id, stage: board.visits.get(id)?.stage }), {
      token,
      onWaiting: (attempt, err) => {
        sent.waiting = err instanceof Offline ? "offline" : "busy";
        if (toasts.current === sent) toasts.paint();
        updateBanner();
      },
    });
    putVisit(answer.visit, answer.plan);
    pins.delete(id);
    toasts.show({ text: t("detail.undone", { name: answer.visit.patient_name, stage: stageLabel(answer.visit.stage) }) });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signedOut(err.message);
    let text = t("detail.could_not_undo", { why: errorText(err) });
    if (err instanceof ApiError && err.body?.visit) {
      putVisit(err.body.visit);
      if (err.body.error === "stale_version") text = t("detail.could_not_undo", { why: conflictText(err.body.visit, sent.undo.step) });
    }
    toasts.show({ text, error: true, ms: 8000 });
  } finally {
    render();
  }
  return undefined;
}

// -- walk-ins ------------------------------------------------------------------------------------------------

function fillWalkinChoices() {
  const provider = $("walkin-provider");
  const type = $("walkin-type");
  const keepP = provider.value;
  const keepT = type.value;
  provider.replaceChildren(el("option", { value: "", text: t("walkin.choose_provider") }),
    ...[...board.providers.values()].map((p) => el("option", { value: p.id, text: p.name })));
  type.replaceChildren(...[...board.visitTypes.values()].map((vt) => el("option", { value: vt.code, text: vt.label })));
  if (board.providers.has(keepP)) provider.value = keepP;
  if (board.visitTypes.has(keepT)) type.value = keepT;
}

function fillProviderFilter() {
  const select = $("provider-filter");
  const keep = select.value || (me ? local.get(`${PROVIDER_KEY}.${me.id}`) : "");
  select.replaceChildren(el("option", { value: "", text: t("tablet.all_providers") }),
    ...[...board.providers.values()].map((p) => el("option", { value: p.id, text: p.name })));
  if (board.providers.has(keep)) select.value = keep;
  const matched = me && me.role === "provider" && Boolean(me.provider) && board.providers.has(me.provider);
  $("provider-filter-field").hidden = Boolean(matched);
  $("title-provider").textContent = matched ? t("tablet.my_patients") : t("tablet.providers_patients");
}
$("provider-filter").addEventListener("change", () => {
  // A provider whose sign-in is not the clinic's provider id picks themselves once: "my patients" first after.
  if (me) local.set(`${PROVIDER_KEY}.${me.id}`, $("provider-filter").value || null);
  render();
});

$("walkin").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (walkinPending) return;
  const name = $("walkin-name").value.trim();
  const provider = $("walkin-provider").value;
  const visitType = $("walkin-type").value;
  if (!name) {
    $("walkin-name").setCustomValidity(t("walkin.type_name"));
    $("walkin-name").reportValidity();
    return;
  }
  const button = $("walkin-submit");
  const w = { name, waiting: null };
  walkinPending = w;
  button.disabled = true;
  button.textContent = t("card.sending");
  show($("walkin-message"), t("card.sending"), "info");
  try {
    const answer = await kept.send(keptTap({ key: newKey(), path: `/api/clinics/${encodeURIComponent(board.clinic)}/visits`,
      body: { patient_name: name, provider, visit_type: visitType, walk_in: true } }), {
        token,
        onWaiting: (attempt, err) => {
          w.waiting = err instanceof Offline ? "offline" : "busy";
          show($("walkin-message"), w.waiting === "offline"
            ? t("walkin.kept_offline") : t("card.busy"), "info");
          updateBanner();
        },
      });
    if (walkinPending !== w) return;
    putVisit(answer.visit, answer.plan);
    show($("walkin-message"), t("walkin.added", { name: answer.visit.patient_name, provider: providerName(answer.visit.provider) }),
      "success");
    $("walkin-name").value = "";
    render();
  } catch (err) {
    if (walkinPending !== w) return;
    if (err instanceof ApiError && err.status === 401) {
      signedOut(err.message);
      return;
    }
    show($("walkin-message"), errorText(err), "error");
    const field = err instanceof ApiError ? err.body?.field : null;
    ({ provider: $("walkin-provider"), visit_type: $("walkin-type"), patient_name: $("walkin-name") }[field] || $("walkin-name")).focus();
  } finally {
    if (walkinPending === w) {
      walkinPending = null;
      button.disabled = false;
      button.textContent = t("tablet.add_walkin");
      updateBanner();
    }
  }
});
$("walkin-name").addEventListener("input", () => $("walkin-name").setCustomValidity(""));

// -- manager tabs --------------------------------------------------------------------------------------------

$("tabs").addEventListener("click", (e) => {
  const tab = e.target.closest("[data-tab]");
  if (!tab) return;
  local.set(TAB_KEY, tab.dataset.tab);
  renderNow();
});
$("tabs").addEventListener("keydown", (e) => {
  const keys = { ArrowRight: 1, ArrowLeft: -1, Home: "first", End: "last" };
  if (!(e.key in keys)) return;
  e.preventDefault();
  const i = ROLES.indexOf(currentView());
  const step = keys[e.key];
  const j = step === "first" ? 0 : step === "last" ? ROLES.length - 1 : (i + step + ROLES.length) % ROLES.length;
  local.set(TAB_KEY, ROLES[j]);
  renderNow();
  $(`tab-${ROLES[j]}`).focus();
});

function expirePins() {
  const now = Date.now();
  for (const [id, pin] of pins) if (pin.until < now) pins.delete(id);
}

// -- pairing a wall display (managers): static/tablet/pairing.js -------------------------------------------

// -- start ---------------------------------------------------------------------------------------------------

onLanguage(() => {
  if (!me) return;
  for (const holder of document.querySelectorAll("[data-lists]")) holder.replaceChildren(); // cards rebuilt in it
  showSignedIn();
  render();
});

async function boot() {
  await useFor([]); // the device's language (or English) until the clinic's default is known
  if (!token) {
    showSignIn("");
    return;
  }
  try {
    const who = await request("GET", "/api/me");
    if (who.kind !== "staff") {
      signedOut(t("tablet.display_sign_in"));
      return;
    }
    me = who;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return; // request() already showed the sign-in form
    $("app").hidden = true;
    show($("notice"), `${errorText(err)} ${t("tablet.reload")}`, "error");
    return;
  }
  await enter();
}

boot();
