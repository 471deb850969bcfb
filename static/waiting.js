// Floor waiting-room screen: patient-facing, on a TV with no input. For each provider seeing patients
// today, one kind sentence about the expected wait ("Dr. Jenna Kim is running about 15 minutes behind.
// Thank you for your patience."), rounded to 5 minutes so it does not twitch. The figure is the provider's
// delay from the server (the core's `provider_delay`): a patient who came late does not make it. Nothing
// about patients: no tokens, no rooms, no counts. It pairs like the wall (and shares the wall's stored display token).
//
// Languages (lib/i18n.js): a device that asked for one (`?lang=es`) shows only it; otherwise the screen shows
// each of the clinic's languages in turn (`[display] languages`, `alternate_seconds` each). Providers who do not
// all fit show page after page, a page turning once every language has been shown on it.

import { $, HallwayState, clinicFormats, el, runDisplay, setAttr, setClass, setText } from "./lib/hallway.js";
import { deviceLanguage, language, onLanguage, t, tn, use } from "./lib/i18n.js";

const ROUND_TO = 5; // minutes; under this the provider is "on time"
const HOLD = 1; // minutes past the rounding midpoint before the shown figure changes (no flip-flopping)
const QUIET_AFTER_MS = 60000; // this long without a live feed, the figures may be wrong: stop showing them

const state = new HallwayState();
let formats = clinicFormats(undefined);
let mode = "connecting";
let notLiveSince = Date.now();

const lines = new Map(); // initials -> {root, name, message, thanks, shown}
let providersVersion = -1;
const busy = new Set(); // reused every second
let turns = 0; // how many times every language has been shown: the page of providers shown is this, modulo the pages

/** Minutes as a patient would say them: "15 minutes", "an hour", "an hour and 10 minutes" (in the language shown). */
function spoken(minutes) {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  const mins = tn("minutes", m);
  if (h === 0) return mins;
  const hours = tn("hours", h);
  return m ? t("hours_minutes", { hours, minutes: mins }) : hours;
}

// -- languages: the device's, or the clinic's in turn --------------------------------------------------

const device = deviceLanguage();
let turnedAt = 0; // Date.now() when the language last changed

/** The languages this screen shows: the device's own, else the clinic's (its default first). */
const languages = () => (device ? [device] : state.languages.length ? state.languages : ["en"]);

let startedWith = ""; // the languages the turns started with

/** A snapshot: when it brings other languages (or the first), start over at the first, the clinic's default. */
function startLanguages() {
  const key = languages().join(" ");
  if (key === startedWith) return;
  startedWith = key;
  turnedAt = Date.now();
  turns = 0;
  use(languages()[0]);
}

/** Once a second: the next of the clinic's languages once the current one has shown `alternate_seconds`; after
 *  the last, the first again and the next page of providers. The two turned together before, so with two
 *  languages and two pages each page was only ever read in one language (a review). */
function turnLanguage() {
  const list = languages();
  const at = list.indexOf(language());
  if (at < 0) {
    turnedAt = Date.now();
    use(list[0]);
    return;
  }
  if (Date.now() - turnedAt < state.alternateSeconds * 1000) return;
  turnedAt = Date.now();
  const next = (at + 1) % list.length;
  if (next === 0) turns += 1;
  if (next !== at) use(list[next]);
}

/** The lateness to show, rounded to 5 minutes; a shown figure holds until the lateness is clearly past it. */
function rounded(lateness, shown) {
  const late = Math.max(0, lateness);
  const next = late < ROUND_TO ? 0 : Math.round(late / ROUND_TO) * ROUND_TO;
  if (shown === undefined || next === shown) return next;
  return Math.abs(late - shown) >= ROUND_TO / 2 + HOLD ? next : shown;
}

function build() {
  providersVersion = state.providersVersion;
  lines.clear();
  const items = [];
  for (const initials of state.providers) {
    const line = {
      root: el("li", "line"),
      name: el("span", "name"),
      message: el("span", "message"),
      thanks: el("span", "thanks-line"),
      shown: undefined,
    };
    line.root.dataset.provider = initials;
    line.root.hidden = true;
    line.root.append(line.name, " ", line.message, " ", line.thanks);
    items.push(line.root);
    lines.set(initials, line);
  }
  $("lines").replaceChildren(...items);
}

