// The day's schedule: a file is checked first (`check=true`: nothing stored) and every refused line shown;
// a file that passes can then be imported. Schedules kept for days ahead: the list, withdraw one.

import { $, el, button, row, formState, busy, when } from "./ui.js";
import { ApiError } from "../lib/api.js";

const OUTCOMES = [["added", "added"], ["updated", "updated"], ["cancelled", "cancelled"], ["no_show", "marked no-show"],
  ["unchanged", "unchanged"], ["not_applied", "not applied"]];

function typeOf(file) {
  const name = (file.name || "").toLowerCase();
  if (name.endsWith(".csv") || file.type === "text/csv") return "text/csv";
  if (name.endsWith(".json") || /json/.test(file.type)) return "application/fhir+json";
  return file.type || "application/octet-stream"; // the server tells by its first character
}

function counts(summary) {
  const parts = OUTCOMES.filter(([k]) => summary[k]).map(([k, label]) => `${summary[k]} ${label}`);
  return parts.length ? parts.join(", ") : "nothing to change";
}

export function scheduleSection(ctx) {
  const form = formState($("schedule-upload"), { date: "schedule-date", "Content-Type": "schedule-file" });
  const result = $("schedule-result");
  // {type, date, body, name, replaces}: the file that passed its check, ready to import; `replaces`, for a day
  // ahead: the file kept for it when checked (its staged_at, or "none"), the only one keeping this one may replace.
  let checked = null;

  const path = (date, check, replaces) => `/api/clinics/${encodeURIComponent(ctx.clinic())}/schedule?date=${date}${check ? "&check=true" : ""}${replaces ? `&replaces=${encodeURIComponent(replaces)}` : ""}`;

  function showRefused(err) {
    const problems = err.body.errors || [];
    // All of them, not those listed (a file with very many lists the first 200 and a line counting the rest).
    const count = err.body.error_count ?? problems.length;
    result.replaceChildren();
    const listed = count > problems.length ? "the first ones listed below" : "listed below";
    form.fail(new ApiError(err.status, { message: `Refused: nothing was stored. ${problems.length ? `${count} problem${count === 1 ? "" : "s"} to fix, ${listed}; then check the file again.` : err.message}` }));
    if (!problems.length) return;
    const list = el("ul", "problems");
    list.id = "schedule-problems";
    list.setAttribute("aria-label", "Refused lines");
    for (const p of problems) {
      const li = el("li");
      li.dataset.where = p.where;
      li.append(el("strong", "", p.where), p.field ? ` · ${p.field}: ` : ": ", p.message);
      list.append(li);
    }
    result.append(list);
  }

  function showSummary(summary, stored) {
    result.replaceChildren();
    const ahead = Boolean(summary.books_at);
    if (!stored) {
      // A day ahead holds one file: keeping this one replaces a file kept for it before, another manager's too
      // (the check said only what this file would do, and "Keep it" replaced theirs without a word: a review).
      // Keeping it replaces only that file: one another manager keeps or withdraws meanwhile is not replaced unseen
      // (the warning was said at check time only, and Keep replaced a file kept in between: a review).
      const before = ahead ? upcoming.find((d) => d.day === summary.day) : null;
      if (checked) checked.replaces = ahead ? (before ? before.staged_at : "none") : null;
      const replaces = before
        ? ` A schedule is already kept for ${summary.day} (${before.appointments} appointment${before.appointments === 1 ? "" : "s"}, kept ${when(before.staged_at, ctx.floor().timezone)} by ${before.staged_by}): keeping this one replaces it, and only it (if another is kept meanwhile, you will be asked to check again).`
        : ahead ? ` Nothing is kept for ${summary.day} yet (if another manager keeps a file for it meanwhile, yours is not kept over it unseen).` : "";
      form.ok(`The file is good: ${ahead ? `on ${summary.day} it will` : "importing it will"} leave ${counts(summary)}.${replaces} Nothing is stored yet.`);
      const go = button(before ? `Replace the one kept for ${summary.day}` : ahead ? `Keep it for ${summary.day}` : "Import it", { className: "", data: { action: "import" },
        onClick: (e) => importChecked(e.currentTarget) });
      result.append(go);
    } else if (ahead) {
      form.ok(`Kept for ${summary.day}: booked when that day opens (${when(summary.books_at, ctx.floor().timezone)}); it will leave ${counts(summary)}.`);
    } else {
      form.ok(`Imported for ${summary.day}: ${counts(summary)}.`);
    }
    const notApplied = (summary.rows || []).filter((r) => r.outcome === "not_applied");
    if (notApplied.length) {
      const list = el("ul", "problems");
      list.setAttribute("aria-label", "Lines not applied");
      for (const r of notApplied) list.append(el("li", "", `${r.where} (${r.external_id}): ${r.reason || "not applied"}`));
      result.append(el("p", "hint", "Not applied (the visit has moved on):"), list);
    }
  }

  async function send(file, type, date, check, replaces) {
    const res = await ctx.raw(path(date, check, replaces), { method: "POST", body: file, type });
    return res.json();
  }

  $("schedule-upload").addEventListener("submit", async (e) => {
    e.preventDefault();
    checked = null;
    if (form.missing()) return;
    const file = $("schedule-file").files[0];
    const date = $("schedule-date").value;
    const type = typeOf(file);
    await busy($("schedule-check"), async () => {
      form.info(`Checking ${file.name}…`);
      try {
        const body = await file.arrayBuffer();
        const summary = await send(body, type, date, true);
        if (summary.books_at) await loadUpcoming(); // what is kept for that day now, to say it is replaced
        checked = { body, type, date, name: file.name };
        showSummary(summary, false);
      } catch (err) {
        if (err instanceof ApiError && err.status === 422 && err.body.errors) showRefused(err);
        else {
          result.replaceChildren();
          form.fail(err, "Could not check the file.");
        }
      }
    });
  });

  async function importChecked(node) {
    if (!checked) return;
    const { body, type, date, replaces } = checked;
    await busy(node, async () => {
      try {
        const summary = await send(body, type, date, false, replaces);
        checked = null;
        $("schedule-upload").reset();
        $("schedule-date").value = ctx.floor().day || "";
        showSummary(summary, true);
        loadUpcoming();
      } catch (err) {
        if (err instanceof ApiError && err.status === 422 && err.body.errors) showRefused(err);
        else if (err instanceof ApiError && err.status === 409 && err.body?.field === "replaces") {
          // Another manager kept (or withdrew) the day's file since this one was checked: theirs stands.
          checked = null;
          result.replaceChildren();
          const now = err.message.match(/changed since: (.*?)\. Nothing/)?.[1] || err.message;
          form.fail(new ApiError(409, { message: `Not kept: the schedule kept for ${date} changed after your check (${now}). Yours was not kept over it: look at it in the list below, and check your file again if it should replace it.` }));
          loadUpcoming();
        } else form.fail(err, "Could not import the file.");
      }
    });
    $("schedule-upload").querySelector("[data-form-message]").focus?.();
  }

  // A check is of one file for one day: another file, or another day, must be checked again (a file checked for
  // today and imported after the day was changed to tomorrow booked tomorrow's patients today: a review).
  const dropCheck = () => {
    checked = null;
    result.replaceChildren();
    form.clear();
  };
  $("schedule-file").addEventListener("change", dropCheck);
  for (const kind of ["input", "change"]) {
    $("schedule-date").addEventListener(kind, () => {
      if (checked && checked.date !== $("schedule-date").value) dropCheck();
    });
  }

  const upcomingMessage = $("upcoming-message");
  const sayUpcoming = (text, kind = "success") => {
    upcomingMessage.className = `message ${kind}`;
    upcomingMessage.textContent = text;
    upcomingMessage.hidden = !text;
  };

  let upcoming = [];
  let shownZone;
  let shownDay = null; // the clinic day the list was loaded on
  async function loadUpcoming() {
    try {
      const answer = await ctx.api("GET", `/api/clinics/${encodeURIComponent(ctx.clinic())}/schedule/upcoming`);
      upcoming = answer?.days || [];
      renderUpcoming();
    } catch (err) {
      sayUpcoming(`Could not list the schedules kept ahead: ${err.message}`, "error");
    }
  }

  /** The days kept ahead; "Kept" on the clinic's clock. */
  function renderUpcoming() {
    const zone = ctx.floor().timezone;
    shownZone = zone;
    // A day that has opened is booked (or being booked) on the floor, not waiting: not listed even before the
    // server's list says so.
    const today = ctx.floor().day;
    const waiting = upcoming.filter((d) => !today || d.day > today);
    $("upcoming-empty").hidden = waiting.length > 0;
    $("upcoming-table").tBodies[0].replaceChildren(...waiting.map((d) => {
      const tr = row([d.day, String(d.appointments), d.format === "fhir" ? "FHIR Bundle" : "CSV",
        `${when(d.staged_at, zone)} by ${d.staged_by}`,
        button("Withdraw", { className: "small danger", label: `Withdraw the schedule for ${d.day}`,
          data: { action: "withdraw", day: d.day }, onClick: (e) => withdraw(d, e.currentTarget) })]);
      tr.dataset.day = d.day;
      return tr;
    }));
  }

  /** Withdraw the file as its row showed it (`kept_at`): one another manager kept for the day since stays. */
  async function withdraw(kept, node) {
    const day = kept.day;
    if (!window.confirm(`Withdraw the schedule kept for ${day}? Nothing will be booked that day from it.`)) return;
    await busy(node, async () => {
      try {
        await ctx.api("DELETE", `/api/clinics/${encodeURIComponent(ctx.clinic())}/schedule?date=${day}&kept_at=${encodeURIComponent(kept.staged_at)}`);
        sayUpcoming(`The schedule for ${day} is withdrawn.`);
        await loadUpcoming();
      } catch (err) {
        // Withdrawn meanwhile by another manager (404), or its day opened (409): said, and the list loaded again.
        if (err?.status === 404) sayUpcoming(`The schedule for ${day} was withdrawn already, by another manager or in another window.`, "info");
        else sayUpcoming(`Could not withdraw the schedule for ${day}: ${err.message}`, "error");
        await loadUpcoming();
      }
    });
    upcomingMessage.focus(); // the list was drawn again (the button is gone): the focus goes to what was said
  }

  return {
    load: loadUpcoming,
    floorChanged() {
      const day = ctx.floor().day;
      if (day && (!$("schedule-date").value || $("schedule-date").value < day)) $("schedule-date").value = day;
      if (day) $("schedule-date").min = day;
      // A new day opened (the office screen open overnight): the schedule kept for it was booked, and is no
      // longer waiting; the list said it was, with a Withdraw the server refuses (a review).
      if (day && shownDay && day !== shownDay) loadUpcoming();
      else if (day !== shownDay && upcoming.length) renderUpcoming();
      shownDay = day || shownDay;
      if (upcoming.length && ctx.floor().timezone !== shownZone) renderUpcoming();
    },
    clear() {
      checked = null;
      result.replaceChildren();
      form.clear();
      $("schedule-date").value = "";
      upcoming = [];
      shownDay = null;
      $("upcoming-table").tBodies[0].replaceChildren();
    },
  };
}
