// The timeline: each provider's day as a lane (scheduled slots, what happened, what is projected), the
// now-line moving with the clinic's clock, and the detail of the visit tapped on it.

import { tap, ApiError } from "../lib/api.js";
import { parseTime } from "../lib/page.js";
import { svg } from "../lib/svg.js";
import { $, el, plural } from "../lib/dom.js";
import { STAGE_STATE } from "../lib/labels.js";
import { movable as canMove } from "../lib/visit-detail.js";
import {
  ENDS, PATH, SEGMENT_LABEL, WAITING, clinicPath, clinicTime, hm, hourLabel, minutesText, page, providerName,
  serverNow, state, zoneOffset,
} from "./floor.js";
import { renderClock, scheduleRender } from "./live.js";
import { signedOut } from "./session.js";

let selectedVisit = null;
let opener = null;
/** The move of the visit in detail to another provider: {visit, pending, text, error}. */
let moving = null;

/** Forget the visit shown in detail (another clinic, or signed out). */
export function unselectVisit() {
  selectedVisit = null;
  opener = null;
  moving = null;
  shownDetail = null;
  shownTable = null;
}

// The now-line (and visits in progress) move as the clock runs; redraw when the line has moved a pixel.
let lastNowX = null;
let pxPerMs = 0;
setInterval(() => {
  if ($("app").hidden || state.seq === null) return;
  renderClock();
  if (lastNowX === null || Math.abs((serverNow() - lastNowX) * pxPerMs) >= 2) scheduleRender("timeline");
}, 1000);

// -- the timeline -----------------------------------------------------------------------------------------

export const GUTTER = 178; // provider names, left of the lanes (the lateness chart uses the same, so times line up)
export const RIGHT = 18;
const AXIS = 26;
const PLAN_ROW = 20;
const ROW = 16;
const BAR = 11;
const LANE_PAD = 7;

/** The time range drawn: the session, widened to take in anything outside it. */
export function timeDomain(extra = []) {
  let t0 = clinicTime(state.day, state.session?.opens || "08:00");
  let t1 = clinicTime(state.day, state.session?.closes || "17:00");
  if (!Number.isFinite(t0) || !Number.isFinite(t1) || t1 <= t0) {
    const now = serverNow();
    t0 = now - 4 * 3600e3;
    t1 = now + 4 * 3600e3;
  }
  const half = 30 * 60e3;
  // Half an hour either side of the session, so the scale does not shift as the day goes on.
  const lo = Math.min(t0 - half, ...extra.filter(Number.isFinite));
  const hi = Math.max(t1 + half, ...extra.filter(Number.isFinite));
  // At most three hours either side, on the half hour.
  return [Math.floor(Math.max(lo, t0 - 3 * 3600e3) / half) * half, Math.ceil(Math.min(hi, t1 + 3 * 3600e3) / half) * half];
}

function slotOf(v) {
  const start = parseTime(v.start);
  const type = state.visitTypes.get(v.visit_type);
  return [start, start + (type ? type.slot_minutes : 20) * 60e3];
}

/** The stage segments a visit has been through: [{stage, start, end, open}] ("open": still in it). */
function segmentsOf(v, now) {
  const times = v.times || {};
  const marks = Object.entries(times)
    .filter(([stage]) => stage !== "scheduled")
    .map(([stage, iso]) => [stage, parseTime(iso)])
    .filter(([, t]) => Number.isFinite(t))
    .sort((a, b) => a[1] - b[1]);
  const segments = [];
  marks.forEach(([stage, start], i) => {
    if (!PATH.includes(stage)) return;
    const next = marks[i + 1];
    const open = !next && !ENDS.has(v.stage);
    const end = next ? next[1] : open ? Math.max(start, now) : start;
    if (end > start || open) segments.push({ stage, start, end, open });
  });
  return segments;
}

