// Each provider's projected lateness through the day: a line each, the alert level, the now-line, and the
// same figures as a table.

import { parseTime } from "../lib/page.js";
import { svg, polyline, round } from "../lib/svg.js";
import { $, el } from "../lib/dom.js";
import { hm, hourLabel, serverNow, state, zoneOffset } from "./floor.js";
import { scheduleRender } from "./live.js";
import { GUTTER, RIGHT, timeDomain } from "./timeline.js";

// Line colours for the lateness chart (each at least 3:1 against the card in light and dark mode).
const PROVIDER_COLOURS = ["#1f5fbf", "#b3261e", "#1b7a3a", "#7a3fb0", "#a85400", "#00707a", "#9c2f6e", "#4d5a12"];
const PROVIDER_COLOURS_DARK = ["#7fb0ff", "#ff8f86", "#6fd693", "#c9a1ff", "#ffb066", "#5fd4df", "#ff8cc6", "#c7d46a"];

const darkMode = () => window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;

// -- lateness through the day -----------------------------------------------------------------------------------

function providerColour(index) {
  const palette = darkMode() ? PROVIDER_COLOURS_DARK : PROVIDER_COLOURS;
  return palette[index % palette.length];
}

/** Behind by a minute or more, as it is said: under a minute reads "on time", as on the timeline's lane and the
 *  wall (the legend said "Dr. Kim: 0 min late (worst 0)" of 0.3 minutes: a review). */
const behind = (minutes) => Math.round(minutes) >= 1;

function niceCeil(n) {
  for (const step of [10, 15, 20, 30, 45, 60, 90, 120, 180, 240]) if (n <= step) return step;
  return Math.ceil(n / 60) * 60;
}

