// Floor waiting-room screen: patient-facing, on a TV with no input. For each provider seeing patients
// today, one kind sentence about the expected wait ("Dr. Jenna Kim is running about 15 minutes behind.
// Thank you for your patience."), rounded to 5 minutes so it does not twitch. The figure is the provider's
// delay from the server (the core's `provider_delay`): a patient who came late does not make it. Nothing
// about patients: no tokens, no rooms, no counts. It pairs like the wall (and shares the wall's stored display token).

import { $, HallwayState, clinicFormats, el, runDisplay, setAttr, setClass, setText } from "./lib/hallway.js";

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

/** Minutes as a patient would say them: "15 minutes", "1 hour", "1 hour 10 minutes". */
function spoken(minutes) {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  const mins = `${m} minute${m === 1 ? "" : "s"}`;
  if (h === 0) return mins;
  const hours = `${h} hour${h === 1 ? "" : "s"}`;
  return m ? `${hours} ${mins}` : hours;
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
  setText($("conn-text"), mode === "live" ? "Up to date" : mode === "stale" ? "Updating" : mode === "offline" ? "Offline" : "Connecting");
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
    setText(line.name, state.names.get(initials) || `Provider ${initials}`);
    if (line.shown === 0) {
      setText(line.message, "is seeing patients on time.");
      setText(line.thanks, "");
      line.root.className = "line on-time";
    } else {
      setText(line.message, `is running about ${spoken(line.shown)} behind.`);
      setText(line.thanks, "Thank you for your patience.");
      line.root.className = "line behind";
    }
  }
  setClass($("lines"), shownCount <= 3 ? "lines few" : shownCount > 6 ? "lines many" : "lines");
  const general = $("general");
  general.hidden = shownCount > 0;
  setText(
    general,
    quiet
      ? "Wait times are being updated. Please ask at the front desk if you have any questions."
      : "Thank you for waiting. We will call you shortly.",
  );
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
    setText($("clinic-name"), "Welcome");
    document.body.classList.add("no-board");
  } else if (kind === "snapshot") {
    formats = clinicFormats(state.timezone);
    setText($("clinic-name"), `Welcome to ${state.name}`);
    document.title = `Welcome · ${state.name}`;
    document.body.classList.remove("no-board");
    for (const line of lines.values()) line.shown = undefined;
  }
  queueRender();
}

const runner = runDisplay({ state, onStatus, onChange });
setInterval(() => {
  render();
  runner.tickPairing();
}, 1000);
render();
