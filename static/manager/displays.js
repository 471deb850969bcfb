// Wall displays: enter the code a new wall shows, name it, give it a zone; the list; rename one or move it to
// another zone (it stays paired: its screen follows at once); revoke (after asking).

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
  const editForm = formState($("display-edit"), { label: "display-edit-label", zone: "display-edit-zone" });
  let editing = null; // the display being changed

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
  let shownClinic;
  function render() {
    const zone = ctx.floor().timezone;
    shownZone = zone;
    shownClinic = ctx.clinic();
    const live = displays.filter((d) => !d.revoked_at);
    const sorted = [...live, ...displays.filter((d) => d.revoked_at)];
    $("displays-table").tBodies[0].replaceChildren(...sorted.map((d) => {
      const name = d.label || d.id;
      const status = d.revoked_at ? `Revoked ${when(d.revoked_at, zone)}${d.revoked_by ? ` by ${d.revoked_by}` : ""}` : "Paired";
      const actions = d.revoked_at ? "" : el("span", "actions");
      if (!d.revoked_at && d.clinic === ctx.clinic()) {
        // Its zones are the clinic on screen's: a wall of another clinic is changed with that clinic on screen.
        actions.append(
          button("Change", { className: "small secondary", label: `Rename ${name} or move it to another zone`,
            data: { action: "change", display: d.id }, onClick: () => edit(d) }),
          " ");
      }
      if (!d.revoked_at) {
        actions.append(button("Revoke", { className: "small danger", label: `Revoke ${name}`,
          data: { action: "revoke", display: d.id }, onClick: (e) => revoke(d, e.currentTarget) }));
      }
      const changed = d.changed_at ? `; changed ${when(d.changed_at, zone)} by ${d.changed_by}` : "";
      const tr = row([name, d.clinic, d.zone || "Whole clinic", `${when(d.paired_at, zone)} by ${d.paired_by}${changed}`, status, actions]);
      tr.dataset.display = d.id;
      tr.dataset.state = d.revoked_at ? "revoked" : "paired";
      return tr;
    }));
    $("displays-summary").textContent = `${live.length} paired${displays.length > live.length ? `, ${displays.length - live.length} revoked` : ""}`;
  }

  function zoneOptions(select, zones) {
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

  const clinicZones = () => [...new Set([...ctx.floor().rooms.values()].map((r) => r.zone).filter(Boolean))].sort();

  function floorChanged() {
    // "Paired" on the clinic's clock; Change for the clinic on screen's walls.
    if (displays.length && (ctx.floor().timezone !== shownZone || ctx.clinic() !== shownClinic)) render();
    if (editing && editing.clinic !== ctx.clinic()) stopEditing();
    zoneOptions($("display-zone"), clinicZones());
    zoneOptions($("display-edit-zone"), clinicZones());
  }

  /** Rename a display or move it to another zone: the form, filled with it as listed. */
  function edit(d) {
    editing = d;
    editForm.clear();
    $("display-edit-title").textContent = `Change ${d.label || d.id}`;
    $("display-edit-label").value = d.label || "";
    zoneOptions($("display-edit-zone"), clinicZones());
    $("display-edit-zone").value = d.zone || "";
    $("display-edit").hidden = false;
    $("display-edit-label").focus();
  }

  function stopEditing() {
    editing = null;
    editForm.clear();
    $("display-edit").hidden = true;
  }

  $("display-edit-cancel").addEventListener("click", stopEditing);
  $("display-edit").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!editing || editForm.missing()) return;
    const d = editing;
    const body = { label: $("display-edit-label").value.trim(), zone: $("display-edit-zone").value || null };
    await busy($("display-edit").querySelector("button[type=submit]"), async () => {
      try {
        const changed = await ctx.api("PUT", `/api/displays/${encodeURIComponent(d.id)}`, body);
        stopEditing();
        const moved = (changed.zone || null) !== (d.zone || null);
        say(`${changed.label} is saved${moved ? `: it shows ${changed.zone || "the whole clinic"} now, still paired` : ""}.`);
        await load();
        message.focus();
      } catch (err) {
        editForm.fail(err, "Could not change the display.");
        if (err?.status === 409 || err?.status === 404) await load(); // revoked or gone meanwhile: the list says so
      }
    });
  });

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
      stopEditing();
      $("displays-table").tBodies[0].replaceChildren();
      $("displays-summary").textContent = "";
      message.hidden = true;
    },
  };
}
