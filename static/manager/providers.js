// Providers: the clinic's providers themselves, as the rooms (manager/rooms.js): add a provider, change their name
// or initials, take one out (refused while a visit of theirs today is not over), or go back to the clinic file's
// (PUT .../providers, sent with the set-up version the page showed).

import { $, el, button, row, formState, busy } from "./ui.js";

export function providersSection(ctx) {
  const message = $("providers-message");
  const say = (text, kind = "success") => {
    message.className = `message ${kind}`;
    message.textContent = text;
    message.hidden = !text;
  };
  // The server names a provider's field by their place in the list sent (providers[3].initials): set before each send.
  const addFields = {};
  const addForm = formState($("provider-add"), addFields);
  const editFields = {};
  const editForm = formState($("provider-edit"), editFields);
  let signature = "";

  function floorChanged() {
    const live = ctx.floor();
    const providers = live.providers || [];
    const next = JSON.stringify([live.setupVersion, live.fileProviders, providers]);
    if (next === signature) return;
    signature = next;
    const hadFocus = $("providers-table").contains(document.activeElement) ? document.activeElement.dataset.provider : null;
    $("providers-table").tBodies[0].replaceChildren(...providers.map((p) => {
      const tr = row([p.name, p.initials, p.id, button("Take out", { label: `Take ${p.name} out of the clinic`,
        data: { action: "take-out", provider: p.id }, onClick: (e) => takeOut(p, e.currentTarget) })]);
      tr.dataset.provider = p.id;
      return tr;
    }));
    if (hadFocus) $("providers-table").querySelector(`button[data-provider="${CSS.escape(hadFocus)}"]`)?.focus();
    const select = $("provider-edit-provider");
    const chosen = select.value;
    select.replaceChildren(...providers.map((p) => {
      const o = el("option", "", p.name);
      o.value = p.id;
      return o;
    }));
    if (providers.some((p) => p.id === chosen)) select.value = chosen;
    // Filled again with the provider now unless the manager has typed in it since it was filled (then left as typed, and
    // its save refused should it be stale: sent with the version now, it put back what another manager had just saved).
    if (!editTyped || select.value !== chosen) prefill();
    $("providers-summary").textContent = `${providers.length} providers`;
    $("providers-file").hidden = !live.fileProviders;
    $("providers-file-list").textContent = (live.fileProviders || []).map((p) => p.name).join(", ");
  }

  // The set-up version the change form was filled at, and whether the manager has typed in it since.
  let filledAt = null;
  let editTyped = false;
  $("provider-edit").addEventListener("input", (e) => { if (e.target.id !== "provider-edit-provider") editTyped = true; });

  function prefill() {
    filledAt = ctx.floor().setupVersion ?? 0;
    editTyped = false;
    const p = (ctx.floor().providers || []).find((x) => x.id === $("provider-edit-provider").value);
    $("provider-edit-name").value = p?.name ?? "";
    $("provider-edit-initials").value = p?.initials ?? "";
  }

  const path = () => `/api/clinics/${encodeURIComponent(ctx.clinic())}/providers`;
  const listed = () => (ctx.floor().providers || []).map((p) => ({ id: p.id, name: p.name, initials: p.initials }));
  const setProviders = (body, version = ctx.floor().setupVersion ?? 0) => ctx.api("PUT", path(), { version, ...body });
  const fieldsAt = (fields, i, prefix) => {
    for (const k of Object.keys(fields)) delete fields[k];
    Object.assign(fields, { [`providers[${i}]`]: `${prefix}-id`, [`providers[${i}].id`]: `${prefix}-id`,
      [`providers[${i}].name`]: `${prefix}-name`, [`providers[${i}].initials`]: `${prefix}-initials` });
  };

  $("provider-add").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (addForm.missing()) return;
    const providers = listed();
    const p = { id: $("provider-add-id").value.trim(), name: $("provider-add-name").value.trim(),
      initials: $("provider-add-initials").value.trim() };
    fieldsAt(addFields, providers.length, "provider-add");
    await busy($("provider-add").querySelector("button[type=submit]"), async () => {
      try {
        await setProviders({ providers: [...providers, p] });
        for (const id of ["provider-add-id", "provider-add-name", "provider-add-initials"]) $(id).value = "";
        addForm.ok(`${p.name} (${p.initials}) is added: bookable now.`);
      } catch (err) {
        addForm.fail(err, "Could not add the provider.");
      }
    });
  });

  $("provider-edit-provider").addEventListener("change", prefill);

  $("provider-edit").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (editForm.missing()) return;
    const providers = listed();
    const i = providers.findIndex((p) => p.id === $("provider-edit-provider").value);
    if (i < 0) return;
    providers[i] = { id: providers[i].id, name: $("provider-edit-name").value.trim(),
      initials: $("provider-edit-initials").value.trim() };
    fieldsAt(editFields, i, "provider-edit");
    await busy($("provider-edit").querySelector("button[type=submit]"), async () => {
      try {
        const answer = await setProviders({ providers }, filledAt ?? ctx.floor().setupVersion ?? 0);
        filledAt = answer?.setup_version ?? filledAt;
        editTyped = false;
        editForm.ok(`${providers[i].name} (${providers[i].initials}) is saved.`);
      } catch (err) {
        if (err?.body?.error === "stale_version") {
          prefill();
          editForm.fail(new Error(`${err.message} The form shows the provider now: change it again.`));
          return;
        }
        editForm.fail(err, "Could not change the provider.");
      }
    });
  });

  /** Take a provider out of the clinic, once confirmed: refused by the server while a visit of theirs is not over. */
  async function takeOut(p, node) {
    if (!window.confirm(`Take ${p.name} out of the clinic? Nobody can book them any more; they can be added again later.`)) return;
    await busy(node, async () => {
      try {
        await setProviders({ providers: listed().filter((x) => x.id !== p.id) });
        say(`${p.name} is taken out of the clinic.`);
      } catch (err) {
        say(`${p.name} was not taken out: ${err.message}`, "error");
      }
    });
    message.focus();
  }

  $("providers-use-file").addEventListener("click", async (e) => {
    if (!window.confirm("Use the clinic file's providers? Providers added here are taken out, and the file's lead from now on.")) return;
    await busy(e.currentTarget, async () => {
      try {
        await setProviders({ use_file: true });
        say("The providers are the clinic file's again.");
      } catch (err) {
        say(`The clinic file's providers were not taken: ${err.message}`, "error");
      }
    });
    message.focus();
  });

  return {
    floorChanged,
    clear() {
      signature = "";
      filledAt = null;
      editTyped = false;
      $("providers-table").tBodies[0].replaceChildren();
      $("provider-edit-provider").replaceChildren();
      $("providers-summary").textContent = "";
      $("providers-file").hidden = true;
      message.hidden = true;
    },
  };
}
