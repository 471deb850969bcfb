// The work lists: the panel of the role on screen (a manager's tabs choose it), each list's cards kept in
// step with the board, the clinic's summary line and, on a provider's panel, how late they run. Which visits
// each list holds: tablet/work.js (the front desk's: lib/desk.js).

import { frontDesk } from "../lib/desk.js";
import { byStart, bySince, workLists } from "./work.js";
import { local, parseTime } from "../lib/page.js";
import { renderAlerts } from "../lib/alert-lines.js";
import { t, tn } from "../lib/i18n.js";
import { ROLES } from "../lib/labels.js";
import { $, el } from "../lib/dom.js";
import { cardSignature, visitCard } from "./cards.js";
import { updateBanner } from "./connection.js";
import { renderPresence } from "./presence.js";
import { renderFloor, renderRoomList } from "./rooms.js";
import { PROVIDER_KEY, TAB_KEY, app, board, clinicFormat, clock, pins, providerName, roomPins, serverNow } from "./state.js";

// -- which visits each role works on ------------------------------------------------------------------------

// What each role taps and the lists it works from: static/tablet/work.js.

function myProvider() {
  // The server says which clinic provider a provider's sign-in is (their account's provider id).
  if (app.me && app.me.role === "provider" && app.me.provider && board.providers.has(app.me.provider)) return app.me.provider;
  const chosen = $("provider-filter").value;
  return chosen && board.providers.has(chosen) ? chosen : null;
}

/** The front desk's search and views (lib/desk.js), on the clinic's clock: a patient not yet come is due by
 *  the clinic's plan (roomed by then), else at their booked time. */
export const desk = frontDesk({ onChange: () => render() });
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
    you: Boolean(mine) && app.me.provider === mine,
  });
}

export function currentView() {
  if (!app.me) return null;
  if (app.me.role !== "manager") return app.me.role;
  const tab = local.get(TAB_KEY);
  return ROLES.includes(tab) ? tab : "front_desk";
}
// -- rendering -----------------------------------------------------------------------------------------------

let renderQueued = false;
export function render() {
  if (renderQueued) return;
  renderQueued = true;
  queueMicrotask(() => {
    renderQueued = false;
    renderNow();
  });
}

export function renderNow() {
  if (!app.me) return;
  // Where cards are, read only for a redraw of another tablet's change (the rest move what the tapper watches).
  const before = changedElsewhere ? placesOnScreen() : null;
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
  renderTabletAlerts();
  updateBanner();
  markMoved(before);
}

/** A visit's card, or a room's (the assistant's rooms to clean): its key among the places on the screen. */
const placeKey = (card) => (card.dataset.visit ? card.dataset.visit : `room ${card.dataset.room}`);
const CARDS = "li[data-visit], li[data-room]";

/** Where each visit's and room's card, and each room of an open picker, is on the screen now. */
function placesOnScreen() {
  const places = new Map();
  for (const card of document.querySelectorAll(CARDS)) {
    places.set(placeKey(card), card.getBoundingClientRect().top);
    places.set(`list ${card.closest("[data-list]")?.dataset.list}`, true);
    for (const pick of card.querySelectorAll("[data-pick-room]")) {
      const box = pick.getBoundingClientRect();
      places.set(`${card.dataset.visit} picker`, true);
      places.set(`${card.dataset.visit} ${pick.dataset.pickRoom}`, `${box.top} ${box.left}`);
    }
  }
  return places;
}

/** Cards the redraw put somewhere else on the screen than they were (or put where another was), and cards whose
 * picker's rooms moved, take no tap for MOVED_MS: the finger was aimed at what was there (`justMoved`). By the
 * screen, not by the list: a card taken away above, one inserted above, another list above growing, a room
 * leaving the picker all move what is under the finger (two hostile reviews). Room cards too: another assistant
 * readied the room above, and "Ready" readied the next, not yet cleaned (a third). */
