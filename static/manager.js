// The manager's screen: each provider's day as a timeline lane (scheduled slots, what happened, what is
// projected), the alerts to acknowledge, today's measures, and each provider's lateness through the day.
//
// Sign-in is shared with the tablet page (index.js): the same sessionStorage key (lib/signin.js) holds the
// staff token, so a manager signed in there can open this page in the same tab. The token goes out only as
// `Authorization: Bearer` and in the live socket's first message (lib/feed.js), never in a URL.
// Text from the server goes into the page through textContent (lib/svg.js for the charts), never innerHTML.

// Its parts: manager/session.js (signing in and out, the clinic, the console's sections), manager/live.js
// (the live feed, fetching and redrawing), manager/timeline.js, manager/alerts.js, manager/measures.js (and
// what Floor has learned), manager/lateness.js; their shared state: manager/floor.js.

import { call, ApiError } from "./lib/api.js";
import { show } from "./lib/page.js";
import { $ } from "./lib/dom.js";
import { ROLE_LABEL } from "./lib/labels.js";
import { FALLBACK, use } from "./lib/i18n.js";
import { page } from "./manager/floor.js";
import { enter, setConn, showSignIn, signedOut } from "./manager/session.js";

// -- start ------------------------------------------------------------------------------------------------

async function boot() {
  await use(FALLBACK); // this screen is in English; the shared parts (sign-in, labels) read en.json
  if (!page.token) {
    setConn("offline", "Not signed in");
    showSignIn("");
    return;
  }
  let who;
  try {
    who = await call("GET", "/api/me", { token: page.token });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      signedOut("Your sign-in has ended. Sign in again.");
      return;
    }
    show($("notice"), `${err instanceof ApiError ? err.message : "Cannot reach the server."} Reload the page to try again.`, "error");
    return;
  }
  if (who.kind !== "staff" || who.role !== "manager") {
    // Someone else's sign-in on this tab (the tablet's): leave it be, and offer a manager's sign-in.
    page.token = null;
    setConn("offline", "Not signed in");
    showSignIn(`${who.name || who.id} is signed in on this tab as ${(ROLE_LABEL[who.role] || who.kind).toLowerCase()}. ` +
      "This screen is for managers: sign in as a manager to use it.", "info");
    return;
  }
  page.me = who;
  await enter();
}

boot();
