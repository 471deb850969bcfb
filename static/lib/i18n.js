// The screens' languages. Every text a screen shows is a key in static/i18n/<language>.json (English is
// en.json; a key missing from another language falls back to English, then to the key itself), so a new
// language is one file to add, and its code in the clinic file's `[display] languages`.
//
// Which language a screen shows: the one its device asked for (`?lang=es` in its address, kept on the
// device until another `?lang=` or `?lang=` with nothing to forget it), else the clinic's default (the
// first of its languages); English until the clinic is known. The waiting room, with no device language,
// shows each of the clinic's languages in turn.
//
// In the HTML: `data-i18n="key"` sets an element's text; `data-i18n-label="key"` its aria-label;
// `data-i18n-placeholder="key"` its placeholder. In scripts: t("key", {name: value}) fills `{name}`;
// tn("key", n) picks "key.one" or "key.other" by the number and fills `{n}`.

export const FALLBACK = "en";
const DEVICE_KEY = "floor.lang";
const CODE = /^[a-z]{2,3}(-[A-Z]{2})?$/;

const dictionaries = new Map(); // language -> {key: text}
let current = FALLBACK;
const listeners = new Set();

function stored(value) {
  try {
    if (value === undefined) return localStorage.getItem(DEVICE_KEY);
    if (value === null) localStorage.removeItem(DEVICE_KEY);
    else localStorage.setItem(DEVICE_KEY, value);
  } catch {
    /* storage blocked: the device's language lasts for this page only */
  }
  return value ?? null;
}

let asked = null; // this page's ?lang=, when storage is blocked

/** The language this device asked for, or null: `?lang=` in its address (and kept), else one kept before. */
export function deviceLanguage() {
  const param = new URLSearchParams(location.search).get("lang");
  if (param !== null) {
    asked = CODE.test(param) ? param : null;
    stored(asked);
    return asked;
  }
  return stored() || asked;
}

/** Fetch a language's file once; false if there is none (or it is not valid JSON). */
export async function load(language) {
  if (dictionaries.has(language)) return true;
  if (!CODE.test(language)) return false;
  try {
    const res = await fetch(new URL(`../i18n/${language}.json`, import.meta.url), { cache: "no-cache" });
    if (!res.ok) return false;
    const data = await res.json();
    if (!data || typeof data !== "object") return false;
    dictionaries.set(language, data);
    return true;
  } catch {
    return false;
  }
}

/** Show `language` (English if it has no file): the page's static texts now, and listeners re-render. */
export async function use(language) {
  await load(FALLBACK);
  const next = language && (await load(language)) ? language : FALLBACK;
  const changed = next !== current;
  current = next;
  document.documentElement.lang = current;
  translatePage();
  if (changed) for (const listener of listeners) listener(current);
  return current;
}

/** Show the device's language if it asked for one, else the first of `clinicLanguages` (the clinic default). */
export function useFor(clinicLanguages) {
  const list = Array.isArray(clinicLanguages) ? clinicLanguages : [];
  return use(deviceLanguage() || list[0] || FALLBACK);
}

export const language = () => current;

/** Call `listener(language)` whenever the language shown changes. */
export function onLanguage(listener) {
  listeners.add(listener);
}

/** The text of `key` in the language shown, `{name}` filled from `vars`. */
export function t(key, vars) {
  const own = dictionaries.get(current);
  let text = own && typeof own[key] === "string" ? own[key] : undefined;
  if (text === undefined) {
    const en = dictionaries.get(FALLBACK);
    text = en && typeof en[key] === "string" ? en[key] : key;
  }
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** A count: "key.one" for 1, "key.other" otherwise, with `{n}` (and `vars`) filled. */
export function tn(key, n, vars) {
  return t(`${key}.${n === 1 ? "one" : "other"}`, { ...vars, n });
}

/** Labels by key that read like a plain object (`STAGE[stage]`): "prefix.key" in the language shown, else
 * the English given here. For pages whose labels were objects before they were translated. */
export function labels(prefix, english) {
  return new Proxy(english, {
    get(target, key) {
      if (typeof key !== "string" || !(key in target)) return undefined;
      const text = t(`${prefix}.${key}`);
      return text === `${prefix}.${key}` ? target[key] : text;
    },
  });
}

/** Put the language shown into every `data-i18n*` element under `root`. */
export function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    const text = t(node.dataset.i18n);
    if (node.textContent !== text) node.textContent = text;
  }
  for (const [data, attr] of [["i18nLabel", "aria-label"], ["i18nPlaceholder", "placeholder"], ["i18nTitle", "title"]]) {
    const selector = `[data-${data.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}]`;
    for (const node of root.querySelectorAll(selector)) node.setAttribute(attr, t(node.dataset[data]));
  }
}
