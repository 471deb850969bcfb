// A visit's card: the patient, where they are and for how long, the big button for what this role taps next
// (rooming opens a picker of ready rooms), what else it may tap, and a refusal's note; waits count up on it.

import { MORE, NEXT, WAIT } from "./work.js";
import { parseTime } from "../lib/page.js";
import { visitCode } from "../lib/visit-detail.js";
import { t } from "../lib/i18n.js";
import { STEP_BUTTON } from "../lib/labels.js";
import { el } from "../lib/dom.js";
import { render } from "./lists.js";
import {
  FINISHED, ORDER, app, board, clock, duration, pending, pins, providerName, readyRooms, roomLabel, roomPins,
  serverNow, stageLabel, typeLabel,
} from "./state.js";

export function cardSignature(v, role, list) {
  const p = pending.get(v.id);
  const pin = pins.get(v.id);
  const next = NEXT[role]?.[v.stage];
  return JSON.stringify([
    board.generation, v.version, v.stage, v.room, list.key, role,
    p ? [p.version, p.step, p.waiting] : null,
    pin ? [pin.note, pin.kind] : null,
    next === "roomed" && app.pickerFor === v.id ? readyRooms().map((r) => r.id) : null,
    v.room ? roomLabel(v.room) : null,
  ]);
}

export function visitCard(v, role, list) {
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
  if (last && last.step === v.stage && last.by) {
    status.append(el("span", { class: "by", text: ` · ${t(last.device ? "card.by_on_at" : "card.by_at",
      { who: last.by, device: last.device, time: clock(last.at) })}` }));
  }
  card.append(status);
  if (v.notes) card.append(el("p", { class: "notes", text: v.notes }));

  if (pin) card.append(pinNote(pin));
  if (sending) {
    card.append(el("p", { class: `note sending${p.waiting ? " waiting" : ""}`, role: "status", text: p.waiting === "offline"
      ? t("card.kept_offline") : p.waiting === "busy" ? t("card.busy") : t("card.sending") }));
  }

  if (next) {
    if (next === "checked_out" && v.stage === "provider_in") {
      card.append(el("p", { class: "hint", text: t("card.teach_back_missing") }));
    }
    const label = sending && p.step === next ? t("card.sending") : STEP_BUTTON[next];
    const picking = next === "roomed" && app.pickerFor === v.id && !busy;
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

export function waitSpan(kind, iso, label, limit) {
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
export function tick() {
  for (const span of document.querySelectorAll(".wait[data-since]")) paintWait(span);
}
setInterval(() => {
  tick();
  if ([...pins.values(), ...roomPins.values()].some((p) => p.until < Date.now())) render();
}, 1000);

/** A pinned card's note: "Not sent:" and what happened meanwhile (a conflict), or why it was refused; "OK, got it". */
export function pinNote(pin) {
  return el("div", { class: `note ${pin.kind}`, "data-conflict": pin.kind === "conflict" ? "" : null,
    "data-error": pin.kind === "error" ? "" : null, role: "status" },
  el("p", {}, el("span", { class: "icon", "aria-hidden": "true", text: "⚠ " }), el("strong", { text: `${t(pin.kind === "conflict" ? "card.not_sent" : "card.refused")} ` }), pin.note),
  el("button", { type: "button", class: "link-button", "data-action": "dismiss", text: t("card.got_it") }));
}

export function detailButton(v) {
  return el("button", { type: "button", class: "link-button details", "data-action": "detail", "data-detail-visit": v.id,
    "aria-label": t("card.details_label", { name: v.patient_name }), text: t("card.details") });
}
