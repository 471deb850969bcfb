// Audit trails: who did each step of a visit, or everything a person tapped, on a day.

import { $, el, row, formState, busy, timeOf } from "./ui.js";
import { providerName, state } from "./floor.js";

/** A visit type's label from the clinic file, else its code (a type removed since). */
const typeLabel = (code) => state.visitTypes.get(code)?.label || code;

const STEP_LABEL = {
  arrived: "Arrived", roomed: "Roomed", prep_done: "Prep done", provider_in: "Provider in",
  teach_back_done: "Teach-back done", checked_out: "Checked out", no_show: "No show", cancelled: "Cancelled",
  left_without_being_seen: "Left without being seen",
};
const TYPE_LABEL = {
  ...STEP_LABEL, booked: "Booked", walk_in: "Walk-in added", visit_rescheduled: "Rescheduled", undo: "Undid",
  room_ready: "Room marked ready", room_blocked: "Room blocked", room_unblocked: "Room unblocked",
  presence_running_late: "Provider running late", presence_stepped_away: "Provider stepped away",
  presence_back: "Provider back", presence_undo: "Undid a presence tap",
  alert_raised: "Alert raised", alert_updated: "Alert updated", alert_cleared: "Alert cleared",
  alert_acknowledged: "Alert acknowledged",
};

/** How a trail names the day's visits, rooms and people: as the floor shows them ("XD2 · Ann Lee", "East 1",
 *  "Ben Osei"), not by the server's ids alone (a person's trail listed "ma-ben", "room e1" and "v2dyrc2ecg76p": a
 *  review); a person's and a visit's id stay beside their names, as the logs and exports give them. `board`: the
 *  day's floor (today's live one, or a past day's as it closed); an id it does not know stays as it is. */
function namer(board, staff) {
  const visits = new Map((board.visits || []).map((v) => [v.id, v]));
  const rooms = new Map((board.rooms || []).map((r) => [r.id, r.label]));
  const people = new Map(staff.map((s) => [s.id, s.name]));
  return {
    visit: (id) => {
      const v = visits.get(id);
      return v ? `${v.token ? `${v.token} · ` : ""}${v.patient_name} (${id})` : id || "";
    },
    room: (id) => rooms.get(id) || id,
    person: (id) => (people.get(id) ? `${people.get(id)} (${id})` : id),
  };
}

function what(e, zone, names) {
  if (e.type === "visit_moved") return `Moved from ${providerName(e.previous_provider)} to ${providerName(e.provider)}`;
  if (e.type === "set_up_changed") return `Set-up changed: ${(e.changes || []).join("; ")}`;
  const parts = [TYPE_LABEL[e.type] || e.type.replaceAll("_", " ")];
  if (e.undone) parts.push(`“${(STEP_LABEL[e.undone] || e.undone.replaceAll("_", " ")).toLowerCase()}”`);
  if (e.room) parts.push(`room ${names.room(e.room)}`);
  if (e.reason) parts.push(`(${e.reason})`);
  if (e.start) parts.push(`for ${timeOf(e.start, zone)}`);
  if (e.provider) parts.push(`with ${providerName(e.provider)}`);
  if (e.visit_type) parts.push(`(${typeLabel(e.visit_type)})`);
  if (e.back_in_minutes) parts.push(`back in ${e.back_in_minutes} min`);
  if (e.without_teach_back) parts.push("without teach-back");
  if (e.entered_in_error) parts.push("entered in error");
  if (e.happened) parts.push(`(happened at ${timeOf(e.happened, zone)}, tapped later)`);
  if (e.notes_changed) parts.push("notes changed");
  return parts.join(" ");
}

