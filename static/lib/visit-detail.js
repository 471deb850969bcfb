// Fixing mistakes on the tablet, and the visit code the wall shows.
//
//   visitCode(token)          the wall's code for a visit, as a badge (cards, the detail, alerts)
//   confirmEnd({...})         an accessible "are you sure" for the steps that end a visit (a modal <dialog>)
//   createVisitDetail(ctx)    a visit's detail: its full history, and undo of its last step (or, for a walk-in
//                             with no step yet, its removal as booked by mistake) by whoever made it or a manager;
//                             and, for a patient here and waiting or a visit booked on the floor not yet come, a
//                             move to another provider (desk or manager)
//   roomUndoButton(room, me)  "Undo ready/blocked/unblocked" for a room whose last mark can still be undone
//   closeDialogs()            close and remove every dialog these put on the page (a sign-in that ended)
//
// The server decides who may undo what (floor/core/floor.py; 403 otherwise): the buttons here only offer what
// it would take, and say who else could. Text from the server goes in through textContent only; a refusal is said
// in the page's language (lib/refusals.js).

import { el } from "./dom.js";
import { t } from "./i18n.js";
import { ROOM_MARK, ROOM_STATE_LABEL } from "./labels.js";
import { refusalText } from "./refusals.js";


/** The stages of a patient here and waiting for the provider: they can be moved to another provider. */
const MOVABLE = new Set(["arrived", "roomed", "prep_done"]);

/** Whether a visit can go to another provider (the server decides): a patient here and waiting, or a visit booked
 * on the floor not yet come (a schedule import's is moved in the schedule). */
export function movable(v) {
  return Boolean(v) && (MOVABLE.has(v.stage) || (v.stage === "scheduled" && !v.external_id));
}

/** The steps that end a visit: each asks first. */
export const ENDING = new Set(["no_show", "cancelled", "left_without_being_seen"]);

/** The visit's code on the wall ("XD2"), the same everywhere staff see the visit. */
export function visitCode(token) {
  if (!token) return null;
  return el("span", { class: "visit-code", "data-visit-code": token, title: t("detail.code_title") },
    el("span", { class: "sr-only", text: `${t("detail.code_label")} ` }), token);
}

// -- the dialogs on the page's body -------------------------------------------------------------------------

/** One function per dialog open on the page (or built, the detail's) that closes and removes it. */
const closers = new Set();

/** Close and remove every dialog this module put on the page's body: a sign-in that ended leaves no patient on
 *  screen (a detail with its history, a confirm naming the patient stayed over the sign-in form; a hostile
 *  review). A confirm closed so answers "no". */
export function closeDialogs() {
  for (const close of [...closers]) close();
}

// -- confirming a step that ends a visit -------------------------------------------------------------------

let confirmSeq = 0;

/**
 * Ask before a step that ends a visit. Resolves true only on the confirm button; Escape, the other button
 * or closing resolve false. Focus starts on the safe choice and goes back where it was.
 */
export function confirmEnd({ title, text, yes, no = t("confirm.go_back") }) {
  const n = ++confirmSeq;
  const back = document.activeElement;
  const dialog = el("dialog", { class: "confirm", role: "alertdialog", "aria-labelledby": `confirm-title-${n}`,
    "aria-describedby": `confirm-text-${n}`, "data-confirm": "" },
  el("h2", { id: `confirm-title-${n}`, text: title }),
  el("p", { id: `confirm-text-${n}`, text }));
  const ok = el("button", { type: "button", class: "danger", "data-confirm-yes": "", text: yes });
  const cancel = el("button", { type: "button", class: "secondary", "data-confirm-no": "", text: no });
  dialog.append(el("div", { class: "confirm-actions" }, cancel, ok));
  document.body.append(dialog);
  return new Promise((resolve) => {
    let answer = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      closers.delete(dismiss);
      dialog.remove();
      if (back && back.isConnected) back.focus({ preventScroll: true });
      resolve(answer);
    };
    const dismiss = () => {
      answer = false;
      if (dialog.open) dialog.close();
      finish();
    };
    closers.add(dismiss);
    ok.addEventListener("click", () => { answer = true; dialog.close(); });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", finish);
    dialog.showModal();
    cancel.focus();
  });
}

// -- a room's last mark --------------------------------------------------------------------------------------

