// The bars that stay at the top while the lists scroll (the offline banner, "This tap happened", the front desk's
// tools): each one's height as it is now, 0 while it is not shown, in a CSS variable on the page, so index.css
// stacks each under the one above and brings what is focused into view below them all (scroll-margin-top),
// whatever their words, the taps waiting or the width.

import { $ } from "../lib/dom.js";

const BARS = { offline: "--stuck-banner", "tap-late": "--stuck-late", "desk-tools": "--stuck-tools" };

const measure = new ResizeObserver(() => {
  for (const [id, name] of Object.entries(BARS)) {
    document.documentElement.style.setProperty(name, `${$(id).offsetHeight}px`);
  }
});
for (const id of Object.keys(BARS)) measure.observe($(id), { box: "border-box" });
