// What the console's set-up sections (rooms, providers, visit types, thresholds) share: their message, the PUT of
// the clinic's set-up sent with a set-up version, the change form sent with the version it was filled at (a
// stale_version refusal fills it again and says so), taking one out once confirmed, and the clinic file's back.
// The ids go by the section's name: `${name}-message`, `${name}-file`, `${name}-file-list`, `${name}-use-file`.

import { $, el, busy } from "./ui.js";

export function setUpSection(ctx, name) {
  const message = $(`${name}-message`);
  const say = (text, kind = "success") => {
    message.className = `message ${kind}`;
    message.textContent = text;
    message.hidden = !text;
  };
  const path = () => `/api/clinics/${encodeURIComponent(ctx.clinic())}/${name}`;
  /** The section's set-up sent with a set-up version: the page's now unless told. */
  const put = (body, version = ctx.floor().setupVersion ?? 0) => ctx.api("PUT", path(), { version, ...body });

  /** Ask `question`; once confirmed, `send` (the node busy meanwhile), say `done` or `failed: why`, and focus the
   *  message (the row or button may be gone). */
  async function confirmed(question, node, send, done, failed) {
    if (!window.confirm(question)) return;
    await busy(node, async () => {
      try {
        await send();
        say(done);
      } catch (err) {
        say(`${failed}: ${err.message}`, "error");
      }
    });
    message.focus();
  }

  /** Take one (named `label`) out of the clinic, once confirmed: `send` puts the list without it. */
  const takeOut = (label, question, node, send) =>
    confirmed(question, node, send, `${label} is taken out of the clinic.`, `${label} was not taken out`);

  /** The section's change forms (`changeForm`): filled again with the file's once they are taken. */
  const forms = [];

  /** The "use the clinic file's" button. Once the file's are taken, every change form of the section shows them,
   *  over anything typed and not saved (left as typed, a room's label typed here read as the room's now, and its
   *  save was refused as stale); `after` runs then, before it is said. */
  function useFile(question, done, failed, after = () => {}) {
    $(`${name}-use-file`).addEventListener("click", (e) =>
      confirmed(question, e.currentTarget, async () => {
        await put({ use_file: true });
        for (const changer of forms) changer.refillNow();
        after();
      }, done, failed));
  }

  /** The clinic file's, shown while they differ from the clinic's now. */
  function showFile(file, labelOf) {
    $(`${name}-file`).hidden = !file;
    $(`${name}-file-list`).textContent = (file || []).map(labelOf).join(", ");
  }

  /** The change form `formId`: the set-up version it was filled at, and whether the manager has typed in it since
   *  (its chooser `chooserId`, if any, aside). `fill` writes the fields from the set-up now; `refill` (default:
   *  `prefill`) fills them again after a stale_version refusal. */
  function changeForm({ formId, chooserId, fill, refill }) {
    let filledAt = null;
    let typed = false;
    $(formId).addEventListener("input", (e) => { if (!chooserId || e.target.id !== chooserId) typed = true; });
    const prefill = () => {
      filledAt = ctx.floor().setupVersion ?? 0;
      typed = false;
      fill();
    };
    if (chooserId) $(chooserId).addEventListener("change", prefill);
    const changer = {
      prefill,
      typed: () => typed,
      forget() {
        filledAt = null;
        typed = false;
      },
      /** Filled again with the set-up now, whatever was typed (and again as the feed brings a newer set-up, nothing
       *  typed since). */
      refillNow() {
        filledAt = null;
        typed = false;
        (refill || prefill)();
      },
      /** The chooser's options from `list`, the one chosen kept; the fields filled again with it now unless the
       *  manager has typed in them since (then left as typed, and the save refused should it be stale: sent with
       *  the version now, it put back what another manager had just saved). */
      choose(list, idOf, labelOf) {
        const select = $(chooserId);
        const chosen = select.value;
        select.replaceChildren(...list.map((x) => {
          const o = el("option", "", labelOf(x));
          o.value = idOf(x);
          return o;
        }));
        if (list.some((x) => idOf(x) === chosen)) select.value = chosen;
        if (!typed || select.value !== chosen) prefill();
      },
      /** Send `body` with the version the form was filled at; say `saved`, or on stale_version fill the form
       *  again and say `${why} ${stale}`, or `failed`. */
      async save(form, body, saved, stale, failed) {
        await busy($(formId).querySelector("button[type=submit]"), async () => {
          try {
            const answer = await put(body, filledAt ?? ctx.floor().setupVersion ?? 0);
            filledAt = answer?.setup_version ?? filledAt;
            typed = false;
            form.ok(saved);
          } catch (err) {
            if (err?.body?.error === "stale_version") {
              (refill || prefill)();
              form.fail(new Error(`${err.message} ${stale}`));
              return;
            }
            form.fail(err, failed);
          }
        });
      },
    };
    forms.push(changer);
    return changer;
  }

  /** The section's shared part emptied (signed out, or another clinic chosen). */
  function clear() {
    $(`${name}-file`).hidden = true;
    message.hidden = true;
  }

  return { message, say, put, takeOut, useFile, showFile, changeForm, clear };
}
