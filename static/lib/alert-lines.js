// The floor's active alerts on a tablet, each with the visit code the wall shows for it ("XD2 · Pat Doe waiting
// to be roomed 25 min"), so that staff can tell who the wall means.
//
//   renderAlerts(section, alerts, ctx)   ctx: {visit(id), provider(id), clock(iso), delay(provider), now()}
//
// A cascade's minutes and "back on time" are the provider's live delay (the feed's `delays`, as the wall shows
// them), not the figure stored on the alert: the server updates that only when it moves 5 minutes or more
// (floor/core/alerts.py UPDATE_MINUTES), so it lags the wall, the manager's timeline and each other.

import { el } from "./dom.js";
import { t } from "./i18n.js";
import { DWELL_PHRASE } from "./labels.js";
import { SEEN_OR_GONE } from "./stages.js";
import { parseTime } from "./page.js";
import { visitCode } from "./visit-detail.js";



const mins = (m) => t("time.min", { n: Math.round(Number(m) || 0) });

/** How long a "waiting too long" alert's patient has waited: counted from when they entered the stage while they
 *  are still in it (as the wall counts it), else the minutes stored when it was raised (the server does not move
 *  those: a tablet said "16 min" while the wall said 45). `now`: the server's clock, in ms. */
export function dwellMinutes(a, v, now) {
  const since = v && v.stage === a.stage && v.times ? parseTime(v.times[a.stage]) : NaN;
  if (Number.isFinite(since) && Number.isFinite(now) && !a.cleared_at) return Math.max(0, (now - since) / 60000);
  return Number(a.detail?.minutes) || 0;
}

/** A cascade alert's figures as every screen shows them: {lateness, recovers_at} from the provider's live
 *  delay (a ProviderDelay of the feed's `delays`) when there is one, else those stored on the alert. */
export function cascadeFigures(alert, delay) {
  const live = delay && alert.provider && delay.provider === alert.provider ? delay : null;
  const d = live || alert.detail || {};
  return { lateness: d.lateness, recovers_at: d.recovers_at ?? null };
}

/** The part of a cascade's figures a screen shows, for a render signature: whole minutes late, and the
 *  minute it is back on time (clocks show hours and minutes). */
export function cascadeShown(figures) {
  const back = parseTime(figures.recovers_at);
  return [Math.round(Number(figures.lateness) || 0), Number.isFinite(back) ? Math.floor(back / 60000) : null];
}

/** A cascade's affected visits still to be seen, as the screens name them "projected late": the run's visits the
 *  provider saw late keep the alert up, but a manager read patients checked out an hour before among those projected
 *  late, and the ones still waiting hidden in "and 3 more". `visit(id)`: the visit as the screen has it (one it does
 *  not know is kept). */
export function stillToBeSeen(alert, visit) {
  return (alert.detail?.affected || []).filter((id) => !SEEN_OR_GONE.has(visit(id)?.stage));
}

const delayOf = (a, ctx) => (a.kind === "cascade" && a.provider && ctx.delay ? ctx.delay(a.provider) : undefined);

/** A visit as the alert names it: its wall code, then its patient. */
function who(id, ctx) {
  const v = ctx.visit(id);
  return [visitCode(v?.token), " ", v?.patient_name || t("alert.a_patient")];
}

function alertItem(a, ctx) {
  const d = a.detail || {};
  const li = el("li", { class: `tablet-alert alert-${a.kind}`, "data-alert": a.id, "data-alert-visit": a.visit || null });
  if (a.kind === "dwell") {
    const phrase = DWELL_PHRASE[a.stage] || t("alert.waiting");
    li.append(...who(a.visit, ctx), " ", t(d.limit ? "alert.dwell_limit" : "alert.dwell_for",
      { phrase, minutes: mins(dwellMinutes(a, ctx.visit(a.visit), ctx.now?.())), limit: d.limit }));
  } else if (a.kind === "cascade") {
    const live = cascadeFigures(a, delayOf(a, ctx));
    const provider = ctx.provider(a.provider);
    // Under a minute late (caught up, the alert not cleared yet): no "0 min", as on the wall.
    li.append(cascadeShown(live)[0] >= 1
      ? t("alert.running_late", { provider, minutes: mins(live.lateness) })
      : t("alert.running_late_affected", { provider }));
    const affected = stillToBeSeen(a, ctx.visit);
    if (affected.length) {
      li.append(t("alert.projected_late"), " ");
      affected.slice(0, 6).forEach((id, i) => li.append(i ? ", " : "", ...who(id, ctx)));
      if (affected.length > 6) li.append(" ", t("alert.and_more", { n: affected.length - 6 }));
    }
    // On time now and for every patient ahead (caught up, the alert not cleared yet): the projection recovers her
    // now (floor/core/projection.py), said so, not "back on time about 9:22" with the clock's own time.
    const back = parseTime(live.recovers_at);
    const now = ctx.now?.();
    li.append(!live.recovers_at ? "." : Number.isFinite(back) && Number.isFinite(now) && back <= now
      ? t("alert.back_on_time_now") : t("alert.back_on_time", { time: ctx.clock(live.recovers_at) }));
  } else if (a.kind === "schedule") {
    li.append(t("alert.schedule_not_booked"));
  } else {
    li.append(t("alert.other", { kind: a.kind }));
  }
  return li;
}

/** Fill the tablet's alert section with the active alerts, most recent first; hidden when there are none. */
export function renderAlerts(section, alerts, ctx) {
  const active = [...alerts].filter((a) => !a.cleared_at);
  active.sort((a, b) => String(b.updated_at || b.raised_at).localeCompare(String(a.updated_at || a.raised_at)));
  section.hidden = active.length === 0;
  const list = section.querySelector("ul");
  const sig = JSON.stringify(active.map((a) => [a.id, a.version, a.visit && ctx.visit(a.visit)?.patient_name,
    stillToBeSeen(a, ctx.visit), a.kind === "cascade" ? cascadeShown(cascadeFigures(a, delayOf(a, ctx)))
      : a.kind === "dwell" ? Math.round(dwellMinutes(a, ctx.visit(a.visit), ctx.now?.())) : null]));
  if (list.dataset.sig === sig) return;
  list.dataset.sig = sig;
  list.replaceChildren(...active.map((a) => alertItem(a, ctx)));
}
