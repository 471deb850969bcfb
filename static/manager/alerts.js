// The manager's alerts: active ones first (those not yet acknowledged first), cleared ones folded away, each
// with who acknowledged it or a button to acknowledge it.

import { tap, ApiError } from "../lib/api.js";
import { parseTime, show } from "../lib/page.js";
import { $, el, plural } from "../lib/dom.js";
import { DWELL_PHRASE, STAGE_STATE } from "../lib/labels.js";
import { cascadeFigures, cascadeShown, dwellMinutes, stillToBeSeen } from "../lib/alert-lines.js";
import { clinicPath, codedName, hm, minutesText, page, providerName, serverNow, staffName, state } from "./floor.js";
import { movable } from "../lib/visit-detail.js";
import { scheduleRender } from "./live.js";
import { api, signedOut } from "./session.js";
import { showVisit } from "./timeline.js";

export const alertUi = new Map(); // alert id -> {pending, error}

// -- alerts -------------------------------------------------------------------------------------------------

/** A cascade's minutes late and "back on time": the provider's live delay (`state.delays`, what the timeline
 *  and the wall show), else the figure stored on the alert (the server moves that only by 5 minutes or more). */
const figuresOf = (a) => cascadeFigures(a, a.provider ? state.delays.get(a.provider) : undefined);

function alertHeadline(a) {
  const d = a.detail || {};
  if (a.kind === "cascade") {
    // Under a minute late (caught up, the alert not cleared yet): no "0 min", as on the wall.
    const figures = figuresOf(a);
    return cascadeShown(figures)[0] >= 1
      ? `${providerName(a.provider)} running ${minutesText(figures.lateness)} late`
      : `${providerName(a.provider)} running late, later visits affected`;
  }
  if (a.kind === "schedule") return "The schedule sent ahead for today was not booked";
  if (a.kind === "dwell") {
    const phrase = DWELL_PHRASE[a.stage] || `in ${STAGE_STATE[a.stage] || a.stage}`;
    return `${codedName(a.visit)} ${phrase} ${minutesText(liveDwell(a))}${d.limit ? ` (limit ${d.limit} min)` : ""}`;
  }
  return `${a.kind} alert`;
}

function alertBody(a) {
  const d = a.detail || {};
  const parts = [];
  if (a.kind === "cascade") {
    const affected = stillToBeSeen(a, (id) => state.visits.get(id));
    if (affected.length) {
      const names = affected.slice(0, 4).map(codedName);
      parts.push(`${plural(affected.length, "visit")} projected late: ${names.join(", ")}${affected.length > 4 ? ` and ${affected.length - 4} more` : ""}.`);
    }
    // On time now and for every patient ahead (caught up, the alert not cleared yet): back on time now, as the
    // tablet says, not "about 9:22" with the clock's own time.
    const { recovers_at: back } = figuresOf(a);
    const at = parseTime(back);
    parts.push(!back ? "Not back on time this session." : at <= serverNow() ? "Back on time now." : `Back on time about ${hm(at)}.`);
    if (d.cause_visit) {
      parts.push(`Cause: ${codedName(d.cause_visit)}, ${(STAGE_STATE[d.cause_stage] || d.cause_stage || "").toLowerCase()} ${minutesText(d.cause_minutes)} over.`);
    }
  } else if (a.kind === "schedule") {
    const problems = d.problems || [];
    parts.push(`None of it was booked: ${problems.slice(0, 3).join("; ")}${problems.length > 3 ? `; and ${problems.length - 3} more` : ""}.`);
    parts.push("Import a corrected file for today.");
  } else {
    const v = state.visits.get(a.visit);
    const room = v?.room ? state.rooms.get(v.room)?.label || v.room : "";
    parts.push(`${providerName(a.provider || v?.provider)}${room ? ` · ${room}` : ""}${v && a.stage !== v.stage ? ` · now ${(STAGE_STATE[v.stage] || v.stage).toLowerCase()}` : ""}`);
  }
  return parts.join(" ");
}

/** The alert's patients who can still go to another provider (here and waiting, or booked on the floor and not
 * yet come): a manager can send them to one who can see them sooner. */