function markMoved(before) {
  changedElsewhere = false;
  // The first drawing: nothing was aimed at. A redraw of this tablet's own doing (its tap's answer, a filter, a
  // search, a tab: `before` null) moves what the tapper is watching: a desk checking in one patient after
  // another, or choosing "All of today" and tapping, was held back by it (the test suite).
  if (!before || !before.size) return;
  const now = performance.now();
  for (const card of document.querySelectorAll(CARDS)) {
    const id = placeKey(card);
    const was = before.get(id);
    // A card new to a list that was on the screen came in among cards aimed at; a list newly shown (another tab)
    // was not there to aim at.
    let moved = was === undefined
      ? before.has(`list ${card.closest("[data-list]")?.dataset.list}`)
      : Math.abs(card.getBoundingClientRect().top - was) > MOVED_PX;
    // A picker the tapper just opened was not there to aim at: only the rooms of a picker already open count.
    if (before.has(`${id} picker`)) {
      for (const pick of card.querySelectorAll("[data-pick-room]")) {
        const box = pick.getBoundingClientRect();
        if (before.get(`${id} ${pick.dataset.pickRoom}`) !== `${box.top} ${box.left}`) moved = true;
      }
    }
    if (moved) card._movedAt = now;
  }
}

let changedElsewhere = false;

/** The feed brought another tablet's change: the next redraw marks the cards it moves. */
export function movedElsewhere() {
  changedElsewhere = true;
}

/** Pixels a card may shift in a redraw (a line's rounding) before it counts as moved. */
const MOVED_PX = 4;

/** The floor's active alerts; a cascade's minutes are its provider's live delay (`board.delays`), as on the wall. */
export function renderTabletAlerts() {
  renderAlerts($("tablet-alerts"), board.alerts.values(),
    { visit: (id) => board.visits.get(id), provider: providerName, clock, delay: (id) => board.delays.get(id),
      now: serverNow });
}
// A patient's wait in an alert counts up as the wall's does (redrawn only when a minute has passed).
setInterval(() => { if ($("tablet-alerts")) renderTabletAlerts(); }, 5000);

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
export function syncChildren(parent, items) {
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
        fresh._movedAt = node._movedAt; // redrawn in its place: as moved as it was
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

/** Milliseconds after a card changed place on the screen (another tablet's tap took the one above it away, say;
 * `markMoved`) during which a tap on it is not sent: the finger was aimed at the card that was there (a front desk
 * checked in the patient below the one another desk had just checked in; a hostile review). */
export const MOVED_MS = 700;

export function justMoved(card) {
  const moved = card?.closest("[data-key]")?._movedAt;
  return moved !== undefined && performance.now() - moved < MOVED_MS;
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

export function renderDelay() {
  const node = $("provider-delay");
  if (!app.me || currentView() !== "provider" || board.seq === null) {
    node.hidden = true;
    return;
  }
  const mine = myProvider();
  const delays = mine ? [board.delays.get(mine)].filter(Boolean) : [...board.delays.values()].filter((d) => d.lateness >= 1);
  const parts = delays.map((d) => {
    const you = mine && app.me.provider === mine;
    const name = providerName(d.provider);
    if (d.lateness < 1) return t(you ? "delay.you_on_time" : "delay.on_time", { name });
    const vars = { name, minutes: Math.round(d.lateness), time: clock(d.recovers_at) };
    return t(`delay.${you ? "you_" : ""}behind${d.recovers_at ? "_back" : ""}`, vars);
  });
  node.textContent = parts.join(" ") || t("delay.everyone_on_time");
  node.hidden = false;
}

export function fillProviderFilter() {
  const select = $("provider-filter");
  const keep = select.value || (app.me ? local.get(`${PROVIDER_KEY}.${app.me.id}`) : "");
  select.replaceChildren(el("option", { value: "", text: t("tablet.all_providers") }),
    ...[...board.providers.values()].map((p) => el("option", { value: p.id, text: p.name })));
  if (board.providers.has(keep)) select.value = keep;
  const matched = app.me && app.me.role === "provider" && Boolean(app.me.provider) && board.providers.has(app.me.provider);
  $("provider-filter-field").hidden = Boolean(matched);
  $("title-provider").textContent = matched ? t("tablet.my_patients") : t("tablet.providers_patients");
}
$("provider-filter").addEventListener("change", () => {
  // A provider whose sign-in is not the clinic's provider id picks themselves once: "my patients" first after.
  if (app.me) local.set(`${PROVIDER_KEY}.${app.me.id}`, $("provider-filter").value || null);
  render();
});

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
  for (const [id, pin] of roomPins) if (pin.until < now) roomPins.delete(id);
}
