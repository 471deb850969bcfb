// Small helpers every staff page needs: server times, storage that may be blocked, status messages.

/** An ISO time as epoch ms; Python's microseconds are cut to milliseconds first. */
export function parseTime(iso) {
  if (typeof iso !== "string") return NaN;
  return Date.parse(iso.replace(/(\.\d{3})\d+/, "$1"));
}

const storage = (area) => ({
  get(key) {
    try {
      return window[area].getItem(key);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      if (value == null) window[area].removeItem(key);
      else window[area].setItem(key, value);
    } catch {
      /* storage blocked: nothing is remembered */
    }
  },
});

/** The tab's sign-in lives in sessionStorage (gone with the tab); device names in localStorage. */
export const session = storage("sessionStorage");
export const local = storage("localStorage");

export function show(node, text, kind) {
  node.textContent = text || "";
  node.hidden = !text;
  if (kind) node.className = `message ${kind}`;
}