function laneItems(provider, now) {
  const visits = [...state.visits.values()].filter((v) => v.provider === provider.id);
  const delay = state.delays.get(provider.id);
  // A projection from the last tick is dropped once its visit has moved on (provider in, or ended).
  const projections = new Map((delay?.visits || [])
    .filter((p) => WAITING.has(state.visits.get(p.visit)?.stage))
    .map((p) => [p.visit, p]));
  const items = [];
  for (const v of visits) {
    const segments = segmentsOf(v, now);
    const p = projections.get(v.id);
    const projected = p ? { start: parseTime(p.provider_in), end: parseTime(p.provider_out || p.provider_in), planned: parseTime(p.planned_provider_in), lateness: p.lateness, waitsForProvider: p.waits_for_provider,
      // A visit the provider usually steps out of: out, seeing someone else, and back for the rest.
      out: parseTime(p.steps_out), back: parseTime(p.back) } : null;
    if (projected && !(projected.end > projected.start)) projected.end = projected.start + 60e3;
    const starts = [...segments.map((s) => s.start), projected?.start].filter(Number.isFinite);
    const ends = [...segments.map((s) => s.end), projected?.end].filter(Number.isFinite);
    const endMark = ENDS.has(v.stage) ? parseTime(v.times?.[v.stage]) : NaN;
    items.push({
      visit: v,
      // A patient moved here from another provider had no slot of this provider's (the detail says with whom).
      slot: v.walk_in || v.moved_from ? null : slotOf(v),
      segments,
      projected,
      endMark,
      span: starts.length ? [Math.min(...starts), Math.max(...ends, Number.isFinite(endMark) ? endMark : -Infinity)] : null,
    });
  }
  // Pack the bars into rows, earliest first, so overlapping visits sit one above the other.
  const rows = [];
  for (const item of items.filter((i) => i.span).sort((a, b) => a.span[0] - b.span[0])) {
    let row = rows.findIndex((end) => end <= item.span[0] - 60e3);
    if (row === -1) {
      row = rows.length;
      rows.push(0);
    }
    rows[row] = item.span[1];
    item.row = row;
  }
  return { items, rows: Math.max(2, rows.length), delay };
}

function visitTitle(v) {
  const type = state.visitTypes.get(v.visit_type)?.label || v.visit_type;
  const start = v.walk_in ? `walk-in ${hm(parseTime(v.times?.arrived || v.start))}` : hm(parseTime(v.start));
  return `${v.patient_name} · ${type} · ${start} · ${STAGE_STATE[v.stage] || v.stage}`;
}

/** Text cut to about `width` pixels at `perChar` pixels a character. */
function fitText(text, width, perChar) {
  const fit = Math.floor(width / perChar);
  return text.length <= fit ? text : `${text.slice(0, Math.max(1, fit - 1))}…`;
}

function lateText(lateness) {
  const n = Math.round(Number(lateness) || 0);
  return n <= 0 ? "On time" : `${n} min late`;
}

/** A provider's delay (the server's `lateness`, the core's provider_delay) as the timeline label and the
 * lateness tile both say it: {lateness, level, text}. Red ("bad") only while a cascade alert is raised for them,
 * amber from 5 minutes otherwise, as on the wall (static/board.js): a red lane beside no alert told the manager
 * two things at once, and another than the hallway's (a review). */
export function laneLate(delay) {
  const lateness = delay ? Number(delay.lateness) || 0 : 0;
  const cascade = delay && [...state.alerts.values()].some((a) => a.kind === "cascade" && !a.cleared_at &&
    a.provider === delay.provider);
  const level = cascade && lateness >= 1 ? "bad" : lateness >= 5 ? "warn" : "ok";
  return { lateness, level, text: Math.round(lateness) >= 1 ? `Projected ${lateText(lateness)}` : "On time" };
}

