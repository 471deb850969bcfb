// A step tapped late: one control for the whole tablet, "This tap happened: Just now / 2 … 30 minutes ago".
// What it says goes with the next step tapped on a card, or the next walk-in added (when they came: tablet/walkin.js),
// only, then it is back to "Just now"; undo, room marks and presence taps are always now. While it says anything but
// "Just now" it stands out, so nobody leaves it set by accident.

import { $ } from "../lib/dom.js";

const control = () => $("tap-late-minutes");

/** Show whether the control is set: the bar stands out and says it is for the next tap only. */
function paint() {
  const minutes = Number(control().value) || 0;
  const bar = $("tap-late");
  bar.classList.toggle("set", minutes > 0);
  $("tap-late-next").hidden = minutes === 0;
}

/** Back to "Just now". */
export function resetLate() {
  control().value = "0";
  paint();
}

/** The minutes chosen for this tap (0: just now); the control goes back to "Just now". */
export function takeMinutesAgo() {
  const minutes = Number(control().value) || 0;
  if (minutes) resetLate();
  return minutes;
}

control().addEventListener("change", paint);
