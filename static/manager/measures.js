// Today's measures (a tile each, and a row per provider) and what Floor has learned from past days.

import { parseTime } from "../lib/page.js";
import { $, el, plural } from "../lib/dom.js";
import { hm, minutesText, percent, state } from "./floor.js";
import { laneLate } from "./timeline.js";

// -- measures -----------------------------------------------------------------------------------------------

const TILES = [
  { name: "visits", label: "Visits", kind: "counts" },
  { name: "arrival_to_roomed", label: "Waiting room", kind: "durations", note: "from arriving to being roomed" },
  { name: "arrival_to_provider", label: "Arrival to provider", kind: "durations", note: "from arriving to seeing the provider" },
  { name: "roomed_to_provider", label: "Wait in room", kind: "durations", note: "from roomed to the provider coming in" },
  { name: "cycle_time", label: "Cycle time", kind: "durations", note: "from arriving to checking out" },
  { name: "time_with_provider", label: "With provider", kind: "durations", note: "from provider in to teach-back (or checkout)" },
  { name: "on_time_starts", label: "On-time starts", kind: "share", note: "provider in within 5 min of plan" },
  { name: "teach_back_rate", label: "Teach-back rate", kind: "share", note: "checked out after teach-back" },
  { name: "no_show_rate", label: "No-show rate", kind: "share", note: "of booked patients due so far who came or were marked a no-show" },
  { name: "lateness", label: "Lateness by provider", kind: "lateness" },
];

function tile(spec, m) {
  const node = el("div", `tile tile-${spec.kind}`);
  node.dataset.measure = spec.name;
  node.append(el("h3", "tile-label", spec.label));
  if (spec.kind === "durations") {
    const d = m.clinic[spec.name] || {};
    const big = el("p", "tile-value");
    big.append(d.count ? minutesText(d.median) : "—", el("span", "unit", " median"));
    node.append(big, el("p", "tile-note", d.count ? `p90 ${minutesText(d.p90)} · ${plural(d.count, "visit")}` : "No visits measured yet"));
  } else if (spec.kind === "share") {
    const s = m.clinic[spec.name] || {};
    node.append(el("p", "tile-value", percent(s.count ? s : null)),
      el("p", "tile-note", s.count ? `${s.hits} of ${plural(s.count, "visit")}` : "No visits yet"));
  } else if (spec.kind === "lateness") {
    const list = el("ul", "late-list");
    for (const p of state.providers.length ? state.providers : Object.keys(m.providers).map((id) => ({ id, name: id }))) {
      const pm = m.providers[p.id];
      if (!pm) continue;
      const li = el("li", "");
      li.dataset.provider = p.id;
      // Now: the provider's delay from the server, the figure and words of the timeline's label (laneLate).
      const late = laneLate(state.delays.get(p.id));
      li.append(el("span", "late-name", p.name), el("span", `late-now ${late.level}`, late.text),
        el("span", "late-worst", `worst ${minutesText(pm.worst_lateness)}`));
      list.append(li);
    }
    node.append(list, el("p", "tile-note", "Now: the provider's projected delay, as on the timeline (a patient who " +
      "came late does not count). Worst: the latest the provider was for a patient due so far today, measured " +
      "(seen, still waiting, or gone unseen after waiting past their time). The \"Late now\" of the table by " +
      "provider is measured, not projected, so it can differ from Now."));
  } else if (spec.kind === "counts") {
    const c = m.clinic;
    node.append(el("p", "tile-value", `${c.seen} / ${c.booked}`), el("p", "tile-note",
      `seen of booked · ${c.checked_out} checked out · ${c.waiting} waiting · ${c.no_show} no-show${c.left_without_being_seen ? ` · ${c.left_without_being_seen} left unseen` : ""}${c.cancelled ? ` · ${c.cancelled} cancelled` : ""}`));
  }
  if (spec.note && spec.kind !== "lateness") node.title = spec.note;
  return node;
}

// Visits whose "provider in" was tapped with their end have no time the provider walked in (the measures'
// `untapped_in`): what the page says of them, today's and a past day's.
export const untappedNote = (n) => `${plural(n, "visit")} with "provider in" tapped only at the visit's end, ` +
  "left out of the waits for the provider, time with them, on-time starts and lateness";
export const startUnknown = (n) => (n ? ` (${n} start unknown)` : "");

// Seen of booked, and how many of those seen have no start known.
function seenCell(pm) {
  const td = el("td", "", `${pm.seen} / ${pm.booked}`);
  if (pm.untapped_in) {
    td.append(el("span", "learned-note", startUnknown(pm.untapped_in)));
    td.title = untappedNote(pm.untapped_in);
  }
  return td;
}