export function renderTimeline() {
  const box = $("timeline");
  const now = serverNow();
  // A provider taken out of the clinic (in the console's Providers, or from the clinic file and the server
  // restarted) keeps a lane while today's visits name them, so their patients can be seen, and moved to a
  // provider who is here. "(taken out)": true of both ways ("(not in file)" was wrong for the console's).
  const known = new Set(state.providers.map((p) => p.id));
  const gone = [...new Set([...state.visits.values()].map((v) => v.provider).filter((id) => !known.has(id)))]
    .sort().map((id) => ({ id, name: `${id} (taken out)` }));
  const lanes = [...state.providers, ...gone].map((p) => ({ provider: p, ...laneItems(p, now) }));
  const extra = [];
  for (const lane of lanes) {
    for (const item of lane.items) {
      if (item.span) extra.push(item.span[0], item.span[1]);
      if (item.slot) extra.push(item.slot[0], item.slot[1]);
    }
  }
  const [t0, t1] = timeDomain([...extra, now]);
  const width = Math.max(720, box.clientWidth || 960);
  const plotW = width - GUTTER - RIGHT;
  const x = (t) => GUTTER + ((t - t0) / (t1 - t0)) * plotW;
  const clampX = (t) => Math.min(width - RIGHT, Math.max(GUTTER, x(t)));
  pxPerMs = plotW / (t1 - t0);
  lastNowX = now;

  let y = AXIS;
  const laneNodes = [];
  const summaries = [];
  let late = 0;
  lanes.forEach((lane, index) => {
    const { provider, items, rows, delay } = lane;
    const height = LANE_PAD * 2 + PLAN_ROW + rows * ROW;
    const g = svg("g", { class: `lane${index % 2 ? " odd" : ""}`, "data-provider": provider.id, transform: `translate(0 ${y})` });
    g.append(svg("rect", { class: "lane-bg", x: 0, y: 0, width, height }));
    const { lateness, level: lateLevel, text: lateLabel } = laneLate(delay);
    if (Math.round(lateness) >= 1) late += 1; // as the lane says it: "On time" under a minute
    const recovery = lateness <= 0 || !delay ? "" : delay.recovers_at ? `back on time ${hm(parseTime(delay.recovers_at))}` : "not back on time today";
    const pace = delay && Number.isFinite(delay.pace) && Math.abs(delay.pace - 1) >= 0.1 ? `pace ${Math.round(delay.pace * 100)}% of plan` : "";
    g.append(
      svg("text", { class: "lane-name", x: 10, y: LANE_PAD + 13 }, fitText(provider.name + (delay?.away
        ? (delay.away === "running_late" ? " · running late" : " · away") : ""), GUTTER - 16, 7.4)),
      svg("text", { class: `lane-late ${lateLevel}`, x: 10, y: LANE_PAD + 30 }, lateLabel),
    );
    if (recovery) g.append(svg("text", { class: "lane-pace", x: 10, y: LANE_PAD + 43 }, recovery));
    if (pace) g.append(svg("text", { class: "lane-pace", x: 10, y: LANE_PAD + (recovery ? 56 : 43) }, pace));
    // Scheduled slots.
    const planY = LANE_PAD;
    for (const item of items) {
      if (!item.slot) continue;
      const v = item.visit;
      const sx = x(item.slot[0]);
      const sw = Math.max(2, x(item.slot[1]) - sx - 1);
      // "Due" by the clinic's plan from the server: once the patient should have been roomed (before the
      // booked time where booked times are the provider's).
      const plan = state.plans.get(v.id);
      const dueAt = plan ? parseTime(plan.roomed) : item.slot[0];
      const status = ENDS.has(v.stage) ? v.stage : v.stage === "scheduled" ? (dueAt <= now ? "due" : "scheduled") : "active";
      const planText = plan ? ` · patient due ${hm(parseTime(plan.roomed))}, provider due ${hm(parseTime(plan.provider_in))}` : "";
      const slot = svg("g", { class: `slot slot-${status}${selectedVisit === v.id ? " selected" : ""}`, "data-visit": v.id,
        "data-due": plan ? plan.roomed : null },
        svg("title", {}, `Scheduled ${hm(item.slot[0])}–${hm(item.slot[1])}${planText} · ${visitTitle(v)}`),
        svg("rect", { x: sx, y: planY, width: sw, height: PLAN_ROW - 4, rx: 2 }));
      const fit = Math.floor((sw - 6) / 6.3);
      if (fit >= 4) {
        const last = v.patient_name.trim().split(/\s+/).pop();
        const text = last.length <= fit ? last : `${last.slice(0, fit - 1)}…`;
        slot.append(svg("text", { class: "slot-text", x: sx + 3, y: planY + 12 }, text));
      }
      if (v.stage === "no_show" || v.stage === "cancelled") {
        slot.append(svg("line", { class: "slot-cross", x1: sx, y1: planY + PLAN_ROW - 4, x2: sx + sw, y2: planY }));
      }
      g.append(slot);
    }
    // What happened, and what is projected.
    for (const item of items) {
      if (item.row === undefined) continue;
      const v = item.visit;
      // A patient moved here from another provider says so on every part of their bar.
      const who = v.moved_from ? `${v.patient_name} (moved from ${providerName(v.moved_from)})` : v.patient_name;
      const rowY = LANE_PAD + PLAN_ROW + item.row * ROW + (ROW - BAR) / 2;
      const bar = svg("g", { class: `visit${selectedVisit === v.id ? " selected" : ""}`, "data-visit": v.id });
      for (const s of item.segments) {
        const sx = clampX(s.start);
        const w = Math.max(1.5, clampX(s.end) - sx);
        bar.append(svg("rect", { class: `seg st-${s.stage}${s.open ? " open" : ""}`, x: sx, y: rowY, width: w, height: BAR },
          svg("title", {}, `${who} — ${SEGMENT_LABEL[s.stage]} ${hm(s.start)}–${s.open ? "now" : hm(s.end)} (${minutesText((s.end - s.start) / 60e3)})`)));
      }
      if (Number.isFinite(item.endMark) && v.stage !== "checked_out") {
        const ex = clampX(item.endMark);
        bar.append(svg("path", { class: "end-mark", d: `M${ex - 4} ${rowY - 1}L${ex + 4} ${rowY + BAR + 1}M${ex + 4} ${rowY - 1}L${ex - 4} ${rowY + BAR + 1}` },
          svg("title", {}, `${who} — ${STAGE_STATE[v.stage]} ${hm(item.endMark)}`)));
      }
      const p = item.projected;
      if (p) {
        const px = clampX(p.start);
        const pw = Math.max(3, clampX(p.end) - px);
        const threshold = state.thresholds.cascade_minutes || 10;
        if (Number.isFinite(p.planned) && p.start - p.planned >= 60e3) {
          bar.append(svg("line", { class: "slip", x1: clampX(p.planned), x2: px, y1: rowY + BAR / 2, y2: rowY + BAR / 2 }),
            svg("line", { class: "slip-tick", x1: clampX(p.planned), x2: clampX(p.planned), y1: rowY, y2: rowY + BAR }));
        }
        const late = p.lateness > 0 ? `, ${Math.round(p.lateness)} min late (planned ${hm(p.planned)})${p.waitsForProvider ? ", waiting on the provider" : ""}` : ", on time";
        const projClass = `proj${p.lateness >= threshold ? " late" : ""}`;
        if (Number.isFinite(p.out) && Number.isFinite(p.back) && p.back > p.out) {
          // The provider with the patient, away (the patient waits in the room), then back for the rest.
          const ox = clampX(p.out), bx = clampX(p.back);
          bar.append(svg("rect", { class: projClass, x: px, y: rowY, width: Math.max(3, ox - px), height: BAR },
            svg("title", {}, `${who} — projected with provider ${hm(p.start)}–${hm(p.out)}${late}`)),
          svg("rect", { class: "proj-away", x: ox, y: rowY + BAR / 3, width: Math.max(1.5, bx - ox), height: BAR / 3 },
            svg("title", {}, `${who} — provider away ${hm(p.out)}–${hm(p.back)}, with another patient (usual for this visit)`)),
          svg("rect", { class: projClass, x: bx, y: rowY, width: Math.max(3, clampX(p.end) - bx), height: BAR },
            svg("title", {}, `${who} — projected back with provider ${hm(p.back)}–${hm(p.end)}`)));
        } else {
          bar.append(svg("rect", { class: projClass, x: px, y: rowY, width: pw, height: BAR },
            svg("title", {}, `${who} — projected with provider ${hm(p.start)}–${hm(p.end)}${late}`)));
        }
      }
      g.append(bar);
    }
    laneNodes.push(g);
    const mine = items.map((i) => i.visit);
    const done = mine.filter((v) => v.stage === "checked_out").length;
    const withProvider = mine.filter((v) => v.stage === "provider_in").length;
    const waiting = mine.filter((v) => ["arrived", "roomed", "prep_done"].includes(v.stage)).length;
    summaries.push(`${provider.name}: ${done} of ${plural(mine.length, "visit")} done, ${withProvider} with the provider, ${waiting} waiting, ${lateText(lateness).toLowerCase()}`);
    y += height;
  });
  const height = y + 4;

  // Axis and hour lines.
  const grid = svg("g", { class: "grid" });
  const hour = 3600e3;
  for (let t = Math.ceil(t0 / (hour / 2)) * (hour / 2); t <= t1; t += hour / 2) {
    const onHour = Math.abs(zoneOffset(state.timezone, t) + t) % hour < 1000;
    grid.append(svg("line", { class: onHour ? "hour" : "half", x1: x(t), x2: x(t), y1: AXIS - (onHour ? 6 : 3), y2: height }));
    // An hour's label gives way to the now-line's.
    if (onHour && !(now >= t0 && now <= t1 && Math.abs(x(t) - x(now)) < 66)) {
      grid.append(svg("text", { class: "axis-label", x: x(t), y: AXIS - 9, "text-anchor": "middle" }, hourLabel(t)));
    }
  }
  const opens = clinicTime(state.day, state.session?.opens);
  const closes = clinicTime(state.day, state.session?.closes);
  const shade = [];
  if (Number.isFinite(opens) && opens > t0) shade.push(svg("rect", { class: "closed", x: GUTTER, y: AXIS, width: x(opens) - GUTTER, height: height - AXIS }));
  if (Number.isFinite(closes) && closes < t1) shade.push(svg("rect", { class: "closed", x: x(closes), y: AXIS, width: width - RIGHT - x(closes), height: height - AXIS }));

  const nowVisible = now >= t0 && now <= t1;
  const nowX = clampX(now);
  const nowIso = new Date(now).toISOString();
  const nowLine = svg("g", { class: "now" },
    svg("rect", { class: "now-line", "data-now": nowIso, x: nowX - 1, y: AXIS - 4, width: 2, height: height - AXIS + 4, visibility: nowVisible ? null : "hidden" }),
    svg("text", { class: "now-label", x: nowX, y: AXIS - 9, "text-anchor": nowX > width - 60 ? "end" : "middle", visibility: nowVisible ? null : "hidden" }, `Now ${hm(now)}`));

  const label = `Provider timelines, ${hm(t0)} to ${hm(t1)}, now ${hm(now)}. ${summaries.join(". ")}.`;
  const chart = svg("svg", { role: "img", "aria-label": label, width, height, viewBox: `0 0 ${width} ${height}`, class: "timeline-svg" },
    svg("title", {}, "Provider timelines"),
    svg("defs", {},
      svg("pattern", { id: "mgr-hatch", patternUnits: "userSpaceOnUse", width: 6, height: 6, patternTransform: "rotate(45)" },
        svg("rect", { class: "hatch-bg", width: 6, height: 6 }),
        svg("line", { class: "hatch-line", x1: 0, y1: 0, x2: 0, y2: 6 }))),
    svg("rect", { class: "gutter-bg", x: 0, y: 0, width: GUTTER, height }),
    ...laneNodes, ...shade, grid, nowLine);
  box.replaceChildren(chart);

  const visits = [...state.visits.values()];
  const count = (pred) => visits.filter(pred).length;
  $("timeline-summary").textContent =
    `${plural(visits.length, "visit")} · ${count((v) => v.stage === "checked_out")} done · ` +
    `${count((v) => !ENDS.has(v.stage) && v.stage !== "scheduled")} in clinic · ` +
    `${late ? `${plural(late, "provider")} behind` : "everyone on time"}`;
  renderVisitsTable();
  if (selectedVisit) renderVisitDetail();
}

