// Alert thresholds: the clinic's, all of them at once, as the clinic file's [thresholds] (PUT .../thresholds, sent with
// the set-up version the page showed), or the clinic file's back. The alerts are reviewed by them from then on.

import { $, formState } from "./ui.js";
import { setUpSection } from "./setup-section.js";

const NAMES = ["waiting_to_be_roomed", "waiting_for_prep", "waiting_for_provider", "waiting_for_checkout",
  "cascade_visits", "cascade_minutes", "turnover"];

export function thresholdsSection(ctx) {
  const { put: setThresholds, useFile, changeForm, clear: clearShared } =
    setUpSection(ctx, "thresholds");
  const form = formState($("thresholds-form"),
    Object.fromEntries(NAMES.map((n) => [`thresholds.${n}`, `thresholds-${n}`])));
  let signature = "";
  // The set-up version the fields were filled at, and whether the manager has typed in them since: once they have,
  // the feed leaves every field as it is, and the save goes with that version (refused if another change came
  // first). Redrawing the fields not focused put another manager's turnover over the one typed here, unseen, and
  // the save went with the version now, so one manager's change undid the other's.
  const edit = changeForm({ formId: "thresholds-form", refill, fill() {
    for (const n of NAMES) $(`thresholds-${n}`).value = ctx.floor().thresholds?.[n] ?? "";
  } });

  function floorChanged() {
    const live = ctx.floor();
    const next = JSON.stringify([live.setupVersion, live.fileThresholds, live.thresholds]);
    if (next === signature) return;
    signature = next;
    $("thresholds-file").hidden = !live.fileThresholds;
    if (!edit.typed()) edit.prefill();
  }

  /** The fields filled again with the thresholds now (after a save, or a refusal as stale). */
  function refill() {
    edit.forget();
    signature = "";
    floorChanged();
  }

  $("thresholds-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (form.missing()) return;
    const thresholds = Object.fromEntries(NAMES.map((n) => {
      const text = $(`thresholds-${n}`).value.trim();
      return [n, /^-?\d+$/.test(text) ? Number(text) : text];
    }));
    await edit.save(form, { thresholds }, "The thresholds are saved: the alerts are reviewed by them from now on.",
      "The form shows the thresholds now: change them again.", "Could not change the thresholds.");
  });

  // After the file's are taken, the fields show them, over anything typed and not saved (setUpSection's useFile).
  useFile("Use the clinic file’s thresholds? The ones set here are replaced, and the file’s lead from now on.",
    "The thresholds are the clinic file’s again.", "The clinic file’s thresholds were not taken");

  return {
    floorChanged,
    clear() {
      signature = "";
      edit.forget();
      for (const n of NAMES) $(`thresholds-${n}`).value = "";
      clearShared();
    },
  };
}