export function auditSection(ctx) {
  const visitForm = formState($("audit-visit"), { day: "audit-visit-day" });
  const personForm = formState($("audit-person"), { day: "audit-person-day" });
  const result = $("audit-result");
  let visitsDay = null;

  let filled = "";

  function fillVisits(visits) {
    const select = $("audit-visit-visit");
    const chosen = select.value;
    const signature = JSON.stringify(visits.map((v) => [v.id, v.start, v.patient_name, v.provider, v.token]));
    if (signature === filled) return;
    filled = signature;
    const sorted = [...visits].sort((a, b) => String(a.start).localeCompare(String(b.start)));
    select.replaceChildren(...sorted.map((v) => {
      const o = el("option", "", `${timeOf(v.start, ctx.floor().timezone)} ${v.patient_name}${v.token ? ` · ${v.token}` : ""} (${v.provider})`);
      o.value = v.id;
      return o;
    }));
    if (visits.some((v) => v.id === chosen)) select.value = chosen;
  }

  async function visitsOn(day) {
    visitsDay = day;
    if (day === ctx.floor().day) {
      fillVisits([...ctx.floor().visits.values()]);
      return;
    }
    try {
      const board = await ctx.api("GET", `/api/clinics/${encodeURIComponent(ctx.clinic())}/board?day=${day}`);
      if (visitsDay === day) fillVisits(board.visits || []);
    } catch (err) {
      fillVisits([]);
      visitForm.fail(err);
    }
  }

  /** The day's floor, to name what its trail holds: today's live one, else the day's as it closed. */
  async function boardOf(day) {
    const live = ctx.floor();
    if (day === live.day) return { visits: [...live.visits.values()], rooms: [...live.rooms.values()] };
    try {
      return await ctx.api("GET", `/api/clinics/${encodeURIComponent(ctx.clinic())}/board?day=${day}`);
    } catch {
      return {}; // named by their ids, as the trail gives them
    }
  }

  async function show(title, entries, day) {
    const zone = ctx.floor().timezone;
    const here = namer(await boardOf(day), [...managed, ...(ctx.me() ? [ctx.me()] : [])]);
    // A person's trail spans their clinics: another clinic's visits and rooms keep their ids.
    const names = (e) => (e.clinic && e.clinic !== ctx.clinic() ? namer({}, managed) : here);
    const table = el("table", "grid-table left");
    table.id = "audit-table";
    table.append(el("caption", "", title));
    const head = el("thead");
    const hr = el("tr");
    for (const h of ["Time", "Who", "Device", "What", "Visit"]) {
      const th = el("th", "", h);
      th.scope = "col";
      hr.append(th);
    }
    head.append(hr);
    const body = el("tbody");
    body.append(...entries.map((e) => row([timeOf(e.at, zone), names(e).person(e.person), e.device, what(e, zone, names(e)),
      names(e).visit(e.visit)])));
    table.append(head, body);
    const wrap = el("div", "table-wrap");
    wrap.tabIndex = 0;
    wrap.setAttribute("role", "region");
    wrap.setAttribute("aria-label", title);
    wrap.append(table);
    result.replaceChildren(entries.length ? wrap : el("p", "hint", `${title}: nothing recorded.`));
  }

  $("audit-visit-day").addEventListener("change", () => {
    if ($("audit-visit-day").value) visitsOn($("audit-visit-day").value);
  });

  $("audit-visit").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (visitForm.missing()) return;
    const day = $("audit-visit-day").value;
    const select = $("audit-visit-visit");
    const label = select.selectedOptions[0]?.textContent || select.value;
    await busy($("audit-visit").querySelector("button"), async () => {
      try {
        const trail = await ctx.api("GET", `/api/clinics/${encodeURIComponent(ctx.clinic())}/visits/${encodeURIComponent(select.value)}/audit?day=${day}`);
        await show(`Audit trail of ${label}, ${day}`, trail.entries || [], day);
      } catch (err) {
        visitForm.fail(err, "Could not read the visit’s trail.");
      }
    });
  });

  // "A person's trail" takes any staff id, suggesting the accounts this manager manages and whoever tapped on
  // today's floor: the list held only the first, so a provider or float nurse who also works in another clinic
  // (their trail here readable all the same) could not be chosen (a review).
  let managed = [];
  const people = new Map(); // id -> name, of the suggestions
  let suggested = "";
  function suggest() {
    people.clear();
    for (const s of managed) people.set(s.id, s.name);
    for (const v of ctx.floor().visits?.values() || []) {
      for (const id of [v.booked_by, ...(v.steps || []).map((s) => s.by)]) if (id && !people.has(id)) people.set(id, "");
    }
    for (const a of ctx.floor().alerts?.values() || []) {
      if (a.acknowledged_by && !people.has(a.acknowledged_by)) people.set(a.acknowledged_by, "");
    }
    const key = JSON.stringify([...people]);
    if (key === suggested) return;
    suggested = key;
    $("audit-person-staff-list").replaceChildren(...[...people].sort((a, b) => (a[1] || a[0]).localeCompare(b[1] || b[0]))
      .map(([id, name]) => el("option", { value: id, text: name ? `${name} (${id})` : id })));
  }

  $("audit-person").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (personForm.missing()) return;
    const day = $("audit-person-day").value;
    const id = $("audit-person-staff").value.trim();
    const label = people.has(id) ? `${people.get(id)} (${id})` : id;
    await busy($("audit-person").querySelector("button"), async () => {
      try {
        const trail = await ctx.api("GET", `/api/staff/${encodeURIComponent(id)}/audit?day=${day}`);
        await show(`Everything ${label} did, ${day}`, trail.entries || [], day);
      } catch (err) {
        personForm.fail(err, "Could not read the person’s trail.");
      }
    });
  });

  return {
    staffChanged(staff) {
      managed = staff;
      suggest();
    },
    floorChanged() {
      const day = ctx.floor().day;
      if (!day) return;
      for (const id of ["audit-visit-day", "audit-person-day"]) {
        $(id).max = day;
        if (!$(id).value) $(id).value = day;
      }
      if ($("audit-visit-day").value === day) {
        visitsDay = day;
        fillVisits([...ctx.floor().visits.values()]);
      }
      suggest();
    },
    clear() {
      visitsDay = null;
      filled = "";
      result.replaceChildren();
      for (const id of ["audit-visit-day", "audit-person-day"]) $(id).value = "";
      $("audit-visit-visit").replaceChildren();
      $("audit-person-staff").value = "";
      $("audit-person-staff-list").replaceChildren();
      managed = [];
      people.clear();
      suggested = "";
    },
  };
}
