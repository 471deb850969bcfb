// Staff accounts: the list, add with a role and a first PIN (a provider linked to one of the clinic's providers),
// set a new PIN, unlock, remove (after asking).

import { $, el, button, row, formState, busy, when, ROLE_LABEL } from "./ui.js";

export function staffSection(ctx) {
  let staff = [];
  let shownProviders = "";
  const message = $("staff-message");
  const say = (text, kind = "success") => {
    message.className = `message ${kind}`;
    message.textContent = text;
    message.hidden = !text;
  };
  const addForm = formState($("staff-add"), { id: "staff-add-id", name: "staff-add-name", role: "staff-add-role",
    secret: "staff-add-secret", provider: "staff-add-provider" });
  const secretForm = formState($("staff-secret"), { secret: "staff-secret-secret", staff: "staff-secret-who" });

  async function load() {
    try {
      const list = await ctx.api("GET", "/api/staff");
      staff = Array.isArray(list) ? list : [];
      render();
      ctx.onStaff(staff);
    } catch (err) {
      say(`Could not list the staff: ${err.message}`, "error");
    }
  }

  function account(s) {
    if (s.locked) return el("strong", "bad", "Locked (too many wrong PINs)");
    return s.failures ? `Active (${s.failures} wrong PIN${s.failures === 1 ? "" : "s"} lately)` : "Active";
  }

  function render() {
    const me = ctx.me();
    const sorted = [...staff].sort((a, b) => a.name.localeCompare(b.name));
    $("staff-table").tBodies[0].replaceChildren(...sorted.map((s) => {
      const actions = el("div", "actions");
      if (s.locked) {
        actions.append(button("Unlock", { label: `Unlock ${s.name}`, data: { action: "unlock", staff: s.id },
          onClick: (e) => unlock(s, e.currentTarget) }));
      }
      actions.append(button("New PIN", { label: `Set a new PIN for ${s.name}`, data: { action: "pin", staff: s.id },
        onClick: () => {
          $("staff-secret-who").value = s.id;
          $("staff-secret-secret").focus();
        } }));
      if (!me || s.id !== me.id) {
        actions.append(button("Remove", { className: "small danger", label: `Remove ${s.name}`,
          data: { action: "remove", staff: s.id }, onClick: (e) => remove(s, e.currentTarget) }));
      }
      const role = ROLE_LABEL[s.role] || s.role;
      const linked = s.role === "provider" && s.provider && (s.provider !== s.id || takenOut(s))
        ? `${role}: ${providerLabel(s.provider, takenOut(s))}` : role;
      const tr = row([s.name, s.id, linked, account(s),
        `${when(s.added_at, ctx.floor().timezone)}${s.added_by ? ` by ${s.added_by}` : ""}`, actions]);
      tr.dataset.staff = s.id;
      tr.dataset.locked = String(Boolean(s.locked));
      return tr;
    }));
    const locked = staff.filter((s) => s.locked).length;
    $("staff-summary").textContent = `${staff.length} account${staff.length === 1 ? "" : "s"}${locked ? `, ${locked} locked` : ""}`;
    const who = $("staff-secret-who");
    const chosen = who.value;
    const options = sorted.map((s) => {
      const o = el("option", "", `${s.name} (${s.id})`);
      o.value = s.id;
      return o;
    });
    if (chosen && !staff.some((s) => s.id === chosen)) {
      // Removed meanwhile (another manager): still the choice, so a new PIN is never set for someone else.
      const gone = el("option", "", `${chosen} (removed)`);
      gone.value = chosen;
      gone.disabled = true;
      options.unshift(gone);
    }
    who.replaceChildren(...options);
    if (chosen) who.value = chosen;
  }

  let shownClinics = "";
  /** "Works in": the clinics of the page's clinic list (those this manager may pick), the one on screen ticked. */
  function fillClinics() {
    const clinics = [...$("clinic").options].map((o) => [o.value, o.textContent]);
    const key = JSON.stringify([clinics, ctx.clinic()]);
    if (key === shownClinics) return;
    shownClinics = key;
    $("staff-add-clinics-field").hidden = clinics.length < 2;
    $("staff-add-clinics").replaceChildren(...clinics.map(([id, name]) => {
      const box = el("input", { type: "checkbox", id: `staff-add-clinic-${id}`, value: id });
      box.defaultChecked = box.checked = id === ctx.clinic(); // what the form's reset comes back to
      const label = el("label", { text: name });
      label.htmlFor = box.id;
      return el("div", "check", box, label);
    }));
  }

  function providerLabel(id, out = false) {
    const p = (ctx.floor().providers || []).find((x) => x.id === id);
    if (out) return `${id} (taken out of this clinic)`;
    return p ? `${p.name} (${id})` : id;
  }

  /** A provider's sign-in for this clinic linked to a provider no longer among its providers (a manager took
   *  them out): the account stays, its tablet shows every provider's patients until it is linked again. */
  function takenOut(s) {
    const providers = ctx.floor().providers;
    if (!s.provider || !Array.isArray(providers) || !(s.clinics || []).includes(ctx.clinic())) return false;
    return !providers.some((p) => p.id === s.provider);
  }

  /** The clinic's providers to link a provider's sign-in to; shown only when the role is provider. */
  function fillProviders() {
    const select = $("staff-add-provider");
    const providers = ctx.floor().providers || [];
    const have = [...select.options].map((o) => o.value).join();
    const want = ["", ...providers.map((p) => p.id)].join();
    if (have !== want) {
      const chosen = select.value;
      const same = el("option", "", "The provider whose id is the staff id");
      same.value = "";
      select.replaceChildren(same, ...providers.map((p) => {
        const o = el("option", "", `${p.name} (${p.id})`);
        o.value = p.id;
        return o;
      }));
      if (providers.some((p) => p.id === chosen)) select.value = chosen;
    }
    $("staff-add-provider-field").hidden = $("staff-add-role").value !== "provider";
  }
  $("staff-add-role").addEventListener("change", fillProviders);
  $("staff-add").addEventListener("reset", () => setTimeout(fillProviders));

  // The list is as this page last loaded it: another manager may have changed it since. A refusal says so in
  // words and the list is loaded again, so its rows no longer offer what cannot be done (a review).
  const gone = (err) => err?.status === 404;
  const removedAlready = (s) => `${s.name} (${s.id}) was removed already, by another manager or in another window.`;

  async function unlock(s, node) {
    await busy(node, async () => {
      try {
        await ctx.api("POST", `/api/staff/${encodeURIComponent(s.id)}/unlock`);
        say(`${s.name}’s account is unlocked: they can sign in again.`);
        await load();
      } catch (err) {
        say(gone(err) ? removedAlready(s) : `Could not unlock ${s.name}: ${err.message}`, "error");
        await load();
      }
    });
    message.focus(); // the list was drawn again (the button is gone): the focus goes to what was said
  }

  async function remove(s, node) {
    if (!window.confirm(`Remove ${s.name} (${s.id})? Their sign-ins end at once and they can no longer sign in.`)) return;
    await busy(node, async () => {
      try {
        await ctx.api("DELETE", `/api/staff/${encodeURIComponent(s.id)}`);
        say(`${s.name} is removed.`);
        await load();
      } catch (err) {
        say(gone(err) ? removedAlready(s) : `Could not remove ${s.name}: ${err.message}`, gone(err) ? "info" : "error");
        await load();
      }
    });
    message.focus();
  }

  $("staff-add").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (addForm.missing()) return;
    const body = {
      id: $("staff-add-id").value.trim(),
      name: $("staff-add-name").value.trim(),
      role: $("staff-add-role").value,
      secret: $("staff-add-secret").value,
    };
    if (body.role === "provider" && $("staff-add-provider").value) body.provider = $("staff-add-provider").value;
    if (!$("staff-add-clinics-field").hidden) {
      // On a server of several clinics the account says where it works (the server cannot tell which: a review
      // found a first manager of every clinic unable to add anyone, the form naming a field it did not show).
      body.clinics = [...$("staff-add-clinics").querySelectorAll("input:checked")].map((box) => box.value);
      if (!body.clinics.length) {
        addForm.fail(new Error("Works in: choose at least one clinic."), "Could not add the staff member.");
        $("staff-add-clinics").querySelector("input")?.focus();
        return;
      }
    }
    await busy(e.submitter || $("staff-add").querySelector("button"), async () => {
      try {
        const added = await ctx.api("POST", "/api/staff", body);
        $("staff-add").reset();
        const as = (ROLE_LABEL[added.role] || added.role).toLowerCase();
        const who = added.provider && added.provider !== added.id ? ` (${providerLabel(added.provider)} on the floor)` : "";
        addForm.ok(`${added.name} (${added.id}) is added as ${as}${who}: they sign in with the staff id and that PIN.`);
        await load();
      } catch (err) {
        addForm.fail(err, "Could not add the staff member.");
      }
    });
  });

  $("staff-secret").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (secretForm.missing()) return;
    const id = $("staff-secret-who").value;
    const name = staff.find((s) => s.id === id)?.name || id;
    await busy(e.submitter || $("staff-secret").querySelector("button"), async () => {
      try {
        await ctx.api("PUT", `/api/staff/${encodeURIComponent(id)}/secret`, { secret: $("staff-secret-secret").value });
        $("staff-secret-secret").value = "";
        secretForm.ok(`${name} has a new PIN (and is unlocked).`);
        await load();
      } catch (err) {
        secretForm.fail(err, "Could not set the PIN.");
      }
    });
  });

  $("staff-refresh").addEventListener("click", (e) => busy(e.currentTarget, load));

  return {
    load,
    floorChanged() {
      // The providers' names come with the floor: the table is drawn again only when they change.
      // So does the clinic's time zone, in which "Added" is shown.
      const names = JSON.stringify([ctx.floor().timezone, (ctx.floor().providers || []).map((p) => [p.id, p.name])]);
      fillProviders();
      fillClinics();
      if (names !== shownProviders) {
        shownProviders = names;
        if (staff.length) render();
      }
    },
    clear() {
      // Signed out: nothing typed is left for whoever signs in next (a first PIN, a new PIN, a name).
      $("staff-add").reset();
      $("staff-secret").reset();
      addForm.clear();
      secretForm.clear();
      staff = [];
      shownProviders = "";
      shownClinics = "";
      $("staff-table").tBodies[0].replaceChildren();
      $("staff-secret-who").replaceChildren();
      $("staff-summary").textContent = "";
      message.hidden = true;
    },
  };
}
