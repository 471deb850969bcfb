// The live feed, the same way for every screen: connect, say who we are (first message, never the URL),
// take a snapshot or the missed updates, keep the last seq and its mark, and on any drop reconnect with
// ?since=SEQ&mark=MARK after a growing, jittered wait (a log that lost that event answers with a snapshot).
// What the messages mean is the page's business (onMessage).
//
//   const feed = openFeed({ clinic, token: () => stored.token, onMessage, onStatus, onEnded });
//   feed.close();
//
// onStatus(mode, text): mode is "connecting" | "live" | "offline" | "stale" (the server cannot reach its
// shared log). onEnded(code, reason): the sign-in is no longer good (4401, 1008) or the screen may not
// watch this clinic (4403); the feed stops and the page decides (sign in again, pair again).

// The close codes come from the server's one table (floor/close_codes.py), generated into close-codes.js.
import { CLOSE } from "./close-codes.js";
import { t } from "./i18n.js";

export { CLOSE };

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;
// After a restart the server is back within seconds: keep trying about every second for a while, so that
// thousands of walls are back in step soon after it is (loadtests/fanout.py --storm), not 15 s later.
const RESTART_BACKOFF_MAX_MS = 1000;
const RESTART_WINDOW_MS = 60000;
const SLOW_RETRY_MS = 60000; // an unknown clinic: only try again slowly
const SILENCE_MS = 45000; // heartbeats come every ~15 s; this long without any message means a dead link
const SETTLE_MS = 1500; // a socket still open this long after its auth message was accepted

export function feedUrl(clinic, since, mark, setup) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  let query = since === null || since === undefined ? "" : `?since=${since}`;
  if (query && typeof mark === "string" && /^[0-9a-f]{16}$/.test(mark)) query += `&mark=${mark}`;
  // The clinic set-up the screen drew: a server restarted with a changed clinic file sends a snapshot.
  if (query && typeof setup === "string" && /^[0-9a-f]{16}$/.test(setup)) query += `&setup=${setup}`;
  return `${scheme}//${location.host}/api/clinics/${encodeURIComponent(clinic)}/live${query}`;
}

export function openFeed({ clinic, token, onMessage, onStatus = () => {}, onEnded = () => {} }) {
  let socket = null;
  let seq = null; // the last seq this screen has applied (a snapshot's, or an update's)
  let mark = null; // the mark of the event at that seq, as the server sent it
  let setup = null; // the clinic set-up of the last snapshot (rooms, providers, visit types)
  let backoff = BACKOFF_MIN_MS;
  let restartedAt = -Infinity;
  let retryTimer = null;
  let silenceTimer = null;
  let settleTimer = null;
  let closed = false;
  let live = false;

  const status = (mode, text) => onStatus(mode, text);

  function watchSilence() {
    clearTimeout(silenceTimer);
    silenceTimer = setTimeout(() => {
      status("offline", t("feed.silent"));
      // A dead link may take minutes to report its close: drop it and dial again now.
      const dead = socket;
      socket = null;
      clearTimeout(settleTimer);
      live = false;
      if (dead) dead.close(4000, "silent");
      if (!closed) retryTimer = setTimeout(connect, backoff * (0.5 + Math.random()));
    }, SILENCE_MS);
  }

  function goLive() {
    if (live) return;
    live = true;
    backoff = BACKOFF_MIN_MS;
    status("live", t("conn.live"));
  }

  function connect() {
    if (closed) return;
    const current = token();
    if (!current) {
      onEnded(CLOSE.UNAUTHENTICATED, "not signed in");
      return;
    }
    live = false;
    status("connecting", t(seq === null ? "feed.connecting" : "feed.reconnecting"));
    const ws = new WebSocket(feedUrl(clinic, seq, mark, setup));
    socket = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "auth", token: current }));
      watchSilence();
      // Resuming at the latest seq brings no message until the next heartbeat; an open socket is live.
      settleTimer = setTimeout(() => ws === socket && goLive(), SETTLE_MS);
    };
    ws.onmessage = (event) => {
      if (ws !== socket) return;
      watchSilence();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.kind === "snapshot" || message.kind === "event" || message.kind === "update") {
        seq = message.seq;
        mark = message.mark || null;
        if (message.kind === "snapshot") setup = message.setup || null;
      }
      if (message.kind === "heartbeat" || message.kind === "snapshot") {
        const stale = message.kind === "heartbeat" ? message.stale : message.board && message.board.stale;
        if (stale) {
          live = false;
          status("stale", t("feed.stale"));
        } else {
          live = false;
          goLive();
        }
      } else {
        goLive();
      }
      onMessage(message);
    };
    ws.onclose = (event) => {
      if (ws !== socket) return;
      socket = null;
      clearTimeout(silenceTimer);
      clearTimeout(settleTimer);
      live = false;
      if (closed) return;
      const code = event.code;
      if (code === CLOSE.SIGNED_OUT || code === CLOSE.UNAUTHENTICATED || code === CLOSE.FORBIDDEN) {
        closed = true;
        status("offline", event.reason || t("feed.signed_out"));
        onEnded(code, event.reason || "");
        return;
      }
      let wait;
      if (code === CLOSE.UNKNOWN_CLINIC || code === CLOSE.BAD_PARAMETER) {
        wait = SLOW_RETRY_MS;
        status("offline", event.reason || t("feed.unknown_clinic"));
      } else if (code === CLOSE.RESTART || code === CLOSE.TOO_SLOW) {
        if (code === CLOSE.RESTART) restartedAt = Date.now();
        // A stopping server says when to come back (retry=MS), spreading its screens over a few seconds so
        // that they do not all dial at once; without it, soon but not all at once.
        const told = code === CLOSE.RESTART && /retry=(\d+)/.exec(event.reason || "");
        wait = told ? Math.min(Number(told[1]), 60000) + Math.random() * 200 : 200 + Math.random() * 800;
        status("offline", t(code === CLOSE.RESTART ? "feed.restarting" : "feed.catching_up"));
      } else {
        wait = backoff * (0.5 + Math.random());
        const cap = Date.now() - restartedAt < RESTART_WINDOW_MS ? RESTART_BACKOFF_MAX_MS : BACKOFF_MAX_MS;
        backoff = Math.min(cap, backoff * 2);
        status("offline", t("feed.lost"));
      }
      retryTimer = setTimeout(connect, wait);
    };
  }

  connect();
  return {
    get seq() {
      return seq;
    },
    /** Start over with a fresh snapshot (after a sign-in, or to drop what the page holds). */
    restart() {
      seq = null;
      mark = null;
      setup = null;
      if (socket) socket.close(4000, "restart");
    },
    close() {
      closed = true;
      clearTimeout(retryTimer);
      clearTimeout(silenceTimer);
      clearTimeout(settleTimer);
      if (socket) socket.close(1000, "bye");
      socket = null;
    },
  };
}
