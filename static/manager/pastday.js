// A past day as it closed: its visits (the board), its measures, each provider's lateness through it.

import { $, el, row, formState, busy, timeOf, addDays } from "./ui.js";
import { STAGE_LABEL as STAGE } from "../lib/labels.js";
import { startUnknown, untappedNote } from "./measures.js";
import { state } from "./floor.js";


const minutes = (m) => (m === null || m === undefined ? "—" : `${Math.round(m)} min`);
const share = (s) => (s && s.count ? `${Math.round((100 * s.hits) / s.count)}% of ${s.count}` : "—");

function table(id, caption, heads, rows) {
  const t = el("table", "grid-table left");
  t.id = id;
  t.append(el("caption", "", caption));
  const thead = el("thead");
  const tr = el("tr");
  for (const h of heads) {
    const th = el("th", "", h);
    th.scope = "col";
    tr.append(th);
  }
  thead.append(tr);
  const tbody = el("tbody");
  tbody.append(...rows.map(row));
  t.append(thead, tbody);
  const wrap = el("div", "table-wrap");
  wrap.tabIndex = 0;
  wrap.setAttribute("role", "region");
  wrap.setAttribute("aria-label", caption);
  wrap.append(t);
  return wrap;
}

export function pastDaySection(ctx) {
  const form = formState($("past-day"), { day: "past-day-date" });
  const result = $("past-result");

  $("past-day").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (form.missing()) return;
    const day = $("past-day-date").value;
    const base = `/api/clinics/${encodeURIComponent(ctx.clinic())}`;
    await busy($("past-day").querySelector("button"), async () => {
      form.info(`Loading ${day}…`);
      try {
        const [board, measures, lateness] = await Promise.all([
          ctx.api("GET", `${base}/board?day=${day}`),
          ctx.api("GET", `${base}/measures?day=${day}`),
          ctx.api("GET", `${base}/lateness?day=${day}&every=30`),
        ]);
        form.clear();
        render(day, board, measures, lateness);
      } catch (err) {
        result.replaceChildren();
        form.fail(err, "Could not load that day.");
      }
    });
  });

  function render(day, board, measures, lateness) {
    const zone = board.timezone || ctx.floor().timezone;
    const names = new Map((board.providers || []).map((p) => [p.id, p.name]));
    const visits = [...(board.visits || [])].sort((a, b) => String(a.start).localeCompare(String(b.start)));
    const c = measures.clinic;
    const heading = el("h3", "", `${board.name || ""} on ${day}`);
    heading.id = "past-heading";
    heading.tabIndex = -1;
    const facts = el("p", "summary",
      `${c.booked} booked, ${c.seen} seen, ${c.checked_out} checked out, ${c.no_show} no-shows, ${c.cancelled} cancelled · ` +
      `waiting room ${minutes(c.arrival_to_roomed?.median)} (median) · arrival to provider ${minutes(c.arrival_to_provider?.median)} (median) · ` +
      `cycle time ${minutes(c.cycle_time?.median)} (median) · on-time starts ${share(c.on_time_starts)} · ` +
      `teach-back ${share(c.teach_back_rate)} · no-show rate ${share(c.no_show_rate)} · ` +
      `worst lateness ${minutes(c.worst_lateness)} · ${c.alerts_raised} alerts` +
      (c.untapped_in ? ` · ${untappedNote(c.untapped_in)}` : ""));
    const providerRows = Object.entries(measures.providers || {}).map(([id, m]) => [names.get(id) || id,
      `${m.seen} / ${m.booked}${startUnknown(m.untapped_in)}`, minutes(m.arrival_to_roomed?.median),
      minutes(m.arrival_to_provider?.median), minutes(m.cycle_time?.median),
      share(m.on_time_starts), share(m.teach_back_rate), String(m.no_show), minutes(m.worst_lateness)]);
    const points = lateness.points || [];
    const providers = [...new Set(points.flatMap((p) => Object.keys(p.lateness || {})))];
    const latenessRows = providers.map((id) => {
      const values = points.map((p) => p.lateness[id]).filter((v) => v !== undefined);
      const worst = values.length ? Math.max(...values) : null;
      const worstAt = points.find((p) => p.lateness[id] === worst);
      return [names.get(id) || id, minutes(worst), worstAt ? timeOf(worstAt.at, zone) : "—",
        minutes(values.length ? values[values.length - 1] : null)];
    });
    result.replaceChildren(heading, facts,
      table("past-visits", `Visits on ${day}`, ["Time", "Patient", "Code", "Provider", "Type", "How it ended"],
        visits.map((v) => [timeOf(v.start, zone), v.patient_name, v.token || "", names.get(v.provider) || v.provider,
          state.visitTypes.get(v.visit_type)?.label || v.visit_type, STAGE[v.stage] || v.stage])),
      table("past-measures", `Measures by provider, ${day}`, ["Provider", "Seen / booked", "Waiting room (median)", "Arrival to provider (median)",
        "Cycle time (median)", "On-time starts", "Teach-back", "No-shows", "Worst lateness"], providerRows),
      table("past-lateness", `Lateness through ${day}`, ["Provider", "Most behind", "At", "At the close"], latenessRows));
    heading.focus();
  }

  return {
    floorChanged() {
      const day = ctx.floor().day;
      if (!day) return;
      $("past-day-date").max = addDays(day, -1);
      if (!$("past-day-date").value) $("past-day-date").value = addDays(day, -1);
    },
    clear() {
      result.replaceChildren();
      form.clear();
      $("past-day-date").value = "";
    },
  };
}
