// Providers: the clinic's providers themselves, as the rooms (manager/rooms.js): add a provider, change their name
// or initials, take one out (refused while a visit of theirs today is not over), or go back to the clinic file's
// (PUT .../providers, sent with the set-up version the page showed).

import { $, button, row, formState, busy } from "./ui.js";
import { setUpSection } from "./setup-section.js";

export function providersSection(ctx) {
  const { put: setProviders, takeOut: takeOutOne, useFile, showFile, changeForm, clear: clearShared } =
    setUpSection(ctx, "providers");
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
    edit.choose(providers, (p) => p.id, (p) => p.name);
    $("providers-summary").textContent = `${providers.length} providers`;
    showFile(live.fileProviders, (p) => p.name);
  }

  const edit = changeForm({ formId: "provider-edit", chooserId: "provider-edit-provider", fill() {
    const p = (ctx.floor().providers || []).find((x) => x.id === $("provider-edit-provider").value);
    $("provider-edit-name").value = p?.name ?? "";
    $("provider-edit-initials").value = p?.initials ?? "";
  } });

  const listed = () => (ctx.floor().providers || []).map((p) => ({ id: p.id, name: p.name, initials: p.initials }));
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

  $("provider-edit").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (editForm.missing()) return;
    const providers = listed();
    const i = providers.findIndex((p) => p.id === $("provider-edit-provider").value);
    if (i < 0) return;
    providers[i] = { id: providers[i].id, name: $("provider-edit-name").value.trim(),
      initials: $("provider-edit-initials").value.trim() };
    fieldsAt(editFields, i, "provider-edit");
    await edit.save(editForm, { providers }, `${providers[i].name} (${providers[i].initials}) is saved.`,
      "The form shows the provider now: change it again.", "Could not change the provider.");
  });

  /** Take a provider out of the clinic, once confirmed: refused by the server while a visit of theirs is not over. */
  const takeOut = (p, node) => takeOutOne(p.name,
    `Take ${p.name} out of the clinic? Nobody can book them any more; they can be added again later.`, node,
    () => setProviders({ providers: listed().filter((x) => x.id !== p.id) }));

  useFile("Use the clinic file's providers? Providers added here are taken out, and the file's lead from now on.",
    "The providers are the clinic file's again.", "The clinic file's providers were not taken");

  return {
    floorChanged,
    clear() {
      signature = "";
      edit.forget();
      $("providers-table").tBodies[0].replaceChildren();
      $("provider-edit-provider").replaceChildren();
      $("providers-summary").textContent = "";
      clearShared();
    },
  };
}