export function renderMeasures() {
  const m = state.measures;
  if (!m || !m.clinic) return;
  $("measures").replaceChildren(...TILES.map((spec) => tile(spec, m)));
  const untapped = m.clinic.untapped_in ? ` · ${untappedNote(m.clinic.untapped_in)}` : "";
  $("measures-at").textContent = `As of ${hm(parseTime(m.at))} · alerts raised today: ${m.clinic.alerts_raised}${untapped}`;
  const rows = [];
  for (const p of state.providers.length ? state.providers : Object.keys(m.providers).map((id) => ({ id, name: id }))) {
    const pm = m.providers[p.id];
    if (!pm) continue;
    const tr = el("tr");
    tr.dataset.provider = p.id;
    const th = el("th", "", p.name);
    th.scope = "row";
    tr.append(th,
      seenCell(pm),
      el("td", "", pm.arrival_to_roomed.count ? minutesText(pm.arrival_to_roomed.median) : "—"),
      el("td", "", pm.arrival_to_provider.count ? minutesText(pm.arrival_to_provider.median) : "—"),
      el("td", "", pm.roomed_to_provider.count ? minutesText(pm.roomed_to_provider.median) : "—"),
      el("td", "", pm.cycle_time.count ? minutesText(pm.cycle_time.median) : "—"),
      el("td", "", percent(pm.on_time_starts)),
      el("td", "", percent(pm.teach_back_rate)),
      el("td", "", percent(pm.no_show_rate)),
      el("td", "", `${minutesText(pm.current_lateness)} / ${minutesText(pm.worst_lateness)}`),
      el("td", "", String(pm.alerts_raised)));
    rows.push(tr);
  }
  $("provider-measures").tBodies[0].replaceChildren(...rows);
}

// -- what Floor has learned from past days --------------------------------------------------------------------

function stageCell(s) {
  const td = el("td", "");
  td.dataset.stage = s.stage;
  if (!s.visits) {
    td.append(`${minutesText(s.expected, { decimals: true })}`, el("span", "learned-note", " clinic file"));
    return td;
  }
  td.append(`${minutesText(s.expected, { decimals: true })}`,
    el("span", "learned-note", ` file ${minutesText(s.configured)} · median ${minutesText(s.median, { decimals: true })} · ${plural(s.visits, "visit")}`));
  return td;
}

