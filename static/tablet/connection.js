// The tablet's connection: the clinic's live feed (a snapshot, then one event at a time) kept on the board,
// the server's clock from it, and what the page says of the connection: the pill at the top and the offline
// banner with the taps waiting to be sent.

import { CLOSE, openFeed } from "../lib/feed.js";
import { parseTime, show } from "../lib/page.js";
import { FALLBACK, language, t } from "../lib/i18n.js";
import { $, el, titleCase } from "../lib/dom.js";
import { tick } from "./cards.js";
import { sendKeptAgain, sendingAgain } from "./kept.js";
import { fillProviderFilter, movedElsewhere, render, renderDelay, renderTabletAlerts } from "./lists.js";
import { PRESENCE_LABEL, fillPresenceProviders } from "./presence.js";
import { paintWho, signedOut } from "./session.js";
import {
  app, board, clock, pending, pendingRooms, pins, providerName, putRoom, putVisit, roomLabel, roomPins, serverNow, setText,
  stepDone, toasts,
} from "./state.js";
import { detail } from "./taps.js";
import { fillWalkinChoices } from "./walkin.js";

let feed = null;

let feedMode = "connecting";
let feedText = t("feed.connecting");
let wentDown = false; // the feed was live and dropped; cleared when it is live again
let downSince = null; // when this screen last lost its connection (server clock, ms)
let lastHeard = null; // when the feed last brought anything (server clock, ms)

/** Close the feed (signed out). */
export function closeFeed() {
  if (feed) feed.close();
  feed = null;
}

/** Forget that the connection dropped (signed out). */
export function resetConnection() {
  wentDown = false;
  downSince = null;
}

// -- the live feed: a snapshot, then one event at a time -----------------------------------------------------

export function startFeed(clinic) {
  if (feed) feed.close();
  if (board.clinic !== clinic) {
    Object.assign(board, { clinic, name: "", seq: null, rooms: new Map(), visits: new Map(), delays: new Map() });
    pins.clear();
    roomPins.clear();
    // Taps on their way go on being sent (kept until answered), but their cards were the other clinic's.
    pending.clear();
    pendingRooms.clear();
    render();
  }
  feed = openFeed({
    clinic,
    token: () => app.token,
    onMessage: handle,
    onStatus: feedStatus,
    onEnded: feedEnded,
  });
}

function feedStatus(mode, text) {
  feedMode = mode;
  if (mode === "live" || mode === "stale") {
    wentDown = false;
    downSince = null;
  } else if (mode === "offline") {
    wentDown = true;
    downSince ??= serverNow();
  }
  feedText = mode === "live" ? t("conn.live") : mode === "stale" ? t("conn.stale") : text || titleCase(mode);
  $("stale").hidden = mode !== "stale";
  updateBanner();
}

/** The feed's close reason is the server's English: said as it is on an English page, else in the page's own
 *  words ("Su sesión terminó (signed out, expired or revoked)" on a Spanish tablet; a hostile review). */
function feedEnded(code, reason) {
  const english = language() === FALLBACK;
  if (code === CLOSE.UNAUTHENTICATED || code === CLOSE.SIGNED_OUT) {
    signedOut(!english ? t("refused.signed_out") : t(reason ? "tablet.sign_in_ended_why" : "tablet.sign_in_ended", { why: reason }));
    return;
  }
  show($("board-message"), (english && reason) || t("tablet.may_not_watch"), "error");
}

/** The server's clock, from heartbeats. A snapshot's `now` can be older (the server encodes a snapshot once
 *  per seq), so it only sets the clock until the first heartbeat; an event is never in the future. */
let clockFromHeartbeat = false;
function setClock(iso, { from = "heartbeat" } = {}) {
  const ms = parseTime(iso);
  if (!Number.isFinite(ms)) return;
  if (from === "heartbeat") {
    clockFromHeartbeat = true;
    board.offsetMs = ms - Date.now();
  } else if (from === "snapshot" ? !clockFromHeartbeat : ms > serverNow()) {
    board.offsetMs = ms - Date.now();
  }
}

function handle(msg) {
  try {
    apply(msg);
  } finally {
    lastHeard = serverNow();
  }
}

