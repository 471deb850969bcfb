// The front desk at a clinic's size: sixty visits a day do not fit on a tablet as cards. One search box finds
// a patient by name or by the visit code the wall shows; by default the arrivals list holds only what matters
// now (the late and those due within the next hour; the arrived are in the waiting-room list), and a choice
// jumps to any hour of the day or shows all of it. Times are the clinic's (the page's server clock and the
// clinic's time zone), never the browser's.
//
//   const desk = frontDesk({ onChange: render });
//   desk.lists({ visits, now, timezone, dueOf, byStart, bySince, mine })   // the panel's list definitions
//   desk.paint({ visits, now, timezone, dueOf })                            // the toolbar: hours, what is shown

import { $ } from "./dom.js";
import { language, t, tn } from "./i18n.js";

export const SOON_MIN = 60; // "now": late, or due within this many minutes
const EVERY_STAGE = ["scheduled", "arrived", "roomed", "prep_done", "provider_in", "teach_back_done", "checked_out",
  "no_show", "cancelled", "left_without_being_seen"];

/** Text folded for matching: lower case, no accents, no punctuation between letters. */
export function fold(text) {
  return String(text ?? "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

const words = (text) => fold(text).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
/** The name's words as typed without their punctuation ("O'Neil" as "oneil", "Lee-Park" as "leepark"). */
const joined = (text) => fold(text).split(/\s+/u).map((w) => w.replace(/[^\p{L}\p{N}]/gu, "")).filter(Boolean);
/** Visit codes use Crockford's alphabet, without I, L, O or U: those typed are the digits they look like. */
const crockford = (text) => text.replace(/o/g, "0").replace(/[il]/g, "1");

/** Does a visit match what the desk typed: its visit code (as the wall shows it, look-alike letters read as
 *  the digits they look like), or every word typed is the start of a word of the patient's name, with or
 *  without its punctuation ("ann le" finds "Ann Lee", "lee" finds "Lee, Ann", "oneil" finds "O'Neil"). */
export function matches(visit, query) {
  const typed = words(query);
  if (typed.length === 0) return true;
  const code = fold(visit.token).replace(/[^\p{L}\p{N}]/gu, "");
  if (code && crockford(typed.join("")) === code) return true;
  const name = words(visit.patient_name);
  const whole = joined(visit.patient_name);
  return typed.every((t) => name.some((w) => w.startsWith(t)) || whole.some((w) => w.startsWith(t)));
}

/** The hour (0-23) of an instant on the clinic's clock. */
export function clinicHour(ms, timezone) {
  try {
    const parts = new Intl.DateTimeFormat("en-US", { hour: "numeric", hourCycle: "h23", timeZone: timezone })
      .formatToParts(new Date(ms));
    return Number(parts.find((p) => p.type === "hour")?.value);
  } catch {
    return new Date(ms).getHours();
  }
}

function hourLabel(hour, timezone, now) {
  // An instant in that clinic hour today, worded in the page's language ("From 9 AM", "Desde las 9").
  const at = new Date(now + (hour - clinicHour(now, timezone)) * 3600000);
  let time;
  try {
    time = new Intl.DateTimeFormat(language(), { hour: "numeric", timeZone: timezone }).format(at);
  } catch {
    time = `${hour}:00`;
  }
  return t("desk.from_hour", { time });
}


export function frontDesk({ onChange }) {
  let query = "";
  let view = "now"; // "now" | "all" | "h<hour>"
  let hoursShown = "";

  // "Now" moves with the clinic's clock even when no tap comes.
  setInterval(onChange, 30000);

  const search = $("desk-search");
  const when = $("desk-when");
  search.addEventListener("input", () => {
    query = search.value;
    onChange();
  });
  search.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && search.value) {
      search.value = "";
      query = "";
      onChange();
    }
  });
  when.addEventListener("change", () => {
    view = when.value || "now";
    onChange();
  });
  $("desk-show-all").addEventListener("click", () => {
    view = "all";
    when.value = "all";
    onChange();
  });
  $("desk-walkin").addEventListener("click", () => {
    const card = $("walkin-card");
    card.scrollIntoView({ block: "nearest" });
    $("walkin-name").focus({ preventScroll: true });
  });

  /** Which scheduled visits the arrivals list shows in the current view. */
  function arrivalFilter({ now, timezone, dueOf }) {
    if (view === "all") return () => true;
    if (view.startsWith("h")) {
      const hour = Number(view.slice(1));
      return (v) => clinicHour(dueOf(v), timezone) === hour;
    }
    return (v) => dueOf(v) <= now + SOON_MIN * 60000;
  }

  return {
    get query() {
      return query.trim();
    },

    /** The front desk's lists: a search shows one list of every matching visit of the day, whatever its
     *  stage (the viewer's own patients first when they are a provider); else arrivals in the chosen view,
     *  check-out and the waiting room. */
    lists({ now, timezone, dueOf, byStart, bySince, mine }) {
      const q = query.trim();
      if (q) {
        const sort = (a, b) => (mine ? (b.provider === mine) - (a.provider === mine) : 0) || byStart(a, b);
        return [{ key: "desk-found", title: t("list.desk-found", { query: q }), stages: EVERY_STAGE, filter: (v) => matches(v, q),
          sort, empty: t("desk.empty.found") }];
      }
      const shown = arrivalFilter({ now, timezone, dueOf });
      const title = view === "all" ? t("list.desk-arrivals-all") : view === "now" ? t("list.desk-arrivals-now")
        : t("list.desk-arrivals-from", { when: hourLabel(Number(view.slice(1)), timezone, now) });
      const empty = t(view === "now" ? "desk.empty.now" : "desk.empty.then");
      return [
        { key: "desk-arrivals", title, stages: ["scheduled"], filter: shown,
          sort: (a, b) => (dueOf(a) - dueOf(b)) || byStart(a, b), empty },
        { key: "desk-checkout", title: t("list.desk-checkout"), stages: ["provider_in", "teach_back_done"], sort: bySince,
          empty: t("desk.empty.checkout") },
        { key: "desk-waiting", title: t("list.desk-waiting"), stages: ["arrived"], sort: bySince, compact: true,
          empty: t("desk.empty.waiting") },
      ];
    },

    /** The toolbar: the hours of the day to jump to, and how many expected patients the list leaves out. */
    paint({ visits, now, timezone, dueOf }) {
      const expected = visits.filter((v) => v.stage === "scheduled");
      const hours = [...new Set(visits.map((v) => clinicHour(dueOf(v), timezone)).filter(Number.isFinite))].sort((a, b) => a - b);
      const key = `${language()}|${timezone}|${hours.join(",")}`;
      if (key !== hoursShown) {
        hoursShown = key;
        const options = [new Option(t("desk.view.now"), "now"), new Option(t("desk.view.all"), "all"),
          ...hours.map((h) => new Option(hourLabel(h, timezone, now), `h${h}`))];
        when.replaceChildren(...options);
        if (![...when.options].some((o) => o.value === view)) view = "now";
        when.value = view;
      }
      const q = query.trim();
      // What a search found, for a screen reader (a status line, written only when it changes): the list that
      // replaced the arrivals says it to the eye only (a review; WCAG 4.1.3).
      const found = q ? visits.filter((v) => matches(v, q)).length : 0;
      const said = !q ? "" : found ? tn("desk.found", found) : t("desk.empty.found");
      if ($("desk-found").textContent !== said) $("desk-found").textContent = said;
      const shown = expected.filter(arrivalFilter({ now, timezone, dueOf })).length;
      const left = expected.length - shown;
      const note = $("desk-showing");
      const text = q || left <= 0 ? "" : tn(view === "now" ? "desk.more_later" : "desk.more_other_times", left);
      if (note.textContent !== text) note.textContent = text;
      $("desk-show-all").hidden = q !== "" || left === 0;
    },

    reset() {
      query = "";
      view = "now";
      hoursShown = "";
      search.value = "";
      $("desk-found").textContent = "";
    },
  };
}
