// Signing in and out of the tablet, and what follows signing in: the clinics this person works in, the one on
// screen (remembered on this tablet), and the pairing form for a manager. Every request carries the sign-in
// token; a 401 signs the page out with the server's message and forgets everything the sign-in showed.

import { ApiError, call } from "../lib/api.js";
import { pairingForm } from "./pairing.js";
import { local, parseTime, session, show } from "../lib/page.js";
import { CLINIC_KEY, TOKEN_KEY, showSignInForm, signInForm, signOutButton } from "../lib/signin.js";
import { t, useFor } from "../lib/i18n.js";
import { ROLES, ROLE_LABEL } from "../lib/labels.js";
import { closeDialogs } from "../lib/visit-detail.js";
import { $, el, titleCase } from "../lib/dom.js";
import { closeFeed, resetConnection, startFeed, updateBanner } from "./connection.js";
import { paintKeptElsewhere, sendingAgain } from "./kept.js";
import { resetLate } from "./late.js";
import { desk } from "./lists.js";
import { resetWalkin } from "./walkin.js";
import { app, board, clock, errorText, pending, pendingRooms, pins, roomPins, toasts } from "./state.js";

let clinics = [];

// -- talking to the server -----------------------------------------------------------------------------------

/** A request with the sign-in token; a 401 signs this page out with the server's message. */
export async function request(method, path, body) {
  const token = app.token;
  try {
    return await call(method, path, { token, body });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && token) signInEnded(err, token);
    throw err;
  }
}

/** A call answered 401: the sign-in it went with (`token`) ended. The page signs out only while that sign-in is
 *  still the one on it: an assistant's "Room ready", waiting for the network while her sign-in ended, was answered
 *  401 once her colleague had signed in on the tablet, and signed the colleague out (a hostile review). Her tap
 *  stays kept for her next sign-in here (lib/outbox.js), and the page lists it as hers. */
export function signInEnded(err, token) {
  if (token === app.token) signedOut(errorText(err));
}

const pairing = pairingForm({ request, clinics: () => clinics, errorText });

// -- signing in and out --------------------------------------------------------------------------------------

export function showSignIn(message, kind = "error") {
  app.me = null;
  $("app").hidden = true;
  $("who").hidden = true;
  $("whoami").removeAttribute("data-role");
  $("notice").hidden = true;
  $("sign-in").hidden = false;
  $("manager-link").hidden = true;
  $("manager-sep").hidden = true;
  showSignInForm({ message: "sign-in-message", text: message, kind, title: t("tablet.title_sign_in") });
  // Taps kept for a sign-in that ended (this one's, or an earlier person's): how many wait, and for whom.
  paintKeptElsewhere();
  updateBanner();
}

/** The token stopped working (or we signed out): forget it and everything it showed. */
export function signedOut(message, kind = "error") {
  app.token = null;
  session.set(TOKEN_KEY, null);
  closeFeed();
  for (const p of pending.values()) p.ctrl.abort();
  pending.clear();
  pendingRooms.clear();
  pins.clear();
  roomPins.clear();
  resetWalkin();
  app.presencePending = null;
  resetLate();
  toasts.hide();
  clinics = [];
  pairing.reset();
  // Nothing the sign-in showed stays on the page: the lists had patient names, and so does a visit's detail or a
  // confirm open over them (dialogs on the page's body, outside #app).
  closeDialogs();
  Object.assign(board, { clinic: null, name: "", timezone: undefined, seq: null, rooms: new Map(), visits: new Map(), providers: new Map(),
    visitTypes: new Map(), delays: new Map() });
  for (const node of document.querySelectorAll("[data-lists]")) node.replaceChildren();
  $("rooms").replaceChildren();
  $("visits-body").replaceChildren();
  $("board-message").hidden = true;
  $("provider-filter").value = "";
  desk.reset();
  for (const r of sendingAgain.values()) r.ctrl.abort();
  sendingAgain.clear();
  $("kept-refused").hidden = true;
  $("kept-refused-list").replaceChildren();
  resetConnection();
  showSignIn(message, kind);
}