// -- the visits as a table -------------------------------------------------------------------------------------
// The bars take a pointer only: the table opens any visit's detail (and its move) from the keyboard, which
// otherwise reached a visit only through an alert naming it (a review). Drawn again only when a row changes.

let shownTable = null;

function renderVisitsTable() {
  if (!$("visits-table-details").open) return;
  const order = new Map(state.providers.map((p, i) => [p.id, i]));
  const visits = [...state.visits.values()].sort((a, b) =>
    (order.get(a.provider) ?? order.size) - (order.get(b.provider) ?? order.size) ||
    String(a.provider).localeCompare(String(b.provider)) || parseTime(a.start) - parseTime(b.start));
  const rows = visits.map((v) => [v.id, v.patient_name, v.token || "", providerName(v.provider),
    `${v.walk_in ? "walk-in " : ""}${hm(parseTime(v.start))}`,
    `${STAGE_STATE[v.stage] || v.stage}${v.room ? ` · ${state.rooms.get(v.room)?.label || v.room}` : ""}`]);
  const signature = JSON.stringify(rows);
  if (signature === shownTable) return;
  shownTable = signature;
  const body = $("visits-table").tBodies[0];
  const focused = body.contains(document.activeElement) ? document.activeElement.dataset.visit : null;
  body.replaceChildren(...rows.map(([id, ...cells]) => {
    const tr = el("tr");
    tr.dataset.visit = id;
    cells.forEach((text, i) => {
      const cell = el(i === 0 ? "th" : "td", "", text);
      if (i === 0) cell.scope = "row";
      tr.append(cell);
    });
    const open = el("button", "small secondary", "Details");
    open.type = "button";
    open.dataset.visit = id;
    open.setAttribute("aria-label", `Details of ${cells[0]}`);
    open.addEventListener("click", () => showVisit(id, open));
    tr.append(el("td", "", open));
    return tr;
  }));
  if (focused) body.querySelector(`button[data-visit="${CSS.escape(focused)}"]`)?.focus();
}
$("visits-table-details").addEventListener("toggle", renderVisitsTable);

