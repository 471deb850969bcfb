// Visit types: the clinic's visit types themselves, as the providers (manager/providers.js): add a type, change its
// label or its minutes (the slot and each stage's, as the clinic file has them), take one out (refused while a visit
// of it today is not over), or go back to the clinic file's (PUT .../visit-types, sent with the set-up version the
// page showed). The timeline, delays and alerts plan today's visits by the new minutes as soon as they are saved.

import { $, button, row, formState, busy } from "./ui.js";
import { setUpSection } from "./setup-section.js";

const STAGES = ["arrived", "roomed", "prep_done", "provider_in", "teach_back_done"];
const MINUTES = ["slot_minutes", ...STAGES];

export function visitTypesSection(ctx) {
  const { put: setTypes, takeOut: takeOutOne, useFile, showFile, changeForm, clear: clearShared } =
    setUpSection(ctx, "visit-types");
  // The server names a type's field by its place in the list sent (visit_types[3].stage_minutes.provider_in): set
  // before each send.
  const addFields = {};
  const addForm = formState($("visit-type-add"), addFields);
  const editFields = {};
  const editForm = formState($("visit-type-edit"), editFields);
  let signature = "";

  const types = () => [...(ctx.floor().visitTypes?.values() || [])];
  const minutesOf = (t) => [t.slot_minutes, ...STAGES.map((s) => t.stage_minutes[s])];

  function floorChanged() {
    const live = ctx.floor();
    const list = types();
    const next = JSON.stringify([live.setupVersion, live.fileVisitTypes, list]);
    if (next === signature) return;
    signature = next;
    const table = $("visit-types-table");
    const hadFocus = table.contains(document.activeElement) ? document.activeElement.dataset.visitType : null;
    table.tBodies[0].replaceChildren(...list.map((t) => {
      const tr = row([t.label, t.code, ...minutesOf(t).map(String), button("Take out", {
        label: `Take ${t.label} out of the clinic`, data: { action: "take-out", visitType: t.code },
        onClick: (e) => takeOut(t, e.currentTarget) })]);
      tr.dataset.visitType = t.code;
      return tr;
    }));
    if (hadFocus) table.querySelector(`button[data-visit-type="${CSS.escape(hadFocus)}"]`)?.focus();
    edit.choose(list, (t) => t.code, (t) => t.label);
    $("visit-types-summary").textContent = `${list.length} visit types`;
    showFile(live.fileVisitTypes, (t) => t.label);
  }

  // The edit form's change goes with the set-up version it was filled at, refused if another change came first
  // (sent with the version now, a label changed here put back the minutes another manager had just saved).
  const edit = changeForm({ formId: "visit-type-edit", chooserId: "visit-type-edit-type", fill() {
    const t = types().find((x) => x.code === $("visit-type-edit-type").value);
    $("visit-type-edit-label").value = t?.label ?? "";
    const values = t ? minutesOf(t) : MINUTES.map(() => "");
    MINUTES.forEach((m, i) => { $(`visit-type-edit-${m}`).value = values[i]; });
  } });

  /** A type from a form's fields (`prefix`): its label and minutes, numbers as typed (the server checks them). */
  const fromForm = (prefix, code) => {
    const number = (m) => {
      const text = $(`${prefix}-${m}`).value.trim();
      return /^-?\d+$/.test(text) ? Number(text) : text;
    };
    return { code, label: $(`${prefix}-label`).value.trim(), slot_minutes: number("slot_minutes"),
      stage_minutes: Object.fromEntries(STAGES.map((s) => [s, number(s)])) };
  };

  const listed = () => types().map((t) => ({ code: t.code, label: t.label, slot_minutes: t.slot_minutes,
    stage_minutes: Object.fromEntries(STAGES.map((s) => [s, t.stage_minutes[s]])) }));
  const fieldsAt = (fields, i, prefix, codeField) => {
    for (const k of Object.keys(fields)) delete fields[k];
    const at = `visit_types[${i}]`;
    Object.assign(fields, { [at]: codeField, [`${at}.code`]: codeField, [`${at}.label`]: `${prefix}-label`,
      [`${at}.slot_minutes`]: `${prefix}-slot_minutes` });
    for (const s of STAGES) {
      fields[`${at}.stage_minutes.${s}`] = `${prefix}-${s}`;
    }
  };

  $("visit-type-add").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (addForm.missing()) return;
    const list = listed();
    const t = fromForm("visit-type-add", $("visit-type-add-code").value.trim());
    fieldsAt(addFields, list.length, "visit-type-add", "visit-type-add-code");
    await busy($("visit-type-add").querySelector("button[type=submit]"), async () => {
      try {
        await setTypes({ visit_types: [...list, t] });
        for (const id of ["code", "label", ...MINUTES]) $(`visit-type-add-${id}`).value = "";
        addForm.ok(`${t.label} is added: bookable now.`);
      } catch (err) {
        addForm.fail(err, "Could not add the visit type.");
      }
    });
  });

  $("visit-type-edit").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (editForm.missing()) return;
    const list = listed();
    const i = list.findIndex((t) => t.code === $("visit-type-edit-type").value);
    if (i < 0) return;
    list[i] = fromForm("visit-type-edit", list[i].code);
    fieldsAt(editFields, i, "visit-type-edit", "visit-type-edit-type");
    await edit.save(editForm, { visit_types: list },
      `${list[i].label} is saved: today’s visits of it are planned by these minutes.`,
      "The form shows the visit type now: change it again.", "Could not change the visit type.");
  });

  /** Take a visit type out of the clinic, once confirmed: refused by the server while a visit of it is not over. */
  const takeOut = (t, node) => takeOutOne(t.label,
    `Take ${t.label} out of the clinic? Nobody can book it any more; it can be added again later.`, node,
    () => setTypes({ visit_types: listed().filter((x) => x.code !== t.code) }));

  useFile("Use the clinic file’s visit types? Types added here are taken out, and the file’s lead from now on.",
    "The visit types are the clinic file’s again.", "The clinic file’s visit types were not taken");

  return {
    floorChanged,
    clear() {
      signature = "";
      edit.forget();
      $("visit-types-table").tBodies[0].replaceChildren();
      $("visit-type-edit-type").replaceChildren();
      $("visit-types-summary").textContent = "";
      clearShared();
    },
  };
}
