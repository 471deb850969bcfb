// Taps on a card: the next step, the other steps (ending a visit asks first), a room from the picker, the
// visit's detail and history (lib/visit-detail.js), Undo from the toast; a refusal pins the card where it was
// tapped and says what happened meanwhile.

import { ApiError, Offline, newKey, tap } from "../lib/api.js";
import { StoredThatDay } from "../lib/outbox.js";
import { ENDING, confirmEnd, createVisitDetail } from "../lib/visit-detail.js";
import { t } from "../lib/i18n.js";
import { STEP_BUTTON } from "../lib/labels.js";
import { updateBanner } from "./connection.js";
import { kept, keptTap } from "./kept.js";
import { takeMinutesAgo } from "./late.js";
import { justMoved, render, renderNow } from "./lists.js";
import { sendPresenceUndo } from "./presence.js";
import { sendRoom } from "./rooms.js";
import { request, signInEnded } from "./session.js";
import {
  PIN_MS, app, board, clock, errorText, pending, pins, providerName, putRoom, putVisit, roomLabel, roomPins,
  sameClinic, stageIndex, stageLabel, stepDone, toasts, typeLabel, visitPath,
} from "./state.js";

// -- taps ----------------------------------------------------------------------------------------------------

// The buttons on a visit's card that send a step at once (a room pick too), and on a room card, held back while the
// card has just moved.
const TAPS = new Set(["next", "step", "room-ready", "room-unblock"]);

/** Milliseconds after a tap during which a tap on another card, where the tapped card was, is the second tap of a
 *  double tap: this tablet's own answer took the tapped card away and the next one slid under the finger (a
 *  double tap on Ann Lee's "Check in" checked in Bo Chen too; a hostile review). */
const AGAIN_MS = 600;
/** Milliseconds after focus was put on the toast's Undo (a step sent from the keyboard) during which Enter or
 *  Space on it is the same key pressed twice, not an undo. */
const UNDO_FOCUS_MS = 500;
let lastTap = null; // {key, rect, at, scrolled}: the last card tapped by a pointer, where it was on the screen
let undoFocusedAt = -Infinity;

const cardKey = (card) => (card.dataset.visit ? `visit ${card.dataset.visit}` : `room ${card.dataset.room}`);
const page = () => document.scrollingElement || document.documentElement;

/** Whether this tap lands, within AGAIN_MS of the last one, where the last card tapped was, on another card, the
 *  page not scrolled meanwhile: a scroll between the taps brought what is tapped there, and it is aimed at (a
 *  page made shorter by the card gone, at the end of its scroll, moved under the finger by itself). */
function slidUnder(card, e) {
  if (!lastTap || performance.now() - lastTap.at > AGAIN_MS || cardKey(card) === lastTap.key) return false;
  const { left, right, top, bottom } = lastTap.rect;
  if (!(e.clientX >= left && e.clientX <= right && e.clientY >= top && e.clientY <= bottom)) return false;
  const { scrollTop, scrollHeight, clientHeight } = page();
  const scrolled = scrollTop - lastTap.scrolled;
  return Math.abs(scrolled) < 2 || (scrolled < 0 && scrollTop >= scrollHeight - clientHeight - 1);
}