export function renderLearned(answer) {
  const summary = !answer.learned ? "Learning from past days…"
    : answer.days ? `From ${plural(answer.days, "past day")} (${answer.first_day} to ${answer.last_day}; at most ${answer.max_days}), each stage drawn toward the clinic file with ${answer.prior_visits} visits' weight`
    : "No past days yet: Floor expects the clinic file's minutes.";
  $("learned-summary").textContent = summary;
  const twoAtOnce = answer.two_at_once_changes ? ` In ${plural(answer.two_at_once_changes, "provider change")} the provider went in to the next patient well before the last one's teach-back: two patients at once (stepping out mid-visit), not a late tap; a short overlap of a provider who does that as often is not taken as one either.` : "";
  $("learned-taps").textContent = !answer.learned || !answer.provider_changes ? ""
    : !answer.late_tap_changes ? `Taps: on time (${plural(answer.provider_changes, "provider change")}, none with the next patient's provider-in tapped minutes before the last one's teach-back).${twoAtOnce}`
    : `Taps: in ${answer.late_tap_changes} of ${plural(answer.provider_changes, "provider change")} the next patient's provider-in was tapped minutes before the last one's teach-back, a tap entered after its step.${twoAtOnce} ${answer.tap_lag ? `Floor takes taps to lag ${minutesText(answer.tap_lag, { decimals: true })}: a visit already started counts toward a cascade only that much past the cascade's minutes late.` : "Too few to take the taps as late."} Tapping each step as it happens, or saying how long ago, keeps the times true.`;
  $("learned-pace").textContent = !answer.learned || !answer.pace_visits ? ""
    : !answer.pace_weight ? `Pace: ${plural(answer.pace_visits, "past visit")} to judge by, too few to learn from: a provider's day so far sets the pace against ${answer.pace_prior} visits' worth of the usual minutes.`
    : `Pace: of the weights tried, the usual minutes counting as ${answer.pace_weight} visits against a provider's day so far best foretold ${plural(answer.pace_visits, "past visit")} from the ones before them that day. ${answer.pace_weight > answer.pace_prior ? "A slow visit or two says little here about how the rest of the day will go." : "A provider's days differ here: the day's own visits soon set the pace."}`;
  const checkouts = answer.checkouts + answer.checkouts_today;
  const batchedNote = `${answer.checkouts_batched} of ${plural(answer.checkouts, "checkout")} on past days and ${answer.checkouts_batched_today} of ${answer.checkouts_today} today were tapped within ${answer.batch_seconds} seconds of another patient's`;
  $("learned-checkouts").textContent = !answer.learned || !checkouts ? ""
    : !answer.checkouts_judged ? `Checkouts: ${plural(checkouts, "checkout")} on past days and today, too few to say whether the desk taps them in batches. "Waiting for checkout" is raised at the clinic's limit.`
    : answer.checkouts_in_batches && answer.checkout_hold != null ? `Checkouts: ${batchedNote}: the desk checks patients out in batches. A patient taught back is most likely gone before their checkout is tapped, so "waiting for checkout" waits until a batch comes without them, at most ${minutesText(answer.checkout_hold, { decimals: true })} after their teach-back.`
    : answer.checkouts_in_batches ? `Checkouts: ${batchedNote}: the desk checks patients out in batches, within the clinic's limit. "Waiting for checkout" is raised at the limit.`
    : `Checkouts: ${batchedNote}: tapped as patients leave. "Waiting for checkout" is raised at the clinic's limit.`;
  const stepsOut = !answer.learned ? [] : answer.providers.flatMap((p) => p.visit_types
    .filter((t) => t.steps_out && t.steps_out.stepped)
    .map((t) => `${p.name}, ${t.label}: ${t.steps_out.stepped} of ${plural(t.steps_out.visits, "past visit")}, ${minutesText(t.steps_out.before)} in, ${minutesText(t.steps_out.own)} of their own in all${t.steps_out.expected ? " (Floor frees them for the next patient meanwhile)" : ""}`));
  $("learned-steps-out").textContent = !stepsOut.length ? ""
    : `Stepping out (walking in to another patient mid-visit, long before its teach-back): ${stepsOut.join("; ")}. Where a provider steps out of most visits of a type, Floor takes them to be free for the next patient once their usual minutes before stepping out are up, and back for the rest after.`;
  // Past days' figures and today's so far: both count toward whether Floor takes it as the provider's habit.
  const untapped = answer.providers.filter((p) => (answer.learned && p.untapped_in) || p.untapped_in_today)
    .map((p) => `${p.name}: ${[
      ...(answer.learned && p.untapped_in ? [`${p.untapped_in} of ${plural(p.seen_out, "past visit")}`] : []),
      ...(p.seen_out_today ? [`${p.untapped_in_today} of ${p.seen_out_today} today`] : []),
    ].join(", ")}${p.walks_in_untapped ? " (Floor takes a patient left waiting while they seem free to be with them)" : ""}`);
  $("learned-untapped-in").textContent = !untapped.length ? ""
    : `Walking in tapped only as the visit ended (provider in and teach-back tapped together): ${untapped.join("; ")}. Such a visit says nothing of the provider's minutes and is left out of what Floor learns of them and of the day's waits for the provider, time with them, on-time starts and lateness. Tapping "provider in" on walking in keeps the wall true.`;
  const stageRows = [];
  const patientRows = [];
  for (const p of answer.providers) {
    for (const t of p.visit_types) {
      const tr = el("tr");
      tr.dataset.provider = p.provider;
      tr.dataset.visitType = t.visit_type;
      const th = el("th", "", p.name);
      th.scope = "row";
      tr.append(th, el("td", "", t.label), ...t.stages.map(stageCell));
      stageRows.push(tr);
    }
    const tr = el("tr");
    tr.dataset.provider = p.provider;
    const th = el("th", "", p.name);
    th.scope = "row";
    const early = p.arrival_late_median;
    tr.append(th,
      el("td", "", String(p.booked)),
      el("td", "", p.booked ? `${p.no_shows} of ${p.booked} · expects ${percent(p.no_show_share)}` : "—"),
      el("td", "", early === null ? "—" : early > 0 ? `${minutesText(early)} late` : early < 0 ? `${minutesText(-early)} early` : "on time"),
      el("td", "", p.arrival_to_provider === null ? "—"
        : `${minutesText(p.arrival_to_provider)} (${plural(p.arrival_to_provider_visits, "visit")})`));
    patientRows.push(tr);
  }
  $("learned-stages").tBodies[0].replaceChildren(...stageRows);
  $("learned-patients").tBodies[0].replaceChildren(...patientRows);
}