function movableOf(a) {
  if (a.cleared_at) return [];
  const ids = a.kind === "cascade" ? a.detail?.affected || [] : a.kind === "dwell" ? [a.visit] : [];
  return ids.filter((id) => movable(state.visits.get(id)) && state.providers.length > 1);
}

/** A dwell alert's wait, counting up while the patient is still in the stage (as on the wall). */
const liveDwell = (a) => dwellMinutes(a, state.visits.get(a.visit), serverNow());

function alertSignature(a) {
  const ui = alertUi.get(a.id) || {};
  return JSON.stringify([a.version, a.cleared_at, a.acknowledged_by, a.updated_at, ui.pending, ui.error, movableOf(a),
    a.kind === "cascade" ? stillToBeSeen(a, (id) => state.visits.get(id)).map(codedName) : codedName(a.visit), page.staffNames.size,
    a.kind === "cascade" ? cascadeShown(figuresOf(a)) : a.kind === "dwell" ? Math.round(liveDwell(a)) : null]);
}

function alertNode(a) {
  const cleared = Boolean(a.cleared_at);
  const li = el("li", `alert alert-${a.kind}${cleared ? " cleared" : ""}${a.acknowledged_by ? " acknowledged" : ""}`);
  li.dataset.alert = a.id;
  li.dataset.state = cleared ? "cleared" : "active";
  const headId = `alert-head-${a.id}`;
  const head = el("p", "alert-head");
  head.id = headId;
  const badge = { cascade: "Running late", dwell: "Waiting too long", schedule: "Schedule" }[a.kind] || a.kind;
  head.append(el("span", "badge", badge),
    " ", el("strong", "", alertHeadline(a)));
  li.append(head);
  const body = alertBody(a);
  if (body) li.append(el("p", "alert-body", body));
  const meta = [`Raised ${hm(parseTime(a.raised_at))}`];
  if (a.updated_at && !cleared) meta.push(`updated ${hm(parseTime(a.updated_at))}`);
  if (cleared) meta.push(`cleared ${hm(parseTime(a.cleared_at))}`);
  li.append(el("p", "alert-meta", meta.join(" · ")));
  const toMove = movableOf(a);
  if (toMove.length) {
    const actions = el("p", "alert-actions");
    for (const id of toMove.slice(0, 4)) {
      const move = el("button", "small secondary", `Move ${codedName(id)}…`);
      move.type = "button";
      move.dataset.action = "move";
      move.dataset.moveFrom = id;
      move.title = "Open the visit to send the patient to another provider";
      move.setAttribute("aria-describedby", headId);
      move.addEventListener("click", () => showVisit(id, move));
      actions.append(move, " ");
    }
    li.append(actions);
  }
  const ui = alertUi.get(a.id) || {};
  if (a.acknowledged_by) {
    const ack = el("p", "ack", `Acknowledged by ${staffName(a.acknowledged_by)}${a.acknowledged_at ? ` at ${hm(parseTime(a.acknowledged_at))}` : ""}`);
    ack.tabIndex = -1;
    li.append(ack);
  } else if (!cleared) {
    const button = el("button", "small", ui.pending ? "Acknowledging…" : "Acknowledge");
    button.type = "button";
    button.dataset.action = "acknowledge";
    button.setAttribute("aria-describedby", headId);
    button.disabled = Boolean(ui.pending);
    button.addEventListener("click", () => acknowledge(a.id));
    li.append(button);
  }
  if (ui.error) li.append(el("p", "alert-error", ui.error));
  li.dataset.signature = alertSignature(a);
  return li;
}

function alertOrder(a) {
  // Active and not acknowledged first, then active; newest first within each. Cleared ones are folded away.
  const group = a.cleared_at ? 2 : a.acknowledged_by ? 1 : 0;
  return [group, -parseTime(a.updated_at || a.raised_at)];
}