// Details of a visit: point at it (the bars' titles) or tap it.
$("timeline").addEventListener("click", (e) => {
  const target = e.target.closest?.("[data-visit]");
  if (!target) return;
  select(target.getAttribute("data-visit"), null);
  renderVisitDetail();
  scheduleRender("timeline");
});

let shownDetail = null; // what the detail shows now: it is drawn again only when that changes

function renderVisitDetail() {
  const box = $("visit-detail");
  const v = state.visits.get(selectedVisit);
  if (!v) {
    box.hidden = true;
    box.replaceChildren();
    shownDetail = null;
    return;
  }
  const type = state.visitTypes.get(v.visit_type);
  const facts = [];
  const fact = (k, val) => {
    if (val) facts.push([k, val]);
  };
  fact("Provider", providerName(v.provider));
  fact("Visit", `${type?.label || v.visit_type}${v.walk_in ? " (walk-in)" : ""}`);
  if (!v.walk_in) {
    const [s, e] = slotOf(v);
    fact("Scheduled", `${hm(s)}–${hm(e)}`);
  }
  if (v.moved_from) fact("Booked with", providerName(v.moved_from));
  fact("Now", `${STAGE_STATE[v.stage] || v.stage}${v.room ? ` · ${state.rooms.get(v.room)?.label || v.room}` : ""}`);
  const steps = Object.entries(v.times || {})
    .filter(([stage]) => stage !== "scheduled")
    .sort((a, b) => parseTime(a[1]) - parseTime(b[1]))
    .map(([stage, iso]) => `${STAGE_STATE[stage] || stage} ${hm(parseTime(iso))}`);
  fact("Steps", steps.join(" → "));
  const p = (state.delays.get(v.provider)?.visits || []).find((q) => q.visit === v.id);
  if (p && WAITING.has(v.stage)) {
    const away = p.steps_out && p.back ? `, steps out ${hm(parseTime(p.steps_out))}, back ${hm(parseTime(p.back))}` : "";
    const presumed = p.presumed_in ? " (presumed: the provider often taps walking in only as a visit ends)" : "";
    fact("Projected", `provider in ${hm(parseTime(p.provider_in))}${presumed}${away}${p.provider_out ? `, out ${hm(parseTime(p.provider_out))}` : ""}` +
      (p.lateness > 0 ? ` · ${Math.round(p.lateness)} min late (planned ${hm(parseTime(p.planned_provider_in))})` : " · on time"));
  }
  if (v.without_teach_back) fact("Note", "Checked out without teach-back");
  const movable = canMove(v) && state.providers.some((q) => q.id !== v.provider);
  // The timeline is drawn again as the clock runs; the detail only when what it says changes, so a provider
  // being chosen from its list (open, or with the focus) is left alone.
  const shown = JSON.stringify([v.id, v.patient_name, v.version, facts, movable && state.providers.map((q) => q.id), moving]);
  if (shown === shownDetail && !box.hidden) return;
  shownDetail = shown;
  // The provider chosen for this visit's move (another visit's choice is not carried over).
  const chosen = box.querySelector(`form[data-move-visit="${CSS.escape(v.id)}"] #move-provider`)?.value;
  const focused = box.contains(document.activeElement) ? document.activeElement.id : null;
  const head = el("div", "detail-head");
  head.append(el("h3", "", v.patient_name));
  const close = el("button", "secondary small", "Close");
  close.type = "button";
  close.id = "visit-detail-close";
  close.addEventListener("click", () => {
    const back = opener;
    select(null, null);
    renderVisitDetail();
    scheduleRender("timeline");
    // Back to what opened it; the visits table's row for it if the table was drawn again meanwhile.
    const row = $("visits-table-details").open ? $("visits-table").querySelector(`button[data-visit="${CSS.escape(v.id)}"]`) : null;
    (back?.isConnected ? back : row || $("timeline-title")).focus();
  });
  head.append(close);
  const list = el("dl", "facts");
  for (const [k, val] of facts) list.append(el("dt", "", k), el("dd", "", val));
  const parts = [head, list];
  if (movable) parts.push(moveForm(v, chosen));
  if (moving?.text) {
    const said = el("p", `message ${moving.error ? "error" : "success"}`, moving.text);
    said.id = "move-message";
    said.setAttribute("role", moving.error ? "alert" : "status");
    said.tabIndex = -1;
    parts.push(said);
  }
  box.replaceChildren(...parts);
  box.hidden = false;
  // A control that is gone (the patient moved on, seen by the provider: no move now) hands the focus to Close, not
  // to the page's top (a review).
  if (focused) (box.querySelector(`#${CSS.escape(focused)}`) || close).focus({ preventScroll: true });
}

