// The toast at the foot of the tablet: what a tap did ("Ann Lee: checked in (arrived)."), with Undo for six
// seconds, or what went wrong. One at a time; a keyboard user on it keeps it; while its undo is on its way it
// says so (and, without a network, that the undo waits to be sent once).
//
//   const toasts = toastRegion();
//   toasts.say(note)   a note added to the toast shown (its Undo kept), or shown alone
//   toasts.show({ text, undo, patient, error, ms })   undo: what the page needs to send it (its Undo button
//                                                     has data-action="undo"); patient: named in the banner
//   toasts.sending()   its Undo was tapped;   toasts.paint()   repaint (e.g. `waiting` changed);   toasts.hide()
//   toasts.current     the toast shown, or null

import { $, el } from "../lib/dom.js";
import { t } from "../lib/i18n.js";

const UNDO_MS = 6000; // how long a toast with Undo stays
const PLAIN_MS = 4000; // and one without

export function toastRegion() {
  let current = null;
  let timer = null;

  function show({ text, undo, patient, error, ms, base }) {
    clearTimeout(timer);
    // base: the toast's own text, when a note was added to it (say)
    current = { text, base, undo, patient, waiting: null, error, until: Date.now() + (ms || (undo ? UNDO_MS : PLAIN_MS)) };
    paint();
    arm();
  }

  function arm() {
    clearTimeout(timer);
    if (!current) return;
    timer = setTimeout(() => {
      if (!current || current.sending) return;
      const node = $("toast-region").firstElementChild;
      if (node && node.contains(document.activeElement)) {
        current.until = Date.now() + 2000; // a keyboard user is on it: keep it while they are
        arm();
        return;
      }
      hide();
    }, Math.max(0, current.until - Date.now()));
  }

  /** Add a note to the toast shown, keeping its Undo (and time), or show the note alone. */
  function say(note) {
    if (current?.undo && !current.sending) {
      const base = current.base || current.text;
      show({ text: `${base} ${note}`, base, undo: current.undo, patient: current.patient });
    } else {
      show({ text: note });
    }
  }

  function hide() {
    clearTimeout(timer);
    current = null;
    $("toast-region").replaceChildren();
  }

  function paint() {
    if (!current) return;
    const box = el("div", { class: `toast${current.error ? " error" : ""}` },
      el("p", { class: "toast-text", text: current.sending ? (current.waiting === "offline"
        ? t("toast.undo_waiting") : t("detail.undoing")) : current.text }));
    if (current.undo && !current.sending) {
      box.append(el("button", { type: "button", class: "undo", "data-action": "undo", text: t("toast.undo") }));
    }
    box.append(el("button", { type: "button", class: "link-button close", "aria-label": t("toast.close"), text: "×",
      onclick: () => hide() }));
    $("toast-region").replaceChildren(box);
  }

  function sending() {
    if (!current) return;
    current.sending = true;
    clearTimeout(timer);
    paint();
  }

  return { show, say, hide, paint, sending, get current() { return current; } };
}
