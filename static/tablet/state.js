// The tablet's state, shared by its sections: the person signed in, the clinic's board as the live feed last
// said it, the taps on their way and the cards pinned where a tap met a refusal, the Undo toast; and the
// clinic's clock and words for what the board holds (rooms, providers, visit types, stages, steps).

import { toastRegion } from "./toast.js";
import { parseTime, session } from "../lib/page.js";
import { TOKEN_KEY } from "../lib/signin.js";
import { language, t } from "../lib/i18n.js";
import { STAGE_LABEL } from "../lib/labels.js";
import { titleCase } from "../lib/dom.js";
import { refusalText } from "../lib/refusals.js";
import { ENDED as FINISHED, ORDER } from "../lib/stages.js";

export const TAB_KEY = "floor.tablet.tab"; // localStorage: the manager's last tab
export const PROVIDER_KEY = "floor.tablet.provider"; // localStorage, per person: whose patients they chose to see

export const PIN_MS = 60000; // how long a card that met a conflict stays where it was tapped

export { FINISHED, ORDER };

/** A step in a sentence: "roomed in East 2", "checked out". */
export function stepDone(step, room) {
  switch (step) {
    case "arrived": return t("done.arrived");
    case "roomed": return room ? t("done.roomed_in", { room: roomLabel(room) }) : t("done.roomed");
    case "prep_done": return t("done.prep_done");
    case "provider_in": return t("done.provider_in");
    case "teach_back_done": return t("done.teach_back_done");
    case "checked_out": return t("done.checked_out");
    case "no_show": return t("done.no_show");
    case "cancelled": return t("done.cancelled");
    case "left_without_being_seen": return t("done.left_without_being_seen");
    case "undo": return t("done.undo");
    default: return titleCase(step);
  }
}

// -- state ---------------------------------------------------------------------------------------------------

/** What the sections change as the page goes: the sign-in and its person, the walk-in and the presence tap on their
 *  way, the one card
 *  whose room picker is open (tapping "Room patient" opens it; one at a time). */
export const app = {
  token: session.get(TOKEN_KEY),
  me: null, // {id, name, role, device, expires_at}
  walkinPending: null,
  presencePending: null, // a presence tap on its way: {provider, status, waiting}
  pickerFor: null,
};

export const board = {
  clinic: null,
  name: "",
  timezone: undefined,
  seq: null,
  offsetMs: 0, // server clock minus this tablet's (the demo's clock runs fast)
  generation: 0, // bumped at each snapshot: cards are rebuilt
  rooms: new Map(),
  visits: new Map(),
  providers: new Map(),
  visitTypes: new Map(),
  thresholds: {},
  delays: new Map(),
  presence: new Map(), // provider id -> {status, since, back_at, by, version}
  plans: new Map(), // visit id -> {roomed, provider_in}: its plan by the clinic's convention, from the server
  alerts: new Map(), // alert id -> alert (active and cleared)
};

/** Taps on their way: visit id -> {step, room, version, list, key, waiting, ctrl}. */
export const pending = new Map();
/** Room taps on their way: room id -> {action, waiting}. */
export const pendingRooms = new Map();
/** Cards that met a refusal stay where they were tapped: visit id -> {list, note, kind, until}. */
export const pins = new Map();
/** Room cards that met a refusal stay in the rooms list, whatever the room is now: room id -> {note, kind, until}. */
export const roomPins = new Map();
/** The toast at the foot of the screen: what a tap did, with Undo for a while (tablet/toast.js). */
export const toasts = toastRegion();

export const serverNow = () => Date.now() + board.offsetMs;

/** Taken when a tap is sent: whether the clinic on screen is still the one it was tapped in. A tap waits (offline)
 *  while the tablet turns to another clinic; its answer is not that clinic's floor (Riverside's Ann Lee was listed
 *  among North's arrivals, and Riverside's East 1 made ready showed North's, dirty, as ready; a review). */
export function sameClinic() {
  const clinic = board.clinic;
  return () => board.clinic === clinic;
}

export function clinicFormat(options) {
  try {
    return new Intl.DateTimeFormat(language(), { ...options, timeZone: board.timezone });
  } catch {
    return new Intl.DateTimeFormat(language(), options);
  }
}
export const clock = (iso) => {
  const ms = typeof iso === "number" ? iso : parseTime(iso);
  return Number.isFinite(ms) ? clinicFormat({ hour: "numeric", minute: "2-digit" }).format(new Date(ms)) : "";
};

export function duration(ms) {
  const mins = Math.max(0, Math.floor(ms / 60000));
  return mins < 60 ? t("time.min", { n: mins }) : t("time.h_min", { h: Math.floor(mins / 60), m: String(mins % 60).padStart(2, "0") });
}

export const roomLabel = (id) => board.rooms.get(id)?.label || id;
export const providerName = (id) => board.providers.get(id)?.name || id;
export const typeLabel = (code) => board.visitTypes.get(code)?.label || code;
export const stageLabel = (stage) => STAGE_LABEL[stage] || titleCase(stage);
export const stageIndex = (stage) => (FINISHED.has(stage) ? 99 : ORDER.indexOf(stage));

/** What a failed call says, in the tablet's language (lib/refusals.js). */
export const errorText = (err) => refusalText(err);

/** Keep the newest of two versions of a visit (a refusal or an answer can be ahead of the feed), and its plan
 * when the server sent one with it. */
export function putVisit(visit, plan) {
  if (!visit || !visit.id) return;
  const have = board.visits.get(visit.id);
  if (!have || !(have.version > visit.version)) {
    board.visits.set(visit.id, visit);
    if (plan) board.plans.set(visit.id, plan);
  }
}

export function putRoom(room) {
  if (!room || !room.id) return;
  const have = board.rooms.get(room.id);
  if (!have || !(have.version > room.version)) board.rooms.set(room.id, room);
}

export const readyRooms = () => [...board.rooms.values()].filter((r) => r.state === "ready");

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export const visitPath = (id) => `/api/clinics/${encodeURIComponent(board.clinic)}/visits/${encodeURIComponent(id)}/events`;