/** Keep a list's items in the given order, rebuilding only the alerts that changed. */
function syncAlertList(list, alerts) {
  const existing = new Map([...list.children].map((li) => [li.dataset.alert, li]));
  alerts.forEach((a, i) => {
    let node = existing.get(a.id);
    if (!node || node.dataset.signature !== alertSignature(a)) {
      const fresh = alertNode(a);
      const focused = node && node.contains(document.activeElement) ? document.activeElement : null;
      if (node) node.replaceWith(fresh);
      node = fresh;
      // The focus stays on the same control where it still is (a move of the same patient), else another move,
      // else the acknowledgement.
      const same = focused?.dataset.moveFrom && node.querySelector(`[data-move-from="${CSS.escape(focused.dataset.moveFrom)}"]`);
      // Not the acknowledgement if a move had it: Enter there would acknowledge what the person meant to move.
      const next = focused?.dataset.moveFrom ? node.querySelector("[data-move-from]") : null;
      if (focused) (same || next || node.querySelector(".ack") || node.querySelector("[data-action='acknowledge']") || node).focus?.();
    }
    existing.delete(a.id);
    if (list.children[i] !== node) list.insertBefore(node, list.children[i] || null);
  });
  for (const stale of existing.values()) stale.remove();
}

// A patient's wait in a "waiting too long" alert counts up as the wall's does (a node is rebuilt only when its
// minute changes).
setInterval(() => {
  if (!$("app").hidden && state.seq !== null) renderAlerts();
}, 5000);

export function renderAlerts() {
  const all = [...state.alerts.values()].sort((a, b) => {
    const [ga, ta] = alertOrder(a);
    const [gb, tb] = alertOrder(b);
    return ga - gb || ta - tb;
  });
  const active = all.filter((a) => !a.cleared_at);
  const cleared = all.filter((a) => a.cleared_at);
  // A node moving between the lists is rebuilt (a cleared alert has no Acknowledge button).
  syncAlertList($("alerts"), active);
  syncAlertList($("alerts-cleared-list"), cleared);
  const unacknowledged = active.filter((a) => !a.acknowledged_by).length;
  $("alerts-count").textContent = active.length ? `(${active.length} active${unacknowledged ? `, ${unacknowledged} to acknowledge` : ""})` : "";
  $("alerts-empty").hidden = active.length > 0;
  $("alerts-empty").textContent = all.length ? "No active alerts." : "No alerts today.";
  $("alerts-cleared").hidden = cleared.length === 0;
  $("alerts-cleared-title").textContent = `Cleared alerts (${cleared.length})`;
}

async function acknowledge(id) {
  const ui = { pending: true, error: "" };
  alertUi.set(id, ui);
  renderAlerts();
  const clinic = state.clinic;
  try {
    const answer = await tap(clinicPath(`/alerts/${encodeURIComponent(id)}/acknowledge`), undefined, {
      token: page.token,
      onWaiting: () => show($("alerts-message"), "Waiting for the network to acknowledge…", "info"),
    });
    $("alerts-message").hidden = true;
    alertUi.delete(id);
    if (state.clinic === clinic && answer?.alert) {
      const known = state.alerts.get(id);
      if (!known || (known.version || 0) <= answer.alert.version) state.alerts.set(id, answer.alert);
    }
  } catch (err) {
    $("alerts-message").hidden = true;
    if (err instanceof ApiError && err.status === 401) {
      signedOut(`${err.message} Sign in again.`);
      return;
    }
    alertUi.set(id, { pending: false, error: err.message || "Could not acknowledge." });
    if (err instanceof ApiError && err.status === 409) {
      // Someone else got there first: the message says who; fetch the alert as it is now.
      refreshAlerts();
    }
  }
  if (state.clinic === clinic) {
    renderAlerts();
    const node = $("alerts").querySelector(`[data-alert="${CSS.escape(id)}"]`);
    (node?.querySelector(".ack") || node?.querySelector("[data-action='acknowledge']"))?.focus();
  }
}

async function refreshAlerts() {
  try {
    const board = await api("GET", clinicPath("/board"));
    for (const a of board.alerts || []) {
      const known = state.alerts.get(a.id);
      if (!known || (known.version || 0) <= (a.version || 0)) state.alerts.set(a.id, a);
    }
    scheduleRender("alerts");
  } catch {
    /* the live feed brings it anyway */
  }
}