function render() {
  renderQueued = false;
  const now = state.now();
  setText($("clock-time"), state.loaded ? formats.time.format(now) : "");
  const conn = $("conn");
  setAttr(conn, "data-mode", mode);
  setText($("conn-text"), t(`waiting.conn.${["live", "stale", "offline"].includes(mode) ? mode : "connecting"}`));
  if (!state.loaded) return;
  if (state.providersVersion !== providersVersion) build();

  // Providers still seeing patients today: anyone with a visit not yet over.
  busy.clear();
  for (const v of state.visits.values()) busy.add(v.provider);
  const quiet = mode !== "live" && Date.now() - notLiveSince > QUIET_AFTER_MS;
  let shownCount = 0;
  for (const [initials, line] of lines) {
    const d = state.delays.get(initials);
    const show = !quiet && busy.has(initials) && d !== undefined;
    line.root.hidden = !show;
    if (!show) continue;
    shownCount += 1;
    line.shown = rounded(d.lateness, line.shown);
    setAttr(line.root, "data-lateness", String(line.shown));
    setText(line.name, state.names.get(initials) || t("waiting.provider", { initials }));
    if (line.shown === 0) {
      setText(line.message, t("waiting.on_time"));
      setText(line.thanks, "");
      line.root.className = "line on-time";
    } else {
      // An hour or more has its own sentence: in Spanish "unos" agrees with "minutos" only ("lleva unos 1 hora de
      // retraso": a review); "alrededor de una hora", "alrededor de 2 horas y 5 minutos".
      const wait = spoken(line.shown);
      setText(line.message, line.shown < 60 ? t("waiting.behind", { wait }) : t("waiting.behind_hours", { wait }));
      setText(line.thanks, t("waiting.patience"));
      line.root.className = "line behind";
    }
  }
  setClass($("lines"), shownCount <= 3 ? "lines few" : shownCount > 6 ? "lines many" : "lines");
  pageProviders();
  const general = $("general");
  general.hidden = shownCount > 0;
  setText(general, quiet ? t("waiting.updating") : t("waiting.shortly"));
}

/** More providers than the screen holds: as many as fit show at once, page after page, each in every language
 *  (the fifth and later were below the screen's edge, their patients told nothing: a review). A language whose
 *  lines are longer may fit fewer a page: each language goes through its own pages, `turns` counting on. */
function pageProviders() {
  const shown = [...lines.values()].filter((l) => !l.root.hidden).map((l) => l.root);
  const bottom = $("main").getBoundingClientRect().bottom;
  const fits = shown.filter((n) => n.getBoundingClientRect().bottom <= bottom + 1).length;
  if (fits >= shown.length) return;
  const size = Math.max(1, fits);
  const page = turns % Math.ceil(shown.length / size);
  shown.forEach((n, i) => { n.hidden = Math.floor(i / size) !== page; });
}

let renderQueued = false;
function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(render, 0);
}

function onStatus(next) {
  if (next === "live") notLiveSince = NaN;
  else if (mode === "live" || !Number.isFinite(notLiveSince)) notLiveSince = Date.now();
  mode = next;
  queueRender();
}

function onChange(kind) {
  if (kind === "reset") {
    lines.clear();
    providersVersion = -1;
    $("lines").replaceChildren();
    renderTitle();
    document.body.classList.add("no-board");
  } else if (kind === "snapshot") {
    formats = clinicFormats(state.timezone);
    renderTitle();
    document.body.classList.remove("no-board");
    for (const line of lines.values()) line.shown = undefined;
    startLanguages();
  }
  queueRender();
}

function renderTitle() {
  const title = state.loaded ? t("waiting.welcome_to", { clinic: state.name }) : t("waiting.welcome");
  setText($("clinic-name"), title);
  document.title = state.loaded ? `${t("waiting.welcome")} · ${state.name}` : t("waiting.welcome");
}

onLanguage(() => {
  formats = clinicFormats(state.timezone);
  renderTitle();
  render();
});

await use(device || "en");
turnedAt = Date.now();
const runner = runDisplay({ state, onStatus, onChange });
setInterval(() => {
  if (state.loaded) turnLanguage();
  render();
  runner.tickPairing();
}, 1000);
render();
