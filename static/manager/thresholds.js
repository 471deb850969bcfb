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

  function floorChanged() {
    const live = ctx.floor();
    const next = JSON.stringify([live.setupVersion, live.fileThresholds, live.thresholds]);
    if (next === signature) return;
    signature = next;
    // A field being typed in keeps what is typed; the others show the thresholds now.
    for (const n of NAMES) {
      const input = $(`thresholds-${n}`);
      if (document.activeElement !== input) input.value = live.thresholds?.[n] ?? "";
    }
    $("thresholds-file").hidden = !live.fileThresholds;
  }

  const path = () => `/api/clinics/${encodeURIComponent(ctx.clinic())}/thresholds`;
  const setThresholds = (body) => ctx.api("PUT", path(), { version: ctx.floor().setupVersion ?? 0, ...body });

  $("thresholds-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (form.missing()) return;
    const thresholds = Object.fromEntries(NAMES.map((n) => {
      const text = $(`thresholds-${n}`).value.trim();
      return [n, /^-?\d+$/.test(text) ? Number(text) : text];
    }));
    await busy($("thresholds-form").querySelector("button[type=submit]"), async () => {
      try {
        await setThresholds({ thresholds });
        form.ok("The thresholds are saved: the alerts are reviewed by them from now on.");
      } catch (err) {
        form.fail(err, "Could not change the thresholds.");
      }
    });
  });

  $("thresholds-use-file").addEventListener("click", async (e) => {
    if (!window.confirm("Use the clinic file’s thresholds? The ones set here are replaced, and the file’s lead from now on.")) return;
    await busy(e.currentTarget, async () => {
      try {
        await setThresholds({ use_file: true });
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
      for (const n of NAMES) $(`thresholds-${n}`).value = "";
      $("thresholds-file").hidden = true;
      message.hidden = true;
    },
  };
}
