// The bars that stay at the top while the lists scroll ("This tap happened", the front desk's tools): each one's
// height as it is now, 0 while it is not shown, in a CSS variable on the page, so index.css stacks each under the
// one above and keeps what is focused clear of them all (scroll-padding-top), whatever their words or the width.

import { $ } from "../lib/dom.js";

const BARS = { "tap-late": "--stuck-late", "desk-tools": "--stuck-tools" };

const measure = new ResizeObserver(() => {
  for (const [id, name] of Object.entries(BARS)) {
    document.documentElement.style.setProperty(name, `${$(id).offsetHeight}px`);
  }
});
for (const id of Object.keys(BARS)) measure.observe($(id), { box: "border-box" });
