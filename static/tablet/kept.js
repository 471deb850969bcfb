// Taps kept in the browser (lib/outbox.js): every tap is kept until answered, and once the board is in, the
// taps kept from before this page started (a reload, a crash) are sent again; the server's refusals of them
// stay listed until someone has read them.

import { ApiError, Offline, tap } from "../lib/api.js";
import { NotSent, StoredThatDay, outbox } from "../lib/outbox.js";
import { t, tn } from "../lib/i18n.js";
import { ROOM_MARK } from "../lib/labels.js";
import { $, el } from "../lib/dom.js";
import { render } from "./lists.js";
import { PRESENCE_LABEL } from "./presence.js";
import { signInEnded } from "./session.js";
import {
  app, board, clinicFormat, errorText, pending, providerName, putRoom, putVisit, roomLabel, serverNow, setText, stepDone,
  toasts,
} from "./state.js";
import { roomConflictText } from "./rooms.js";
import { conflictText } from "./taps.js";

export const kept = outbox({ send: sendKept, onChange: () => paintKeptElsewhere() });

/** The most minutes before its tap a step may say it happened (the server's MAX_MINUTES_AGO). */
const MAX_MINUTES_AGO = 60;

/** A kept tap made on an earlier clinic day (by the server's clock, on the clinic's calendar) is never sent: a
 *  walk-in would be booked today, a provider marked away this morning. Whether it is sent again after a reload
 *  or is still being retried by a page left open, offline, all night (a walk-in added at 23:56 went through at
 *  00:02 and was booked on the new day; a hostile review). */
