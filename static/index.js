// The tablet: sign in, then the work list for your role (front desk, medical assistant, provider; a manager
// sees each as a tab), live from the clinic's feed. Every tap carries the version of the visit the card shows;
// a refusal says what happened and by whom and the card shows the visit as it is now. Taps survive a dropped
// network: lib/api.js tap() resends with the same Idempotency-Key until the server answers, so nothing is
// applied twice, and lib/outbox.js keeps each tap in localStorage until answered, to send it again after a
// reload. The front desk's search and views are lib/desk.js. The sign-in token lives in sessionStorage and goes
// out only as `Authorization: Bearer` and in the live socket's first message. Text from the server goes into
// the page through textContent only.

// Its sections: tablet/session.js (signing in and out, the clinic), tablet/connection.js (the live feed, the
// connection pill and offline banner), tablet/lists.js (the work lists and manager's tabs), tablet/cards.js (a
// visit's card), tablet/rooms.js (rooms to clean, the floor at a glance), tablet/taps.js (taps, visit detail,
// Undo), tablet/late.js (a step tapped late: "This tap happened: 5 minutes ago"), tablet/presence.js,
// tablet/walkin.js, tablet/kept.js (taps sent again after a reload), tablet/stuck.js (the bars stuck at the top: their
// heights, for the stylesheet); their shared state: tablet/state.js.

import { ApiError } from "./lib/api.js";
import { show } from "./lib/page.js";
import { onLanguage, t, useFor } from "./lib/i18n.js";
import { $ } from "./lib/dom.js";
import { render } from "./tablet/lists.js";
import { enter, request, showSignIn, showSignedIn, signedOut } from "./tablet/session.js";
import { app, errorText } from "./tablet/state.js";
import "./tablet/stuck.js";

// -- start ---------------------------------------------------------------------------------------------------

onLanguage(() => {
  if (!app.me) return;
  for (const holder of document.querySelectorAll("[data-lists]")) holder.replaceChildren(); // cards rebuilt in it
  showSignedIn();
  render();
});

async function boot() {
  await useFor([]); // the device's language (or English) until the clinic's default is known
  if (!app.token) {
    showSignIn("");
    return;
  }
  try {
    const who = await request("GET", "/api/me");
    if (who.kind !== "staff") {
      signedOut(t("tablet.display_sign_in"));
      return;
    }
    app.me = who;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return; // request() already showed the sign-in form
    $("app").hidden = true;
    show($("notice"), `${errorText(err)} ${t("tablet.reload")}`, "error");
    return;
  }
  await enter();
}

boot();
