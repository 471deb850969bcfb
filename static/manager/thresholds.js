// Alert thresholds: the clinic's, all of them at once, as the clinic file's [thresholds] (PUT .../thresholds, sent with
// the set-up version the page showed), or the clinic file's back. The alerts are reviewed by them from then on.

import { $, formState, busy } from "./ui.js";

const NAMES = ["waiting_to_be_roomed", "waiting_for_prep", "waiting_for_provider", "waiting_for_checkout",
  "cascade_visits", "cascade_minutes", "turnover"];

export function thresholdsSection(ctx) {
  const message = $("thresholds-message");
  const say = (text, kind = "success") => {
    message.className = `message ${kind}`;
    message.textContent = text;
    message.hidden = !text;
  };
  const form = formState($("thresholds-form"),
    Object.fromEntries(NAMES.map((n) => [`thresholds.${n}`, `thresholds-${n}`])));
  let signature = "";
  // The set-up version the fields were filled at, and whether the manager has typed in them since: once they have,
  // the feed leaves every field as it is, and the save goes with that version (refused if another change came
  // first). Redrawing the fields not focused put another manager's turnover over the one typed here, unseen, and
  // the save went with the version now, so one manager's change undid the other's.
  let filledAt = null;
  let typed = false;
  $("thresholds-form").addEventListener("input", () => { typed = true; });

  function floorChanged() {
    const live = ctx.floor();
    const next = JSON.stringify([live.setupVersion, live.fileThresholds, live.thresholds]);
    if (next === signature) return;
    signature = next;
    $("thresholds-file").hidden = !live.fileThresholds;
    if (typed) return;
    for (const n of NAMES) $(`thresholds-${n}`).value = live.thresholds?.[n] ?? "";
    filledAt = live.setupVersion ?? 0;
  }

  /** The fields filled again with the thresholds now (after a save, or a refusal as stale). */
  function refill() {
    typed = false;
    signature = "";
    floorChanged();
  }

  const path = () => `/api/clinics/${encodeURIComponent(ctx.clinic())}/thresholds`;
  const setThresholds = (body, version = ctx.floor().setupVersion ?? 0) => ctx.api("PUT", path(), { version, ...body });

  $("thresholds-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (form.missing()) return;
    const thresholds = Object.fromEntries(NAMES.map((n) => {
      const text = $(`thresholds-${n}`).value.trim();
      return [n, /^-?\d+$/.test(text) ? Number(text) : text];
    }));
    await busy($("thresholds-form").querySelector("button[type=submit]"), async () => {
      try {
        const answer = await setThresholds({ thresholds }, filledAt ?? ctx.floor().setupVersion ?? 0);
        typed = false;
        filledAt = answer?.setup_version ?? filledAt;
        form.ok("The thresholds are saved: the alerts are reviewed by them from now on.");
      } catch (err) {
        if (err?.body?.error === "stale_version") {
          refill();
          form.fail(new Error(`${err.message} The form shows the thresholds now: change them again.`));
          return;
        }
        form.fail(err, "Could not change the thresholds.");
      }
    });
  });

  $("thresholds-use-file").addEventListener("click", async (e) => {
    if (!window.confirm("Use the clinic file’s thresholds? The ones set here are replaced, and the file’s lead from now on.")) return;
    await busy(e.currentTarget, async () => {
      try {
        await setThresholds({ use_file: true });
        refill();  // the file's, over anything typed and not saved
        say("The thresholds are the clinic file’s again.");
      } catch (err) {
        say(`The clinic file’s thresholds were not taken: ${err.message}`, "error");
      }
    });
    message.focus();
  });

  return {
    floorChanged,
    clear() {
      signature = "";
      typed = false;
      filledAt = null;
      for (const n of NAMES) $(`thresholds-${n}`).value = "";
      $("thresholds-file").hidden = true;
      message.hidden = true;
    },
  };
}
