// The DOM helpers every page uses. Text goes into the page through textContent (or as text nodes) only.
//
//   $("id")                                  document.getElementById
//   el("li", {class: "card", "data-visit": id, text: "…"}, child, "text", …)
//   el("td", "tile-note", "4 visits")        the same with a class name for attributes (short form)
//   plural(3, "room") -> "3 rooms";  plural(2, "person", "people") -> "2 people"

export const $ = (id) => document.getElementById(id);

/** An element: `attrs` is an object (`class`, `text`, `data-*`, `aria-*`, `role`, `id`, `type`, `tabindex` and
 * `title` as attributes, anything else as a property) or a class name; then its children (nodes or text;
 * null, undefined and false are skipped). */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (typeof attrs === "string") {
    if (attrs) node.className = attrs;
  } else {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = String(v);
      else if (k.startsWith("data-") || k.startsWith("aria-") || ATTRIBUTES.has(k)) {
        node.setAttribute(k, v === true ? "" : String(v));
      } else node[k] = v;
    }
  }
  for (const c of children) if (c !== undefined && c !== null && c !== false) node.append(c);
  return node;
}
const ATTRIBUTES = new Set(["role", "id", "type", "tabindex", "title"]);

/** "1 room", "3 rooms"; `many` for words that do not just take an s. */
export const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "left_without_being_seen" -> "Left Without Being Seen", for a code with no label. */
export const titleCase = (s) => String(s).replace(/[_-]+/g, " ").replace(/\b\w/g, (c) => c.toUpperCase());
