// The walk-in form: a patient who came without a booking, for a provider and visit type of the clinic's.

import { ApiError, Offline, newKey } from "../lib/api.js";
import { StoredThatDay } from "../lib/outbox.js";
import { show } from "../lib/page.js";
import { t } from "../lib/i18n.js";
import { $, el } from "../lib/dom.js";
import { updateBanner } from "./connection.js";
import { kept, keptTap } from "./kept.js";
import { takeMinutesAgo } from "./late.js";
import { render } from "./lists.js";
import { signInEnded } from "./session.js";
import { app, board, errorText, providerName, putVisit, sameClinic } from "./state.js";

export function fillWalkinChoices() {
  const provider = $("walkin-provider");
  const type = $("walkin-type");
  const keepP = provider.value;
  const keepT = type.value;
  provider.replaceChildren(el("option", { value: "", text: t("walkin.choose_provider") }),
    ...[...board.providers.values()].map((p) => el("option", { value: p.id, text: p.name })));
  type.replaceChildren(...[...board.visitTypes.values()].map((vt) => el("option", { value: vt.code, text: vt.label })));
  if (board.providers.has(keepP)) provider.value = keepP;
  if (board.visitTypes.has(keepT)) type.value = keepT;
}

/** The form as a new sign-in finds it: empty, its button free. A walk-in still on its way is let go of here (it stays
 *  kept for its person): the next person's "Add walk-in" said "Sending…" and could not be pressed (a review). */
export function resetWalkin() {
  app.walkinPending = null;
  $("walkin").reset();
  $("walkin-message").hidden = true;
  $("walkin-submit").disabled = false;
  $("walkin-submit").textContent = t("tablet.add_walkin");
}

$("walkin").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (app.walkinPending) return;
  const name = $("walkin-name").value.trim();
  const provider = $("walkin-provider").value;
  const visitType = $("walkin-type").value;
  if (!name) {
    $("walkin-name").setCustomValidity(t("walkin.type_name"));
    $("walkin-name").reportValidity();
    return;
  }
  // "This tap happened: 10 minutes ago" (tablet/late.js): the walk-in came then, and waits from then.
  const minutesAgo = takeMinutesAgo();
  const button = $("walkin-submit");
  const w = { name, waiting: null };
  app.walkinPending = w;
  button.disabled = true;
  button.textContent = t("card.sending");
  show($("walkin-message"), t("card.sending"), "info");
  const token = app.token;
  const here = sameClinic();
  try {
    const answer = await kept.send(keptTap({ key: newKey(), path: `/api/clinics/${encodeURIComponent(board.clinic)}/visits`,
      body: { patient_name: name, provider, visit_type: visitType, walk_in: true,
        ...(minutesAgo ? { minutes_ago: minutesAgo } : {}) } }), {
        token,
        onWaiting: (attempt, err) => {
          w.waiting = err instanceof Offline ? "offline" : "busy";
          show($("walkin-message"), w.waiting === "offline"
            ? t("walkin.kept_offline") : t("card.busy"), "info");
          updateBanner();
        },
      });
    if (app.walkinPending !== w) return;
    if (here()) putVisit(answer.visit, answer.plan);
    show($("walkin-message"), t("walkin.added", { name: answer.visit.patient_name, provider: providerName(answer.visit.provider) }),
      "success");
    $("walkin-name").value = "";
    render();
  } catch (err) {
    if (app.walkinPending !== w) return;
    if (err instanceof ApiError && err.status === 401) {
      signInEnded(err, token);
      return;
    }
    if (err instanceof StoredThatDay) {
      // Stored before midnight, its answer lost: on the day it was made, not today's floor (tablet/kept.js).
      show($("walkin-message"), err.message, "success");
      $("walkin-name").value = "";
      return;
    }
    show($("walkin-message"), errorText(err), "error");
    const field = err instanceof ApiError ? err.body?.field : null;
    ({ provider: $("walkin-provider"), visit_type: $("walkin-type"), patient_name: $("walkin-name") }[field] || $("walkin-name")).focus();
  } finally {
    if (app.walkinPending === w) {
      app.walkinPending = null;
      button.disabled = false;
      button.textContent = t("tablet.add_walkin");
      updateBanner();
    }
  }
});
$("walkin-name").addEventListener("input", () => $("walkin-name").setCustomValidity(""));