export function renderLateness() {
  const box = $("lateness-chart");
  const data = state.lateness;
  if (!data || !Array.isArray(data.points) || state.day === null) return;
  if (data.day !== state.day) return; // a new day began: its history is on its way
  const now = serverNow();
  const providers = state.providers;
  const points = data.points.map((p) => ({ at: parseTime(p.at), lateness: p.lateness || {} })).filter((p) => Number.isFinite(p.at));
  // The feed's current delays are the same projection now: the line runs up to the present.
  const last = points[points.length - 1];
  if (state.delays.size && (!last || now - last.at > 30e3)) {
    points.push({ at: now, lateness: Object.fromEntries([...state.delays.values()].map((d) => [d.provider, d.lateness])), live: true });
  }
  const [t0, t1] = timeDomain(points.map((p) => p.at));
  const width = Math.max(720, box.clientWidth || 960);
  const height = 240;
  const top = 16;
  const bottom = 28;
  const plotW = width - GUTTER - RIGHT;
  const plotH = height - top - bottom;
  const threshold = state.thresholds.cascade_minutes || 10;
  let max = threshold + 5;
  for (const p of points) for (const v of Object.values(p.lateness)) max = Math.max(max, Number(v) || 0);
  const yMax = niceCeil(max);
  const x = (t) => GUTTER + ((t - t0) / (t1 - t0)) * plotW;
  const y = (v) => top + plotH - (Math.max(0, v) / yMax) * plotH;

  const grid = svg("g", { class: "grid" });
  const yStep = yMax <= 20 ? 5 : yMax <= 60 ? 10 : yMax <= 120 ? 30 : 60;
  for (let v = 0; v <= yMax; v += yStep) {
    grid.append(svg("line", { class: v === 0 ? "base" : "half", x1: GUTTER, x2: width - RIGHT, y1: y(v), y2: y(v) }),
      svg("text", { class: "axis-label", x: GUTTER - 8, y: y(v) + 4, "text-anchor": "end" }, v === 0 ? "on time" : `${v} min`));
  }
  const hour = 3600e3;
  for (let t = Math.ceil(t0 / hour) * hour - hour; t <= t1; t += hour / 2) {
    if (t < t0) continue;
    const onHour = Math.abs(zoneOffset(state.timezone, t) + t) % hour < 1000;
    if (!onHour) continue;
    grid.append(svg("line", { class: "hour", x1: x(t), x2: x(t), y1: top, y2: top + plotH + 4 }),
      svg("text", { class: "axis-label", x: x(t), y: height - 8, "text-anchor": "middle" }, hourLabel(t)));
  }
  grid.append(svg("text", { class: "axis-title", x: 10, y: top + 4 }, "Minutes behind"));

  const thresholdLine = svg("g", { class: "threshold" },
    svg("line", { x1: GUTTER, x2: width - RIGHT, y1: y(threshold), y2: y(threshold) }),
    svg("text", { class: "threshold-label", x: width - RIGHT - 4, y: y(threshold) - 5, "text-anchor": "end" }, `alert level ${threshold} min`));

  const lines = svg("g", { class: "lines" });
  const summaries = [];
  const legend = [];
  providers.forEach((p, i) => {
    const colour = providerColour(i);
    const series = points.filter((pt) => pt.lateness[p.id] !== undefined).map((pt) => [pt.at, Number(pt.lateness[p.id]) || 0]);
    const lastPoint = series[series.length - 1];
    // The line, and a ring where it ends (now): a day with no lateness is still a visible line.
    const [ex, ey] = lastPoint ? [x(lastPoint[0]), y(lastPoint[1])] : [x(Math.min(Math.max(now, t0), t1)), y(0)];
    const ring = `M${round(ex - 3.5)} ${round(ey)}a3.5 3.5 0 1 0 7 0a3.5 3.5 0 1 0 -7 0`;
    const d = polyline(series.map(([t, v]) => [x(t), y(v)]));
    lines.append(svg("path", { "data-provider": p.id, class: "series", d: `${d}${ring}`, stroke: colour, fill: "none" },
      svg("title", {}, p.name)));
    const peak = series.reduce((best, pt) => (pt[1] > best[1] ? pt : best), [NaN, 0]);
    const current = lastPoint ? lastPoint[1] : 0;
    summaries.push(`${p.name} ${behind(current) ? `${Math.round(current)} min late now` : "on time now"}` +
      (behind(peak[1]) ? `, at most ${Math.round(peak[1])} min at ${hm(peak[0])}` : ""));
    const li = el("li", "");
    li.dataset.provider = p.id;
    const swatch = el("span", "swatch line");
    swatch.style.background = colour;
    swatch.setAttribute("aria-hidden", "true");
    li.append(swatch, `${p.name}: ${behind(current) ? `${Math.round(current)} min late` : "on time"}` + (behind(peak[1]) ? ` (worst ${Math.round(peak[1])})` : ""));
    legend.push(li);
  });

  const nowX = Math.min(width - RIGHT, Math.max(GUTTER, x(now)));
  const nowLine = svg("line", { class: "now-line", x1: nowX, x2: nowX, y1: top, y2: top + plotH });
  const label = `Projected lateness by provider from ${hm(t0)}, every ${data.every_minutes} minutes, up to ${hm(now)}: ${summaries.join("; ")}.`;
  box.replaceChildren(svg("svg", { role: "img", "aria-label": label, width, height, viewBox: `0 0 ${width} ${height}`, class: "lateness-svg" },
    svg("title", {}, "Lateness through the day"),
    svg("rect", { class: "gutter-bg", x: 0, y: 0, width: GUTTER, height }),
    grid, thresholdLine, nowLine, lines));
  $("lateness-legend").replaceChildren(...legend);
  const worst = Math.max(0, ...points.flatMap((p) => Object.values(p.lateness).map(Number).filter(Number.isFinite)));
  $("lateness-summary").textContent = behind(worst) ? `Worst today ${Math.round(worst)} min` : "No one has run late today";

  // The same figures as a table.
  const table = $("lateness-table");
  const headRow = el("tr");
  const corner = el("th", "", "Time");
  corner.scope = "col";
  headRow.append(corner, ...providers.map((p) => {
    const th = el("th", "", p.name);
    th.scope = "col";
    return th;
  }));
  table.tHead.replaceChildren(headRow);
  table.tBodies[0].replaceChildren(...points.map((pt) => {
    const tr = el("tr");
    const th = el("th", "", `${hm(pt.at)}${pt.live ? " (now)" : ""}`);
    th.scope = "row";
    tr.append(th, ...providers.map((p) => el("td", "", pt.lateness[p.id] === undefined ? "—" : `${Math.round(pt.lateness[p.id])}`)));
    return tr;
  }));
}

if (window.matchMedia) {
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener?.("change", () => scheduleRender("lateness"));
}