/** The visit whose detail is shown, and what opened it from elsewhere (Close goes back there). A move's outcome
 * stays said (it names the patient) until another visit is chosen, and one on its way until it is answered. */
function select(id, from) {
  selectedVisit = id;
  opener = from;
  if (!moving?.pending) moving = null;
}

/** Show a visit's detail (from an alert naming it, `from` its button): the detail in view, its move, if it has
 * one, in focus. */
export function showVisit(id, from = null) {
  select(id, from);
  renderVisitDetail();
  scheduleRender("timeline");
  const box = $("visit-detail");
  box.scrollIntoView({ block: "nearest" });
  (box.querySelector("#move-provider") || box.querySelector("#visit-detail-close"))?.focus({ preventScroll: true });
}

// -- moving a waiting patient to another provider ---------------------------------------------------------
// A patient who is here and waiting (not yet with the provider) can go to another provider who can see them
// sooner: the server moves them (the front desk or a manager), the feed brings the change to every screen.


function moveForm(v, chosen) {
  const form = el("form", "move-visit");
  form.dataset.moveVisit = v.id;
  const label = el("label", "", "Move to another provider");
  label.htmlFor = "move-provider";
  const select = el("select");
  select.id = "move-provider";
  for (const p of state.providers) {
    if (p.id === v.provider) continue;
    const option = el("option", "", p.name);
    option.value = p.id;
    select.append(option);
  }
  if (chosen !== undefined && ![...select.options].some((o) => o.value === chosen)) {
    // The provider chosen has the patient now (moved there meanwhile, from a tablet): nothing is chosen, so Move
    // never sends them to whichever provider comes first, the one they just left (a review).
    const none = el("option", "", "Choose a provider");
    none.value = "";
    select.prepend(none);
    select.value = "";
  } else if (chosen) select.value = chosen;
  const pending = Boolean(moving?.pending); // one move at a time
  const go = el("button", "small", pending && moving.visit === v.id ? "Moving…" : "Move");
  go.type = "submit";
  go.id = "move-go";
  go.disabled = Boolean(pending);
  form.append(label, " ", select, " ", go);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!select.value) {
      moving = { visit: v.id, pending: false, text: `${v.patient_name} is with ${providerName(v.provider)} now: choose a provider to move them to.`, error: true };
      renderVisitDetail();
      $("move-message")?.focus({ preventScroll: true });
      return;
    }
    move(v, select.value);
  });
  return form;
}

async function move(v, provider) {
  if (!provider || moving?.pending) return;
  const clinic = state.clinic;
  moving = { visit: v.id, pending: true, text: "", error: false };
  renderVisitDetail();
  try {
    const answer = await tap(clinicPath(`/visits/${encodeURIComponent(v.id)}/events`),
      { type: "move", provider, expected_version: v.version }, { token: page.token });
    if (state.clinic !== clinic) return;
    const now = state.visits.get(v.id);
    if (!now || (now.version || 0) <= answer.visit.version) state.visits.set(v.id, answer.visit);
    moving = { visit: v.id, pending: false, text: `${v.patient_name} moved to ${providerName(provider)}.`, error: false };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      signedOut(`${err.message} Sign in again.`);
      return;
    }
    const known = state.visits.get(v.id);
    if (err?.body?.visit && state.clinic === clinic && (!known || (known.version || 0) <= err.body.visit.version)) {
      state.visits.set(v.id, err.body.visit);
    }
    moving = { visit: v.id, pending: false, text: `${v.patient_name} not moved: ${err.message || err}`, error: true };
  }
  if (state.clinic !== clinic) return;
  renderVisitDetail();
  scheduleRender("timeline", "alerts");
  $("move-message")?.focus({ preventScroll: true });
}
