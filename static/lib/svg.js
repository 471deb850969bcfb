// A few lines to build SVG without innerHTML: attributes are set one by one and text goes in through
// textContent, so nothing from the server is ever parsed as markup.
//
//   svg("rect", { x: 1, y: 2, width: 3, height: 4, class: "slot" }, svg("title", {}, "Diego Berg"))

const NS = "http://www.w3.org/2000/svg";

/** An SVG element with attributes (null/undefined/false skipped) and children (nodes or text). */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, typeof value === "number" ? String(round(value)) : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
  return node;
}

/** A number short enough for an attribute (two decimals). */
export function round(n) {
  return Number.isFinite(n) ? Math.round(n * 100) / 100 : 0;
}

/** "M x y L x y …" through the points ([x, y] pairs), skipping ones that are not finite. */
export function polyline(points) {
  let d = "";
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    d += `${d ? "L" : "M"}${round(x)} ${round(y)}`;
  }
  return d;
}