/** Whether this person may undo the room's last mark (the server has the last word). */
export function mayUndoMark(room, me) {
  const mark = room?.last_mark;
  if (!mark || mark.version !== room.version || !me) return false;
  return me.role === "manager" || mark.by === me.id;
}

export function roomUndoButton(room, me) {
  if (!mayUndoMark(room, me)) return null;
  const action = room.last_mark.action;
  return el("button", { type: "button", class: "secondary small", "data-action": "room-undo", "data-undo-room": room.id,
    "aria-label": t("room_undo.label", { room: room.label, mark: ROOM_MARK[action] || action }),
    text: t("room_undo.button", { mark: ROOM_MARK[action] || action }) });
}

// -- a visit's detail ----------------------------------------------------------------------------------------

/**
 * ctx: {
 *   clinic(): the clinic id;  me(): {id, role};  visit(id): the visit as the board has it;
 *   providers(): the clinic's providers [{id, name}];
 *   request(method, path): a GET with the sign-in;  send(path, body): a tap (resent once until answered);
 *   labels: {stage(s), step(step, room), provider(id), type(code), room(id), clock(iso)};
 *   onAnswer(answer): the server's answer to an undo (or the visit a refusal carried): update the board;
 *   onRoom(answer): the server's answer to a room undo;  say(text, error): a short message (the toast);
 * }
 */