function apply(msg) {
  switch (msg.kind) {
    case "snapshot": {
      const b = msg.board;
      Object.assign(board, {
        name: String(b.name),
        timezone: b.timezone,
        clockSpeed: Number(b.clock_speed) || 1,
        seq: msg.seq,
        generation: board.generation + 1,
        rooms: new Map((b.rooms || []).map((r) => [r.id, r])),
        visits: new Map((b.visits || []).map((v) => [v.id, v])),
        providers: new Map((b.providers || []).map((p) => [p.id, p])),
        visitTypes: new Map((b.visit_types || []).map((vt) => [vt.code, vt])),
        thresholds: b.thresholds || {},
        delays: new Map((b.delays || []).map((d) => [d.provider, d])),
        presence: new Map((b.presence || []).map((p) => [p.provider, p])),
        plans: new Map((b.plans || []).map((p) => [p.visit, p])),
        alerts: new Map((b.alerts || []).map((a) => [a.id, a])),
      });
      setClock(b.now, { from: "snapshot" });
      paintWho(); // the sign-in's end on this clinic's clock
      fillWalkinChoices();
      fillProviderFilter();
      fillPresenceProviders();
      $("board-message").hidden = true;
      sendKeptAgain();
      break;
    }
    case "event":
      // Another tablet's tap (or Floor's own): what it moves on this screen moves under a finger that did not
      // expect it (lists.js markMoved). This tablet's own taps move cards the tapper is watching.
      if (!(msg.event?.actor === app.me?.id && msg.event?.device === app.me?.device)) movedElsewhere();
      board.seq = msg.seq;
      setClock(msg.event?.at, { from: "event" });
      if (msg.visit) putVisit(msg.visit, msg.plan);
      for (const r of msg.rooms || []) putRoom(r);
      if (msg.presence) board.presence.set(msg.presence.provider, msg.presence);
      if (msg.alert) board.alerts.set(msg.alert.id, msg.alert);
      if (msg.visit) detail.changed(msg.visit.id);
      break;
    case "heartbeat":
      setClock(msg.now);
      tick();
      return;
    case "delays":
    case "measures":
      board.delays = new Map((msg.delays || []).map((d) => [d.provider, d]));
      renderDelay();
      if (app.me) renderTabletAlerts(); // a cascade's minutes are the provider's delay
      return;
    default:
      return;
  }
  render();
}

addEventListener("offline", () => updateBanner());
addEventListener("online", () => {
  // The socket may have died quietly while the network was gone: start it again at once rather than wait
  // for its next retry (a fresh snapshot; taps waiting to be sent retry by themselves, see lib/api.js).
  if (app.token && board.clinic && feedMode !== "live") startFeed(board.clinic);
  updateBanner();
});

// -- the offline banner --------------------------------------------------------------------------------------

export function updateBanner() {
  const banner = $("offline");
  const waiting = [...pending.entries()].filter(([, p]) => p.waiting === "offline");
  const roomsWaiting = [...pendingRooms.entries()].filter(([, p]) => p.waiting === "offline");
  const browserOffline = navigator.onLine === false;
  const feedDown = wentDown && feedMode !== "live" && feedMode !== "stale";
  const off = Boolean(app.me) && (browserOffline || feedDown || waiting.length > 0 || roomsWaiting.length > 0 ||
    app.walkinPending?.waiting === "offline" || app.presencePending?.waiting === "offline" ||
    toasts.current?.waiting === "offline" ||
    [...sendingAgain.values()].some((r) => r.waiting === "offline"));
  if (off) {
    downSince ??= serverNow();
  } else if (!feedDown) {
    downSince = null;
  }
  banner.hidden = !off;
  paintLive(off, browserOffline);
  if (!off) return;
  // A live region: write only what changed, so a screen reader is not told the same thing again.
  setText($("offline-since"), t("offline.since", { time: clock(downSince) }));
  const heard = lastHeard ? ` ${t("offline.last_update", { time: clock(lastHeard) })}` : "";
  setText($("offline-detail"), `${t(browserOffline ? "offline.no_network" : "offline.dropped")} ${t("offline.out_of_date")}${heard} ` +
    t("offline.taps_kept"));
  const lines = [
    ...waiting.map(([id, p]) => t("offline.step_waiting", { name: board.visits.get(id)?.patient_name || id, step: stepDone(p.step, p.room) })),
    ...roomsWaiting.map(([id]) => t("offline.room_waiting", { room: roomLabel(id) })),
    ...(app.walkinPending?.waiting === "offline" ? [t("offline.walk_in_waiting", { name: app.walkinPending.name })] : []),
    ...(app.presencePending?.waiting === "offline" ? [t("offline.kept_waiting",
      { what: `${providerName(app.presencePending.provider)}: ${PRESENCE_LABEL[app.presencePending.status]}` })] : []),
    ...(toasts.current?.waiting === "offline" ? [t("offline.undo_waiting", { name: toasts.current.patient })] : []),
    ...[...sendingAgain.values()].filter((r) => r.waiting === "offline" && !r.visit).map((r) => t("offline.kept_waiting", { what: r.label })),
  ];
  if (lines.join("\n") !== [...$("offline-taps").children].map((li) => li.textContent).join("\n")) {
    $("offline-taps").replaceChildren(...lines.map((line) => el("li", { text: line })));
  }
}

/** The connection pill tells the truth: green only while the feed is live and nothing is offline; while the
 *  tablet has no network, or taps wait for it, it says so (the banner says more). */
function paintLive(off, browserOffline) {
  const mode = !off ? feedMode : feedMode === "connecting" ? "connecting" : "offline";
  const text = !off ? feedText : browserOffline ? t("conn.offline") : feedMode === "connecting" ? feedText
    : feedMode === "live" || feedMode === "stale" ? t("offline.not_reaching") : feedText;
  const live = $("live");
  if (live.className !== `live live-${mode}`) live.className = `live live-${mode}`;
  live.dataset.mode = mode;
  setText($("live-text"), text);
}
