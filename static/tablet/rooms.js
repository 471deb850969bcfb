// Rooms on the tablet: the assistant's list of rooms to clean or unblock and its taps, and the floor at a
// glance (every room and every visit of the day, folded away until opened).

import { ApiError, Offline, newKey } from "../lib/api.js";
import { byStart } from "./work.js";
import { parseTime } from "../lib/page.js";
import { roomUndoButton, visitCode } from "../lib/visit-detail.js";
import { t } from "../lib/i18n.js";
import { ROOM_STATE_LABEL } from "../lib/labels.js";
import { $, el, titleCase } from "../lib/dom.js";
import { detailButton, waitSpan } from "./cards.js";
import { kept, keptTap } from "./kept.js";
import { render, syncChildren } from "./lists.js";
import { signedOut } from "./session.js";
import {
  FINISHED, app, board, clock, duration, errorText, pendingRooms, providerName, putRoom, readyRooms, roomLabel,
  serverNow, stageLabel, toasts, typeLabel,
} from "./state.js";

export function renderRoomList(section) {
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

export async function sendRoom(roomId, action) {
  if (pendingRooms.has(roomId)) return;
  const p = { action, waiting: null };
  pendingRooms.set(roomId, p);
  render();
  const path = `/api/clinics/${encodeURIComponent(board.clinic)}/rooms/${encodeURIComponent(roomId)}/events`;
  try {
    const answer = await kept.send(keptTap({ key: newKey(), path, body: { type: action }, room: roomId }), {
      token: app.token,
      onWaiting: (attempt, err) => {
        p.waiting = err instanceof Offline ? "offline" : "busy";
        render();
      },
    });
    putRoom(answer.room);
    toasts.show({ text: t("rooms.now", { room: answer.room.label, state: ROOM_STATE_LABEL[answer.room.state]?.toLowerCase() || answer.room.state }),
      undo: { room: roomId, version: answer.room.version }, patient: answer.room.label });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signedOut(errorText(err));
    const room = board.rooms.get(roomId);
    const already = err instanceof ApiError && err.status === 409 && room && room.state === "ready" && action === "ready";
    toasts.show({ text: already ? t("rooms.already_ready", { room: room.label }) : `${roomLabel(roomId)}: ${errorText(err)}`, error: true });
  } finally {
    pendingRooms.delete(roomId);
    render();
  }
  return undefined;
}