export function showSignedIn() {
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  const role = ROLE_LABEL[app.me.role] || titleCase(app.me.role || "staff");
  paintWho();
  const manager = app.me.role === "manager";
  $("pair").hidden = !manager;
  $("tabs").hidden = !manager;
  $("manager-link").hidden = !manager;
  $("manager-sep").hidden = !manager;
  for (const r of ROLES) {
    const panel = $(`panel-${r}`);
    if (manager) {
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", `tab-${r}`);
    } else {
      panel.removeAttribute("role");
      panel.setAttribute("aria-labelledby", `title-${r}`);
    }
  }
  document.title = t("tablet.title", { role });
}

/** "Signed in as Ana (desk-ana) · Front desk · on tablet-1 · until 9:00 PM": the sign-in's end on the clinic's
 *  clock, as the cards show times (not this device's zone); left out until the clinic's zone is known, and
 *  in a rehearsal whose clinic clock runs faster than the sign-in's real one (`floor demo`: "until 4:03 AM"
 *  at a clinic 7:57 AM). */
export function paintWho() {
  if (!app.me) return;
  const role = ROLE_LABEL[app.me.role] || titleCase(app.me.role || "staff");
  const ends = parseTime(app.me.expires_at);
  const realTime = (board.clockSpeed ?? 1) === 1;
  const until = board.timezone && realTime && Number.isFinite(ends) ? clock(ends) : "";
  const who = $("whoami");
  who.dataset.role = app.me.role;
  who.dataset.staff = app.me.id;
  who.replaceChildren(
    t("tablet.signed_in_as"), " ",
    el("strong", { text: app.me.name || app.me.id }),
    ` (${app.me.id}) · `,
    el("span", { class: "role", text: role }),
    " · ", t(until ? "tablet.on_device_until" : "tablet.on_device", { device: app.me.device, until }),
  );
}

/** The clinic on screen's time zone, from the list of clinics, until its feed's snapshot says it. */
function clinicZone(id) {
  const zone = clinics.find((c) => c.id === id)?.timezone;
  if (zone) board.timezone = zone;
  paintWho();
}

signInForm({
  form: "sign-in-form",
  message: "sign-in-message",
  onSignedIn: async (signed, device) => {
    app.token = String(signed.token);
    session.set(TOKEN_KEY, app.token);
    app.me = { id: signed.staff, name: signed.name, role: signed.role, provider: signed.provider || null, device,
      expires_at: signed.expires_at };
    await enter();
    return null;
  },
});

signOutButton({ request, onSignedOut: (message) => signedOut(message, "info") });

// -- after signing in ----------------------------------------------------------------------------------------

export async function enter() {
  showSignedIn();
  $("clinic-title").focus();
  try {
    clinics = await request("GET", "/api/clinics");
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) show($("board-message"), t("tablet.could_not_list_clinics", { why: errorText(err) }), "error");
    return;
  }
  if (!Array.isArray(clinics) || clinics.length === 0) {
    show($("board-message"), t("tablet.no_clinics"), "error");
    return;
  }
  const options = () => clinics.map((c) => el("option", { value: c.id, text: c.name }));
  const wanted = local.get(CLINIC_KEY);
  const chosen = clinics.some((c) => c.id === wanted) ? wanted : clinics[0].id;
  $("clinic").replaceChildren(...options());
  $("clinic").value = chosen;
  $("clinic-field").hidden = clinics.length < 2;
  useFor(clinics.find((c) => c.id === chosen)?.languages); // the device's language, else the clinic's
  if (app.me.role === "manager") {
    pairing.show(chosen);
  }
  clinicZone(chosen);
  startFeed(chosen);
}

$("clinic").addEventListener("change", () => {
  local.set(CLINIC_KEY, $("clinic").value);
  clinicZone($("clinic").value);
  startFeed($("clinic").value);
});