export function createVisitDetail(ctx) {
  let dialog = null;
  let current = null; // visit id
  let opener = null;
  let history = null; // {visit, events}
  let busy = false;
  let message = null; // {text, error}
  let loadSeq = 0;

  const path = (id, tail = "") => `/api/clinics/${encodeURIComponent(ctx.clinic())}/visits/${encodeURIComponent(id)}${tail}`;

  function build() {
    const mine = el("dialog", { id: "visit-detail", class: "visit-detail", "aria-labelledby": "visit-detail-title" });
    dialog = mine;
    closers.add(function gone() {
      closers.delete(gone);
      if (mine.open) mine.close();
      mine.remove();
      if (dialog === mine) dialog = null;
      current = null;
      history = null;
      message = null;
      opener = null;
    });
    dialog.addEventListener("close", () => {
      if (dialog !== mine) return;
      current = null;
      history = null;
      message = null;
      if (opener && opener.isConnected) opener.focus({ preventScroll: true });
      opener = null;
    });
    dialog.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-detail]");
      if (!button || button.disabled) return;
      if (button.dataset.detail === "close") dialog.close();
      if (button.dataset.detail === "undo") undo();
    });
    dialog.addEventListener("submit", (e) => {
      if (!e.target.matches("form[data-detail-move]")) return;
      e.preventDefault();
      move(e.target.elements.provider.value);
    });
    document.body.append(dialog);
  }

  async function open(id, from) {
    if (!dialog) build();
    current = id;
    opener = from || document.activeElement;
    history = null;
    message = null;
    paint();
    if (!dialog.open) dialog.showModal();
    dialog.querySelector("[data-detail='close']")?.focus();
    await load();
  }

  async function load() {
    if (!current) return;
    const id = current;
    const mine = ++loadSeq;
    try {
      const answer = await ctx.request("GET", path(id));
      if (mine !== loadSeq || current !== id) return;
      history = answer;
    } catch (err) {
      if (mine !== loadSeq || current !== id) return;
      message = { text: t("detail.could_not_load", { why: refusalText(err) }), error: true };
    }
    paint();
  }

  /** The feed brought a change to a visit: its open detail reads its history again. */
  function changed(id) {
    if (current && id === current && !busy) load();
  }

  function eventText(e, undone) {
    const c = e.change || {};
    const { labels } = ctx;
    let text;
    switch (c.type) {
      case "visit_booked":
        text = (c.walk_in ? t("detail.event.walk_in_added") : t("detail.event.booked", { time: labels.clock(c.start) })) +
          (c.happened ? t("detail.event.happened", { time: labels.clock(c.happened) }) : "");
        break;
      case "visit_rescheduled":
        text = t("detail.event.moved", { time: labels.clock(c.start), provider: labels.provider(c.provider) });
        break;
      case "visit_moved":
        text = t("detail.event.moved_provider", { from: labels.provider(c.previous_provider), provider: labels.provider(c.provider) });
        break;
      case "step_taken":
        text = capital(labels.step(c.step, c.room)) + (c.without_teach_back ? t("detail.event.without_teach_back") : "") +
          (c.entered_in_error ? t("detail.event.in_error") : "") +
          (c.happened ? t("detail.event.happened", { time: labels.clock(c.happened) }) : "");
        break;
      case "step_undone":
        text = t("detail.event.undone_step", { step: labels.step(c.step, c.room) });
        break;
      case "walk_in_removed":
        text = t("detail.event.walk_in_removed");
        break;
      default:
        text = String(c.type || "change").replace(/_/g, " ");
    }
    return `${text}${undone ? t("detail.event.was_undone") : ""}`;
  }

  /** What undo would do now, and whether this person may. */
  function undoOffer(v) {
    const me = ctx.me();
    if (!v || !me) return null;
    const last = v.steps?.at(-1);
    if (last) {
      const what = ctx.labels.step(last.step, last.room);
      const may = me.role === "manager" || last.by === me.id;
      return { may, label: t("detail.undo_step", { step: what }), who: last.by, what, removes: false };
    }
    if (v.walk_in && v.stage === "arrived") {
      const may = me.role === "manager" || v.booked_by === me.id;
      return { may, label: t("detail.remove_walk_in"), who: v.booked_by, what: t("detail.this_walk_in"), removes: true };
    }
    return null;
  }

  function paint() {
    if (!dialog) return;
    const v = history?.visit || ctx.visit(current);
    const head = el("div", { class: "detail-head" },
      el("h2", { id: "visit-detail-title", text: v ? v.patient_name : t("detail.visit") }),
      v ? visitCode(v.token) : null);
    const parts = [head];
    if (v) {
      const meta = [ctx.labels.provider(v.provider), ctx.labels.type(v.visit_type),
        v.walk_in ? t("detail.walk_in") : t("detail.booked_at", { time: ctx.labels.clock(v.start) }),
        t("detail.now", { stage: ctx.labels.stage(v.stage) })];
      if (v.room) meta.push(ctx.labels.room(v.room));
      if (v.moved_from) meta.push(t("detail.booked_with", { provider: ctx.labels.provider(v.moved_from) }));
      parts.push(el("p", { class: "meta", text: meta.join(" · ") }));
    }
    parts.push(el("h3", { id: "visit-detail-history", text: t("detail.history") }));
    if (!history) {
      parts.push(el("p", { class: "hint", text: t("detail.loading") }));
    } else {
      const undone = new Set(history.events.filter((e) => e.change?.undone_seq).map((e) => e.change.undone_seq));
      parts.push(el("ol", { class: "history", "aria-labelledby": "visit-detail-history" },
        ...history.events.map((e) => el("li", { class: undone.has(e.seq) ? "undone" : "", "data-seq": e.seq,
          "data-type": e.change?.type },
        el("span", { class: "when", text: ctx.labels.clock(e.at) }), " ",
        el("span", { class: "what", text: eventText(e, undone.has(e.seq)) }), " ",
        el("span", { class: "by", text: t(e.device ? "detail.by_on" : "detail.by", { who: e.actor, device: e.device }) })))));
    }
    const offer = history ? undoOffer(v) : null;
    if (offer?.may) {
      parts.push(el("button", { type: "button", class: offer.removes ? "danger" : "secondary", "data-detail": "undo",
        disabled: busy, text: busy ? t("detail.undoing") : offer.label }));
    } else if (offer) {
      parts.push(el("p", { class: "hint", text: t("detail.only_who", { who: offer.who || t("detail.the_person"), what: offer.what }) }));
    } else if (history && v) {
      parts.push(el("p", { class: "hint", text: t("detail.nothing_to_undo") }));
    }
    const others = history && v && mayMove(v) ? ctx.providers().filter((p) => p.id !== v.provider) : [];
    if (others.length) {
      const chosen = dialog.querySelector("select[name='provider']")?.value;
      const select = el("select", { id: "detail-move-provider", name: "provider", "data-detail": "move-provider" },
        ...others.map((p) => el("option", { value: p.id, text: p.name })));
      if (others.some((p) => p.id === chosen)) select.value = chosen;
      parts.push(el("form", { class: "detail-move", "data-detail-move": "" },
        el("label", { htmlFor: "detail-move-provider", text: t("detail.move_label") }), select,
        el("button", { type: "submit", class: "secondary", "data-detail": "move", disabled: busy,
          text: busy ? t("detail.moving") : t("detail.move") })));
    }
    parts.push(el("p", { class: `message${message ? (message.error ? " error" : " success") : ""}`, role: "status",
      "data-detail-message": "", hidden: !message, text: message?.text || "" }));
    parts.push(el("button", { type: "button", class: "secondary", "data-detail": "close", text: t("detail.close") }));
    const focused = document.activeElement?.dataset?.detail;
    dialog.replaceChildren(...parts);
    if (focused && dialog.open) (dialog.querySelector(`[data-detail='${focused}']`) || dialog.querySelector("[data-detail='close']"))?.focus();
  }

  /** The provider the patient was moved from after their last step, if they were: undo takes back the step, not
   * the move, and a front desk pressing it after a move put a patient sitting in the waiting room back to "not
   * come" (a hostile review). */
  function movedSinceLastStep() {
    const events = history?.events || [];
    const undone = new Set(events.filter((e) => e.change?.undone_seq).map((e) => e.change.undone_seq));
    const live = events.filter((e) => !undone.has(e.seq) && !e.change?.undone_seq);
    const step = live.findLast((e) => e.change?.type === "step_taken");
    if (!step) return null;
    // The provider at that step: the last booking, reschedule or move before it. Moved away and back since, the
    // patient is with them again and the step's undo is what it was (a review).
    const said = live.findLast((e) => e.seq < step.seq && e.change?.provider &&
      ["visit_booked", "visit_rescheduled", "visit_moved"].includes(e.change.type));
    const then = said?.change.provider;
    return then && then !== history.visit?.provider ? then : null;
  }

  async function undo() {
    const v = history?.visit;
    const offer = undoOffer(v);
    if (!v || !offer?.may || busy) return;
    if (offer.removes && !(await confirmEnd({ title: t("confirm.remove.title", { name: v.patient_name }),
      text: t("confirm.remove.text"), yes: t("confirm.remove.yes") }))) return;
    const movedFrom = offer.removes ? null : movedSinceLastStep();
    if (movedFrom && !(await confirmEnd({ title: t("confirm.undo_after_move.title", { step: offer.what }),
      text: t("confirm.undo_after_move.text", { name: v.patient_name, step: offer.what, provider: ctx.labels.provider(movedFrom) }),
      yes: t("confirm.undo_after_move.yes", { step: offer.what }) }))) return;
    await send(v, { type: "undo" }, (now) => (offer.removes ? t("detail.removed", { name: now.patient_name })
      : t("detail.undone", { name: now.patient_name, stage: ctx.labels.stage(now.stage).toLowerCase() })), "detail.could_not_undo");
  }

  /** A tap on the visit in detail, on the version it shows. `said(visit)`: what to say once it is taken;
   * `refused`: the words' key for a refusal. */
  async function send(v, body, said, refused) {
    busy = true;
    message = null;
    paint();
    try {
      const answer = await ctx.send(path(v.id, "/events"), { ...body, expected_version: v.version });
      ctx.onAnswer(answer);
      message = { text: said(answer.visit), error: false };
    } catch (err) {
      if (err?.body?.visit) ctx.onAnswer({ visit: err.body.visit });
      message = { text: t(refused, { why: refusalText(err) }), error: true };
    } finally {
      busy = false;
    }
    await load();
    dialog?.querySelector("[data-detail-message]")?.focus?.();
  }

  /** A visit that can go to another provider, and a person who may send it (the server decides). */
  function mayMove(v) {
    const me = ctx.me();
    return movable(v) && (me?.role === "manager" || me?.role === "front_desk");
  }

  async function move(provider) {
    const v = history?.visit;
    if (!v || !provider || busy || !mayMove(v)) return;
    await send(v, { type: "move", provider },
      (now) => t("detail.moved", { name: now.patient_name, provider: ctx.labels.provider(provider) }), "detail.could_not_move");
  }

  async function undoRoom(roomId, version) {
    const roomPath = `/api/clinics/${encodeURIComponent(ctx.clinic())}/rooms/${encodeURIComponent(roomId)}/events`;
    try {
      const answer = await ctx.send(roomPath, { type: "undo", expected_version: version });
      ctx.onRoom(answer);
      ctx.say(t("room_undo.done", { room: answer.room.label, state: (ROOM_STATE_LABEL[answer.room.state] || answer.room.state).toLowerCase() }));
    } catch (err) {
      ctx.say(t("detail.could_not_undo", { why: refusalText(err) }), true);
    }
  }

  return { open, changed, undoRoom, get openVisit() { return current; } };
}

const capital = (s) => String(s).charAt(0).toUpperCase() + String(s).slice(1);
