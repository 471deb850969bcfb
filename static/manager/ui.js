// Small helpers the console's sections share: building nodes, forms that say what is wrong naming the
// field, raw requests (files up and down) with the sign-in token. Text goes in through textContent only.

import { ApiError, Offline } from "../lib/api.js";
import { parseTime } from "../lib/page.js";
import { $, el } from "../lib/dom.js";

export { $, el };

export function button(text, { className = "small secondary", label, onClick, data = {} } = {}) {
  const b = el("button", className, text);
  b.type = "button";
  if (label) b.setAttribute("aria-label", label);
  for (const [k, v] of Object.entries(data)) b.dataset[k] = v;
  if (onClick) b.addEventListener("click", onClick);
  return b;
}

export function row(cells) {
  const tr = el("tr");
  cells.forEach((cell, i) => {
    const td = el(i === 0 ? "th" : "td");
    if (i === 0) td.scope = "row";
    if (cell instanceof Node) td.append(cell);
    else if (Array.isArray(cell)) td.append(...cell);
    else td.textContent = cell ?? "";
    tr.append(td);
  });
  return tr;
}

export { ROLE_LABEL } from "../lib/labels.js";

/** "14 Nov, 9:05" on the clinic's clock (`timeZone`, the live floor's; the browser's own only while it is not known). */
export function when(iso, timeZone) {
  const t = parseTime(iso);
  if (!Number.isFinite(t)) return "";
  const options = { day: "numeric", month: "short", hour: "numeric", minute: "2-digit" };
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone }).format(new Date(t));
  } catch {
    return new Intl.DateTimeFormat(undefined, options).format(new Date(t));
  }
}

export function timeOf(iso, timeZone) {
  const t = parseTime(iso);
  if (!Number.isFinite(t)) return "";
  const options = { hour: "numeric", minute: "2-digit" };
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone }).format(new Date(t));
  } catch {
    return new Intl.DateTimeFormat(undefined, options).format(new Date(t));
  }
}

/** A YYYY-MM-DD day plus n days. */
export function addDays(day, n) {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/**
 * A form's message box and its fields: `fail` says what is wrong in words naming the field (the server's
 * `field`, or the first empty required field) and marks that field, `ok` says what happened.
 * `fields` maps the API's field names to the form's inputs' ids.
 */
export function formState(form, fields = {}) {
  const box = form.querySelector("[data-form-message]");
  const labelOf = (input) => form.querySelector(`label[for="${input.id}"]`)?.textContent.trim() || input.name;
  const clear = () => {
    box.hidden = true;
    box.textContent = "";
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  };
  const mark = (input, text) => {
    input.setAttribute("aria-invalid", "true");
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && x !== box.id);
    if (!box.id) box.id = `${form.id}-message`;
    input.setAttribute("aria-describedby", [box.id, ...described].join(" "));
    say(text, "error");
    input.focus();
  };
  const say = (text, kind) => {
    box.className = `message ${kind}`;
    box.textContent = text;
    box.hidden = !text;
  };
  return {
    clear,
    ok: (text) => say(text, "success"),
    info: (text) => say(text, "info"),
    /** The first required field left empty, said and marked; false when all are filled. */
    missing() {
      clear();
      for (const input of form.querySelectorAll("[required]")) {
        const empty = input.type === "file" ? !input.files?.length : !String(input.value || "").trim();
        if (empty) {
          mark(input, `${labelOf(input)}: this is needed.`);
          return true;
        }
      }
      return false;
    },
    fail(err, fallback = "That did not work.") {
      clear();
      const message = err instanceof Offline ? "Cannot reach the server: check the network and try again."
        : (err && err.message) || fallback;
      const field = err instanceof ApiError ? err.body.field : null;
      const input = field && fields[field] ? $(fields[field]) : null;
      if (input) {
        const label = labelOf(input);
        mark(input, message.toLowerCase().startsWith(label.toLowerCase()) ? message : `${label}: ${message}`);
      } else {
        // A refusal as stale names the version sent (`version`): no field of the form, and no words for a
        // manager; its message says what happened.
        const named = field && err.body.error !== "stale_version";
        say(named ? `${field}: ${message}` : message, "error");
      }
    },
  };
}

/** Run an action with its button disabled, so a double click does it once. */
export async function busy(node, work) {
  if (node.disabled) return undefined;
  node.disabled = true;
  try {
    return await work();
  } finally {
    node.disabled = false;
  }
}

/**
 * A request whose body or answer is not JSON (a schedule file up, an export down), with the sign-in token.
 * Refusals become ApiError like lib/api.js's `call`; `onUnauthorized(err)` is told of a 401.
 */
export async function request(path, { token, method = "GET", body, type, onUnauthorized } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (type) headers["Content-Type"] = type;
  let res;
  try {
    res = await fetch(path, { method, headers, body, cache: "no-store" });
  } catch (e) {
    throw new Offline(String(e));
  }
  if (res.ok) return res;
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  const err = new ApiError(res.status, data, Number(res.headers.get("Retry-After")) || 0);
  if (res.status === 401 && onUnauthorized) onUnauthorized(err);
  throw err;
}