document.addEventListener("click", (e) => {
  const button = e.target.closest("button[data-action], button[data-pick-room]");
  if (!button || button.disabled) return;
  const card = button.closest("[data-visit]");
  // A click from the keyboard (Enter, Space: detail 0) goes to the focused button, not to a place on the screen.
  const pointed = e.detail !== 0;
  const tapped = button.closest("li[data-visit], li[data-room]");
  const guarded = tapped && (button.hasAttribute("data-pick-room") || TAPS.has(button.dataset.action));
  // A tap on anything else in between (the toast's Undo, a detail) ends a double tap: the next is aimed.
  if (pointed && !guarded) lastTap = null;
  if (pointed && guarded) {
    const name = tapped.dataset.visit ? board.visits.get(tapped.dataset.visit)?.patient_name || ""
      : board.rooms.get(tapped.dataset.room)?.label || "";
    if (slidUnder(tapped, e)) {
      // The second tap of a double tap: the card aimed at left, this one took its place. Nothing is sent, and the
      // tapper is told, the first tap's toast (its Undo) kept: a deliberate tap on the card that slid there went
      // unsaid, and the desk believed Bo was checked in (a review).
      lastTap.at = performance.now();
      toasts.say(t("tap.list_moved", { name }));
      return;
    }
    if (justMoved(tapped)) {
      // The list changed under the finger: this card was not the one aimed at. Nothing is sent.
      toasts.show({ text: t("tap.list_moved", { name }) });
      return;
    }
    lastTap = { key: cardKey(tapped), rect: tapped.getBoundingClientRect(), at: performance.now(), scrolled: page().scrollTop };
  }
  if (button.dataset.action === "undo" && !pointed && performance.now() - undoFocusedAt < UNDO_FOCUS_MS) return;
  if (button.hasAttribute("data-pick-room")) {
    if (card) sendStep(card, "roomed", button.dataset.pickRoom);
    return;
  }
  switch (button.dataset.action) {
    case "next":
      if (button.dataset.step === "roomed") {
        // Rooming needs a room: the card opens its picker of ready rooms (and closes it on a second tap).
        const id = card.dataset.visit;
        app.pickerFor = app.pickerFor === id ? null : id;
        renderNow();
        if (app.pickerFor === id) {
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
      if (card) pins.delete(card.dataset.visit);
      else roomPins.delete(button.closest("[data-room]")?.dataset.room);
      render();
      return;
    case "undo":
      sendUndo();
      return;
    case "room-ready":
    case "room-unblock": {
      // The room as its card showed it: the version goes with the tap.
      const room = button.closest("[data-room]");
      sendRoom(room.dataset.room, button.dataset.action === "room-ready" ? "ready" : "unblocked", Number(room.dataset.version));
      return;
    }
    default:
  }
});

// -- fixing mistakes: confirming the steps that end a visit, a visit's detail and history (lib/visit-detail.js) -

/** Ask before ending a visit (no-show, cancel, left unseen); the card's tap goes only on "yes". */
async function confirmStep(card, step) {
  const id = card.dataset.visit;
  const v = board.visits.get(id);
  if (!v) return;
  // What was confirmed is the visit as the card showed it when tapped: "yes" goes with that version, so a visit
  // another tablet moved on meanwhile is refused and the card says how (roomed meanwhile, it was stored "left
  // without being seen" from her room; a hostile review).
  const shown = { version: Number(card.dataset.version), stage: card.dataset.stage, list: card.closest("[data-list]")?.dataset.list,
    name: v.patient_name };
  const code = v.token ? ` (${v.token})` : "";
  const yes = t(`confirm.yes.${step}`);
  const skip = step === "checked_out" ? ` ${t("confirm.skip_teach_back")}` : "";
  const ok = await confirmEnd({ title: t("confirm.title", { step: STEP_BUTTON[step], name: v.patient_name, code }),
    text: `${t("confirm.ends")}${skip} ${t("confirm.undo_later")}`, yes });
  if (ok) sendStep(document.querySelector(`[data-visit="${CSS.escape(id)}"]`) || card, step, undefined, shown);
}

export const detail = createVisitDetail({
  clinic: () => board.clinic,
  me: () => app.me,
  visit: (id) => board.visits.get(id),
  providers: () => [...board.providers.values()],
  request: (method, path) => request(method, path),
  send: (path, body) => tap(path, body, { token: app.token }),
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

/** Send a step for the visit of `card`; `shown`: the card as it was when tapped ({version, stage, list, name}), when
 *  the step went after a question (a confirm), else the card as it is. */
async function sendStep(card, step, room, shown) {
  const id = card.dataset.visit;
  if (!id || pending.has(id)) return;
  // The version the card shows: if the visit moved on since, the server refuses and says how.
  const version = shown ? shown.version : Number(card.dataset.version);
  const list = shown ? shown.list : card.closest("[data-list]")?.dataset.list;
  const shownStage = shown ? shown.stage : card.dataset.stage;
  const name = shown ? shown.name : board.visits.get(id)?.patient_name;
  // "This tap happened: 5 minutes ago" (tablet/late.js) goes with this step only.
  const minutesAgo = takeMinutesAgo();
  // A step sent from the keyboard (or a switch): its card is drawn again elsewhere, and focus fell to the page.
  const focused = card.contains(document.activeElement);
  const p = { step, room, version, list, key: newKey(), waiting: null, ctrl: new AbortController(), token: app.token };
  pending.set(id, p);
  if (app.pickerFor === id) app.pickerFor = null;
  pins.delete(id);
  render();
  const body = { type: step, expected_version: version };
  if (room) body.room = room;
  if (minutesAgo > 0) body.minutes_ago = minutesAgo;
  try {
    const answer = await kept.send(keptTap({ key: p.key, path: visitPath(id), body, visit: id, stage: shownStage }), {
      token: p.token,
      signal: p.ctrl.signal,
      onWaiting: (attempt, err) => {
        p.waiting = err instanceof Offline ? "offline" : "busy";
        render();
      },
    });
    if (pending.get(id) !== p) return;
    putVisit(answer.visit, answer.plan);
    showUndo(answer.visit, step, room, minutesAgo);
  } catch (err) {
    if (pending.get(id) !== p) return;
    refused(id, err, { list, shownStage, step, token: p.token, name });
    pending.delete(id);
    if (pins.has(id)) {
      renderNow();
      revealNote(document.querySelector(`[data-visit="${CSS.escape(id)}"]`));
    }
  } finally {
    if (pending.get(id) === p) pending.delete(id);
    render();
    if (focused) queueMicrotask(() => keepFocus(id));
  }
}

/** Where focus goes after a step sent from the keyboard, once the lists are drawn again: the toast's Undo (it
 *  lasts six seconds), else the visit's card; never left on the page's body, where the next Tab starts over. */
function keepFocus(id) {
  const active = document.activeElement;
  if (active && active !== document.body) return;
  const undo = document.getElementById("toast-region")?.querySelector("[data-action='undo']");
  const card = document.querySelector(`[data-visit="${CSS.escape(id)}"]`);
  (undo || card?.querySelector("button:not([disabled])"))?.focus({ preventScroll: !undo });
  // The key that sent the step, pressed twice, lands on Undo: held back a moment (UNDO_FOCUS_MS).
  if (undo && document.activeElement === undo) undoFocusedAt = performance.now();
}

/** A refused card (a visit's, a room's) is pinned at the top of its list, which may be above the screen (a card
 *  tapped far down): bring its note into view, below what stays at the top while the lists scroll, and put focus
 *  on its "OK, got it", unless this person has meanwhile moved on to another control (then their place is left
 *  alone; the note is a status, read out anyway). */
export function revealNote(card) {
  const note = card?.querySelector(".note");
  if (!note) return;
  const active = document.activeElement;
  if (active && active !== document.body && !card.contains(active)) return;
  const covered = Math.max(0, ...[...document.querySelectorAll(".tap-late, .desk-tools, .banner")]
    .filter((n) => n.offsetParent !== null && getComputedStyle(n).position === "sticky")
    .map((n) => (parseFloat(getComputedStyle(n).top) || 0) + n.offsetHeight));
  note.style.scrollMarginTop = `${Math.ceil(covered) + 8}px`;
  note.querySelector("[data-action='dismiss']")?.focus({ preventScroll: true });
  note.scrollIntoView({ block: "nearest" });
}

/** A tap was refused: the card shows why, as the visit is now, where it was tapped. */
function refused(id, err, { list, shownStage, step, token, name }) {
  if (err instanceof ApiError && err.status === 401) {
    signInEnded(err, token);
    return;
  }
  if (err instanceof StoredThatDay) return; // said by tablet/kept.js: stored on its own day, before midnight
  let note;
  let kind = "error";
  if (err instanceof ApiError) {
    const body = err.body || {};
    const shownProvider = board.visits.get(id)?.provider; // as the card showed it, before the answer's visit
    if (body.visit) putVisit(body.visit);
    if (err.status === 409 && (body.error === "stale_version" || body.error === "illegal_step") && body.visit) {
      kind = "conflict";
      note = conflictText(body.visit, shownStage, shownProvider);
    } else if (err.status === 409) {
      kind = "conflict";
      note = errorText(err);
      if (body.error === "room_unavailable" && step === "roomed") {
        // In the tablet's language, from the answer's facts (the server's sentence is English: a review).
        if (body.room && body.room_state) {
          note = t("refused.room_not_ready", { room: roomLabel(body.room), state: t(`room.${body.room_state}`).toLowerCase() });
          // The room as the refusal says it is (this tablet's feed may be behind): the picker opened again offered
          // the room just refused (a review). Its version stays, so the feed's room, newer, takes its place.
          const shown = board.rooms.get(body.room);
          if (shown && shown.state !== body.room_state) board.rooms.set(shown.id, { ...shown, state: body.room_state });
        }
        note += ` ${t("picker.another")}`;
        app.pickerFor = id;
      }
    } else {
      note = errorText(err);
    }
  } else {
    note = errorText(err);
  }
  if (list && board.visits.has(id)) {
    pins.set(id, { list, note, kind, until: Date.now() + PIN_MS, step });
  } else if (!board.visits.has(id)) {
    // No card to pin the note to: the visit is no longer on the floor (a question left open past midnight, answered
    // the next morning, was refused 404 and the tablet said nothing; a review).
    const gone = err instanceof ApiError && err.status === 404;
    toasts.show({ text: gone ? t("tap.gone", { name: name || t("kept.a_patient") }) : note, error: true, ms: 8000 });
  } else {
    toasts.show({ text: note });
  }
}

/** What happened to a visit meanwhile, from its last step: "Already roomed in East 2 by ben on tablet-west at 10:42." */
export function conflictText(visit, shownStage, shownProvider) {
  const last = visit.steps?.at(-1);
  const now = stageLabel(visit.stage);
  // "ben on tablet-west": which of a person's tablets made the step, where the server knows it.
  const who = !last?.by ? t("conflict.someone") : last.device ? t("conflict.who_on", { who: last.by, device: last.device }) : last.by;
  if (stageIndex(visit.stage) > stageIndex(shownStage) && last && last.step === visit.stage) {
    return t("conflict.already", { step: stepDone(last.step, last.room), who, time: clock(last.at) });
  }
  // The same stage, and moved to another provider (here, or before they came): a move, not an undo, is what
  // changed. Without the provider the card showed (a kept tap), a move after the last step says it.
  const moved = shownProvider ? visit.provider !== shownProvider
    : Boolean(visit.moved_at) && (!last || Date.parse(visit.moved_at) >= Date.parse(last.at));
  if (visit.stage === shownStage && moved) {
    return t("conflict.moved", { provider: providerName(visit.provider), now });
  }
  if (last) {
    return t("conflict.undone_last", { now, step: stepDone(last.step, last.room), who, time: clock(last.at) });
  }
  // A visit still scheduled also changes when a schedule import moves its time or provider.
  if (visit.stage === "scheduled") return t("conflict.rescheduled", { now });
  return t("conflict.undone", { now });
}

// -- the Undo toast (tablet/toast.js shows it) ---------------------------------------------------------------

function showUndo(visit, step, room, minutesAgo) {
  const text = minutesAgo > 0
    ? t("toast.step_late", { name: visit.patient_name, step: stepDone(step, room), n: minutesAgo })
    : t("toast.step", { name: visit.patient_name, step: stepDone(step, room) });
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
  const token = app.token;
  const here = sameClinic();
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
    if (!here()) return undefined;
    putVisit(answer.visit, answer.plan);
    pins.delete(id);
    toasts.show({ text: t("detail.undone", { name: answer.visit.patient_name, stage: stageLabel(answer.visit.stage).toLowerCase() }) });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signInEnded(err, token);
    if (err instanceof StoredThatDay) return undefined; // said by tablet/kept.js: stored on its own day
    if (!here()) return undefined;
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
