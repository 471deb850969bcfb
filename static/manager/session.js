// Signing in and out of the manager's screen (managers only), the clinics this person works in and the one
// on screen, and the console's sections (static/manager/console.js) started once signed in. Every request
// carries the sign-in token; a 401 signs the page out and forgets everything it showed (patient names).

import { call, ApiError } from "../lib/api.js";
import { local, session, show } from "../lib/page.js";
import { CLINIC_KEY, TOKEN_KEY, showSignInForm, signInForm, signOutButton } from "../lib/signin.js";
import { managerConsole } from "./console.js";
import { $, el } from "../lib/dom.js";
import { ROLE_LABEL } from "../lib/labels.js";
import { page, state } from "./floor.js";
import { resetState, scheduleRender, startClinic, stopClinic } from "./live.js";

// -- calling the server ------------------------------------------------------------------------------------

/** A request with the sign-in token; a 401 signs this page out. */
export async function api(method, path, body) {
  try {
    return await call(method, path, { token: page.token, body });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401 && page.token) signedOut(`${e.message} Sign in again.`);
    throw e;
  }
}

// Staff, displays, rooms, the schedule, audit trails, past days and downloads (static/manager/).
export const managerTools = managerConsole({
  api,
  token: () => page.token,
  unauthorized: (err) => { if (page.token) signedOut(`${err.message} Sign in again.`); },
  clinic: () => state.clinic,
  floor: () => state,
  me: () => page.me,
  onStaff: (staff) => {
    page.staffNames = new Map(staff.map((s) => [s.id, s.name]));
    scheduleRender("alerts");
  },
});

// -- signing in and out --------------------------------------------------------------------------------

export function setConn(mode, text) {
  $("conn").dataset.mode = mode;
  $("conn-text").textContent = text;
}

export function showSignIn(message, kind = "error") {
  $("app").hidden = true;
  $("who").hidden = true;
  $("clock").hidden = true;
  $("notice").hidden = true;
  $("signin").hidden = false;
  showSignInForm({ message: "signin-message", text: message, kind, title: "Sign in · Manager · Floor" });
}

/** The sign-in ended (or we signed out): forget it and everything it showed (patient names). */
export function signedOut(message, kind = "error") {
  page.token = null;
  page.me = null;
  session.set(TOKEN_KEY, null);
  stopClinic();
  resetState(null);
  clearScreens();
  setConn("offline", "Signed out");
  showSignIn(message, kind);
}

export function clearScreens() {
  $("timeline").replaceChildren();
  $("lateness-chart").replaceChildren();
  $("lateness-legend").replaceChildren();
  $("lateness-table").tHead.replaceChildren();
  $("lateness-table").tBodies[0].replaceChildren();
  $("measures").replaceChildren();
  $("provider-measures").tBodies[0].replaceChildren();
  $("learned-stages").tBodies[0].replaceChildren();
  $("learned-patients").tBodies[0].replaceChildren();
  $("visits-table").tBodies[0].replaceChildren(); // patients' names: not left for the next sign-in
  $("alerts").replaceChildren();
  $("alerts-cleared-list").replaceChildren();
  $("alerts-cleared").hidden = true;
  $("visit-detail").replaceChildren();
  $("visit-detail").hidden = true;
  managerTools.clear();
  for (const id of ["timeline-summary", "lateness-summary", "measures-at", "alerts-count", "clinic-name",
    "learned-summary"]) $(id).textContent = "";
}

function showSignedIn() {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  $("whoami").replaceChildren("Signed in as ", el("strong", "", page.me.name || page.me.id), ` (${page.me.id})`);
  document.title = "Manager · Floor";
}

signInForm({
  form: "signin-form",
  message: "signin-message",
  onSignedIn: async (signed, device) => {
    if (signed.role !== "manager") {
      // Not for this screen: end the sign-in just made rather than leave it (and a token) behind.
      await call("POST", "/api/sign-out", { token: String(signed.token) }).catch(() => {});
      return `${signed.name || signed.staff} is signed in as ${(ROLE_LABEL[signed.role] || signed.role).toLowerCase()}: this screen is for managers.`;
    }
    page.token = String(signed.token);
    session.set(TOKEN_KEY, page.token);
    page.me = { kind: "staff", id: signed.staff, name: signed.name, role: signed.role, device, expires_at: signed.expires_at };
    await enter();
    return null;
  },
});

signOutButton({ request: api, onSignedOut: (message) => signedOut(message, "info") });

export async function enter() {
  showSignedIn();
  let clinics;
  try {
    clinics = await api("GET", "/api/clinics");
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) show($("notice"), `Could not list clinics: ${err.message}`, "error");
    return;
  }
  if (!Array.isArray(clinics) || clinics.length === 0) {
    show($("notice"), "None of your clinics runs on this server: ask a manager which clinics you work in.", "error");
    return;
  }
  const wanted = local.get(CLINIC_KEY);
  const chosen = clinics.some((c) => c.id === wanted) ? wanted : clinics[0].id;
  $("clinic").replaceChildren(...clinics.map((c) => {
    const o = el("option", "", c.name);
    o.value = c.id;
    return o;
  }));
  $("clinic").value = chosen;
  $("clinic-field").hidden = clinics.length < 2;
  startClinic(chosen);
}

$("clinic").addEventListener("change", () => {
  local.set(CLINIC_KEY, $("clinic").value);
  startClinic($("clinic").value);
});
