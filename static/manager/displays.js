// Wall displays: enter the code a new wall shows, name it, give it a zone; the list; revoke (after asking).

import { $, el, button, row, formState, busy, when } from "./ui.js";

export function displaysSection(ctx) {
  let displays = [];
  const message = $("displays-message");
  const say = (text, kind = "success") => {
    message.className = `message ${kind}`;
    message.textContent = text;
    message.hidden = !text;
  };
  const pairForm = formState($("display-pair"), { code: "display-code", label: "display-label", zone: "display-zone" });

  async function load() {
    try {
      const list = await ctx.api("GET", "/api/displays");
      displays = Array.isArray(list) ? list : [];
      render();
    } catch (err) {
      say(`Could not list the displays: ${err.message}`, "error");
    }
  }

  let shownZone;
  function render() {
    const zone = ctx.floor().timezone;
    shownZone = zone;
    const live = displays.filter((d) => !d.revoked_at);
    const sorted = [...live, ...displays.filter((d) => d.revoked_at)];
    $("displays-table").tBodies[0].replaceChildren(...sorted.map((d) => {
      const name = d.label || d.id;
      const status = d.revoked_at ? `Revoked ${when(d.revoked_at, zone)}${d.revoked_by ? ` by ${d.revoked_by}` : ""}` : "Paired";
      const actions = d.revoked_at ? "" : button("Revoke", { className: "small danger", label: `Revoke ${name}`,
        data: { action: "revoke", display: d.id }, onClick: (e) => revoke(d, e.currentTarget) });
      const tr = row([name, d.clinic, d.zone || "Whole clinic", `${when(d.paired_at, zone)} by ${d.paired_by}`, status, actions]);
      tr.dataset.display = d.id;
      tr.dataset.state = d.revoked_at ? "revoked" : "paired";
      return tr;
    }));
    $("displays-summary").textContent = `${live.length} paired${displays.length > live.length ? `, ${displays.length - live.length} revoked` : ""}`;
  }

  function floorChanged() {
    if (displays.length && ctx.floor().timezone !== shownZone) render(); // "Paired" on the clinic's clock
    const zones = [...new Set([...ctx.floor().rooms.values()].map((r) => r.zone).filter(Boolean))].sort();
    const select = $("display-zone");
    const have = [...select.options].map((o) => o.value).slice(1);
    if (JSON.stringify(have) === JSON.stringify(zones)) return;
    const chosen = select.value;
    const whole = el("option", "", "Whole clinic");
    whole.value = "";
    select.replaceChildren(whole, ...zones.map((z) => {
      const o = el("option", "", z);
      o.value = z;
      return o;
    }));
    select.value = zones.includes(chosen) ? chosen : "";
  }

  async function revoke(d, node) {
    const name = d.label || d.id;
    if (!window.confirm(`Revoke ${name}? The wall stops showing the floor at once and must be paired again.`)) return;
    await busy(node, async () => {
      try {
        await ctx.api("DELETE", `/api/displays/${encodeURIComponent(d.id)}`);
        say(`${name} is revoked.`);
        await load();
      } catch (err) {
        say(`Could not revoke ${name}: ${err.message}`, "error");
      }
    });
    message.focus(); // the list was drawn again (the button is gone): the focus goes to what was said
  }

  $("display-pair").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (pairForm.missing()) return;
    const body = {
      code: $("display-code").value.replace(/[\s-]/g, "").toUpperCase(),
      clinic: ctx.clinic(),
      zone: $("display-zone").value || null,
      label: $("display-label").value.trim(),
    };
    await busy($("display-pair").querySelector("button[type=submit]"), async () => {
      try {
        const paired = await ctx.api("POST", "/api/displays", body);
        $("display-pair").reset();
        pairForm.ok(`Paired ${paired.label || paired.id}${paired.zone ? ` for ${paired.zone}` : ""}: it shows the floor in a few seconds.`);
        await load();
      } catch (err) {
        pairForm.fail(err, "Could not pair the display.");
      }
    });
  });

  $("displays-refresh").addEventListener("click", (e) => busy(e.currentTarget, load));

  return {
    load,
    floorChanged,
    clear() {
      displays = [];
      $("displays-table").tBodies[0].replaceChildren();
      $("displays-summary").textContent = "";
      message.hidden = true;
    },
  };
}