function madeEarlierDay(entry) {
  const dayOf = (ms) => clinicFormat({ year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(ms));
  return !Number.isFinite(entry?.kept_at) || dayOf(entry.kept_at) !== dayOf(serverNow());
}

/** A visit's step or a provider's presence (not an undo), or a walk-in, goes with the whole minutes since it was
 *  tapped (server clock) added to the minutes chosen, up to 60, so a tap sent late (offline, a reload) is stored
 *  when it was tapped (a presence tap was stored when it arrived: "stepped away" six minutes late, and her
 *  start meanwhile did not end it). The kept body keeps the minutes chosen; each attempt's body is made from it,
 *  under the same Idempotency-Key (the server leaves minutes_ago out of the key's fingerprint).
 *  Once the clinic's day has changed since the tap (madeEarlierDay) an attempt only asks whether it was stored
 *  (Idempotency-Stored-Only): a tap that reached the server before midnight, its answer lost, was said "not sent"
 *  after midnight though it was stored (a review). Stored, it is said so (StoredThatDay: its answer is the day
 *  before's, not put on today's floor); not stored, it is dropped and listed as not sent (NotSent). */
async function sendKept(path, body, options) {
  const entry = options.entry;
  let asked = false; // whether the last attempt only asked
  const asking = () => (asked = madeEarlierDay(entry));
  const send = async (made) => {
    let answer;
    try {
      answer = await tap(path, made, { ...options, storedOnly: asking });
    } catch (err) {
      if (!(asked && err instanceof ApiError && err.status === 404 && err.body?.field === "Idempotency-Key")) throw err;
      const why = t("kept.too_old", { what: keptLabel(entry) });
      noteRefused(why);
      throw new NotSent(why);
    }
    if (!asked) return answer;
    const said = t("kept.stored_that_day", { what: keptLabel(entry) });
    toasts.show({ text: said, ms: 10000 });
    throw new StoredThatDay(said);
  };
  const grows = ((entry?.visit || entry?.provider) && body?.type !== "undo") || body?.walk_in === true;
  if (!grows || !Number.isFinite(entry?.kept_at)) return send(body);
  let waited = 0;
  const late = () => {
    waited = Math.max(0, Math.floor((serverNow() - entry.kept_at) / 60000));
    return waited ? { ...body, minutes_ago: Math.min(MAX_MINUTES_AGO, (body.minutes_ago || 0) + waited) } : body;
  };
  try {
    return await send(late);
  } catch (err) {
    // Refused only for the minutes it waited (the room was not free yet then, ...): sent once more as tapped,
    // so the tap is not lost.
    if (!waited || !(err instanceof ApiError && err.status === 422 && err.body?.field === "minutes_ago")) throw err;
    return send(body);
  }
}

/** Taps kept from before this page started, being sent again: key -> {label, visit, waiting}. */
export const sendingAgain = new Map();

/** A tap as kept: for this clinic and the person signed in, with when (server clock) it was made. */
export const keptTap = (entry) => ({ ...entry, clinic: board.clinic, staff: app.me.id, kept_at: serverNow() });

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
export function sendKeptAgain() {
  if (!app.me || !board.clinic) return;
  // A tap made on an earlier clinic day is only asked after (sendKept): stored then, its answer lost, it is said
  // stored; else not sent (a walk-in would be booked today).
  const { again } = kept.left(board.clinic, app.me.id, () => false);
  for (const entry of again) if (!sendingAgain.has(entry.key)) sendAgain(entry);
  // Another person's taps kept here for this clinic, made on an earlier day, will never be sent either: they were
  // listed to whoever signed in next as waiting for that person, day after day (a review). Said once, not sent.
  const staff = new Set(kept.all().filter((e) => e.clinic === board.clinic && e.staff !== app.me.id).map((e) => e.staff));
  for (const who of staff) {
    for (const entry of kept.left(board.clinic, who, madeEarlierDay).old) {
      noteRefused(t("kept.other_tap", { what: t("kept.too_old", { what: keptLabel(entry) }), who }));
    }
  }
  paintKeptElsewhere();
}

/** Taps kept on this tablet for someone not signed in here now (their sign-in ended before the taps could be
 *  sent: a 401 keeps them for that person's next sign-in here). They were lost silently: the first person was told
 *  only that the sign-in ended, and whoever signed in next nothing (a hostile review). On the sign-in form: how
 *  many wait, for whom (no patient's name, nobody is signed in); signed in: another person's taps for this clinic,
 *  in words. They are never sent as the person signed in now. */
export function paintKeptElsewhere() {
  const others = kept.all().filter((e) => !app.me || e.staff !== app.me.id);
  const counts = new Map();
  for (const e of others) counts.set(e.staff, (counts.get(e.staff) || 0) + 1);
  const waiting = $("kept-waiting");
  setText(waiting, [...counts].map(([who, n]) => tn("kept.wait_sign_in", n, { who })).join(" "));
  waiting.hidden = app.me !== null || counts.size === 0;
  const here = app.me && board.clinic && board.seq !== null ? others.filter((e) => e.clinic === board.clinic) : [];
  const lines = here.map((e) => t("kept.other_tap", { what: keptLabel(e), who: e.staff }));
  const list = $("kept-others-list");
  if (lines.join("\n") !== [...list.children].map((li) => li.textContent).join("\n")) {
    list.replaceChildren(...lines.map((line) => el("li", { text: line })));
  }
  $("kept-others").hidden = lines.length === 0;
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
  const token = app.token;
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
    if (board.clinic === entry.clinic) {
      if (answer?.visit) putVisit(answer.visit, answer.plan);
      if (answer?.room) putRoom(answer.room);
      if (answer?.presence) board.presence.set(answer.presence.provider, answer.presence);
    }
    toasts.show({ text: t("kept.sent", { what: r.label }) });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      signInEnded(err, token);
      return;
    }
    if (err instanceof ApiError) {
      if (err.body?.visit && board.clinic === entry.clinic) putVisit(err.body.visit);
      let why = err.status === 409 && err.body?.visit && (err.body.error === "stale_version" || err.body.error === "illegal_step")
        ? conflictText(err.body.visit, entry.stage) : errorText(err);
      // A room's mark kept from before the reload, on a room changed since (cleaned, used and dirty again): what the
      // room is now, as its card would say it.
      if (entry.room && err.status === 409) why = roomConflictText(entry.room, body.type, err.body) || why;
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
