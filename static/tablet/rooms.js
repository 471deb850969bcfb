// Rooms on the tablet: the assistant's list of rooms to clean or unblock and its taps, and the floor at a
// glance (every room and every visit of the day, folded away until opened).

import { ApiError, Offline, newKey } from "../lib/api.js";
import { StoredThatDay } from "../lib/outbox.js";
import { byStart } from "./work.js";
import { parseTime } from "../lib/page.js";
import { roomUndoButton, visitCode } from "../lib/visit-detail.js";
import { t } from "../lib/i18n.js";
import { ROOM_STATE_LABEL } from "../lib/labels.js";
import { $, el, titleCase } from "../lib/dom.js";
import { detailButton, pinNote, waitSpan } from "./cards.js";
import { kept, keptTap } from "./kept.js";
import { render, renderNow, syncChildren } from "./lists.js";
import { signInEnded } from "./session.js";
import { revealNote } from "./taps.js";
import {
  FINISHED, PIN_MS, app, board, clock, duration, errorText, pendingRooms, providerName, putRoom, readyRooms, roomLabel,
  roomPins, sameClinic, serverNow, stageLabel, toasts, typeLabel,
} from "./state.js";

export function renderRoomList(section) {
  // A room whose tap was refused stays first, whatever it is now, with its note (as a visit's card does).
  const pinned = [...roomPins.keys()].map((id) => board.rooms.get(id)).filter(Boolean);
  const rooms = [...board.rooms.values()].filter((r) => (r.state === "turnover" || r.state === "blocked") && !roomPins.has(r.id));
  rooms.sort((a, b) => (a.state === "blocked") - (b.state === "blocked") || parseTime(a.since) - parseTime(b.since));
  const shown = [...pinned, ...rooms];
  const ready = readyRooms();
  section.querySelector(".count").textContent = `(${shown.filter((r) => r.state === "turnover").length})`;
  const empty = section.querySelector(".empty");
  empty.textContent = t("rooms.none_to_clean", { ready: ready.length ? ready.map((r) => r.label).join(", ") : t("rooms.none") });
  empty.hidden = shown.length > 0;
  syncChildren(section.querySelector("ul"), shown.map((r) => ({
    key: r.id,
    sig: JSON.stringify([board.generation, r.version, r.state, pendingRooms.get(r.id)?.waiting ?? pendingRooms.has(r.id),
      roomPins.has(r.id) ? [roomPins.get(r.id).note, roomPins.get(r.id).kind] : null]),
    build: () => roomCard(r),
  })));
}

function roomCard(r) {
  const p = pendingRooms.get(r.id);
  const pin = roomPins.get(r.id);
  const titleId = `room-${r.id}`;
  // The version the card shows goes with its tap: a room changed since is refused, and the card says how.
  const card = el("li", { class: `rcard room-${r.state}${pin ? " pinned" : ""}`, "data-room": r.id, "data-state": r.state,
    "data-version": r.version, "aria-labelledby": titleId },
    el("h4", { id: titleId, class: "room-name", text: r.label }),
    el("p", { class: "status" }, el("span", { class: "stage-label", text: ROOM_STATE_LABEL[r.state] || titleCase(r.state) }),
      r.since ? " · " : "", r.since ? waitSpan("wait", r.since, t("wait.for")) : ""));
  if (pin) card.append(pinNote(pin));
  if (p) card.append(el("p", { class: "note sending", role: "status",
    text: p.waiting === "offline" ? t("rooms.kept_offline") : t("card.sending") }));
  if (r.state === "turnover") {
    card.append(el("button", { type: "button", class: "primary", "data-action": "room-ready", disabled: Boolean(p),
      text: p ? t("card.sending") : t("rooms.ready_button") }));
  } else if (r.state === "blocked") {
    card.append(el("button", { type: "button", class: "secondary", "data-action": "room-unblock", disabled: Boolean(p),
      text: p ? t("card.sending") : t("rooms.unblock") }));
  }
  if (!p) card.append(roomUndoButton(r, app.me) || "");
  return card;
}

export function renderFloor() {
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
    else if (r.since) li.append(el("span", { class: "room-stage", text: t("room.for", { time: duration(now - parseTime(r.since)) }) }));
    const undo = roomUndoButton(r, app.me);
    if (undo) li.append(undo);
    return li;
  }));
  const visits = [...board.visits.values()];
  visits.sort((a, b) => (FINISHED.has(a.stage) - FINISHED.has(b.stage)) || byStart(a, b));
  $("visits-body").replaceChildren(...visits.map((v) => el("tr", { class: FINISHED.has(v.stage) ? "finished" : "" },
    el("td", { text: v.walk_in ? t("rooms.walk_in_at", { time: clock(v.start) }) : clock(v.start) }),
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

/** Mark a room from its card: `version`, the room's version the card showed (a kept tap keeps it, so the one sent
 *  again after a reload is refused too if the room changed since). */
export async function sendRoom(roomId, action, version) {
  if (pendingRooms.has(roomId)) return;
  const p = { action, waiting: null };
  pendingRooms.set(roomId, p);
  roomPins.delete(roomId);
  render();
  const path = `/api/clinics/${encodeURIComponent(board.clinic)}/rooms/${encodeURIComponent(roomId)}/events`;
  const body = { type: action };
  if (Number.isInteger(version)) body.expected_version = version;
  const token = app.token;
  const here = sameClinic();
  try {
    const answer = await kept.send(keptTap({ key: newKey(), path, body, room: roomId }), {
      token,
      onWaiting: (attempt, err) => {
        p.waiting = err instanceof Offline ? "offline" : "busy";
        render();
      },
    });
    if (!here()) return undefined;
    putRoom(answer.room);
    toasts.show({ text: t("rooms.now", { room: answer.room.label, state: ROOM_STATE_LABEL[answer.room.state]?.toLowerCase() || answer.room.state }),
      undo: { room: roomId, version: answer.room.version }, patient: answer.room.label });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signInEnded(err, token);
    if (err instanceof StoredThatDay) return undefined; // said by tablet/kept.js: stored on its own day
    if (!here()) return undefined;
    // As a visit's card: pinned in the list where it was tapped, saying what happened to the room meanwhile (a
    // "Room ready" sent late on a room cleaned, used and dirty again since).
    const conflict = err instanceof ApiError && err.status === 409;
    roomPins.set(roomId, { note: (conflict && roomConflictText(roomId, action, err.body)) || errorText(err),
      kind: conflict ? "conflict" : "error", until: Date.now() + PIN_MS });
    pendingRooms.delete(roomId);
    renderNow();
    revealNote(document.querySelector(`[data-list='ma-rooms'] li[data-room="${CSS.escape(roomId)}"]`));
  } finally {
    pendingRooms.delete(roomId);
    render();
  }
  return undefined;
}

/** What a room tap refused as a conflict (409) met, from the refusal's room state (the feed may not have it yet):
 *  "Changed meanwhile: East 1 is turnover now."; null if the refusal does not say. */
export function roomConflictText(roomId, action, body) {
  const state = body?.room_state;
  if (!state) return null;
  if (action === "ready" && state === "ready") return t("rooms.already_ready", { room: roomLabel(roomId) });
  return t("conflict.room", { room: roomLabel(roomId), state: (ROOM_STATE_LABEL[state] || state).toLowerCase() });
}
