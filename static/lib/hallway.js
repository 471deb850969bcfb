// What the hallway wall (board.js) and the waiting-room screen (waiting.js) share: the display's pairing
// (a code on screen until a manager enters it; the token kept in localStorage), the live feed through
// feed.js, the hallway state those messages build, and a clock that follows the server's.
//
// The hallway feed has no patient names; nothing here asks for anything that has them. All feed text goes
// into the page through textContent, never innerHTML.
//
// Both screens run all day without a reload, so the state here stays bounded: rooms and providers come
// from the clinic's configuration, visits leave it as soon as they end (checked out, no show, cancelled,
// left unseen), alerts as soon as they clear, and every snapshot replaces all of it.

import { $, el, titleCase } from "./dom.js";
import { CLOSE, openFeed } from "./feed.js";
import { language, t } from "./i18n.js";
import { ENDED, IN_ROOM } from "./stages.js";

/** A provider marked away by a presence tap: "running_late" (to clinic) or "stepped_away". */
const AWAY = new Set(["running_late", "stepped_away"]);

export { ENDED, IN_ROOM };
/** The clinic threshold that limits the minutes a patient spends in each stage (floor/core/alerts.py). */
export const DWELL_THRESHOLD = {
  arrived: "waiting_to_be_roomed",
  roomed: "waiting_for_prep",
  prep_done: "waiting_for_provider",
  teach_back_done: "waiting_for_checkout",
};

// -- small DOM helpers: write only what changed, so a render every second costs almost nothing -----

export { $, el };

export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function setClass(node, className) {
  if (node.className !== className) node.className = className;
}

export function setAttr(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

/** Milliseconds since the epoch of an ISO 8601 instant (msgspec sends microseconds; trim to millis). */
export function parseTime(iso) {
  if (typeof iso !== "string") return NaN;
  return Date.parse(iso.replace(/(\.\d{3})\d+/, "$1"));
}

export function minutesText(ms) {
  const total = Math.max(0, Math.floor(ms / 60000));
  if (total < 60) return t("time.min", { n: total });
  return t("time.h_min", { h: Math.floor(total / 60), m: String(total % 60).padStart(2, "0") });
}

export { titleCase };

/** Clock formatters in the clinic's time zone (the browser's if the zone is unknown to it), in the
 * language shown (lib/i18n.js). */
export function clinicFormats(timezone) {
  const make = (options) => {
    try {
      return new Intl.DateTimeFormat(language(), { ...options, timeZone: timezone });
    } catch {
      return new Intl.DateTimeFormat(language(), options);
    }
  };
  return {
    time: make({ hour: "numeric", minute: "2-digit" }),
    date: make({ weekday: "short", month: "short", day: "numeric" }),
  };
}

// -- the server's clock --------------------------------------------------------------------------

const RATE_WINDOW_MIN_MS = 5000; // two samples closer than this say little about the clock's rate
const RATE_WINDOW_MAX_MS = 300000; // nor do two this far apart (the screen may have slept between)
const BACK_STEP_MS = 5 * 60000; // a correction back by less than this holds the time still instead

/**
 * The server's time, counted on locally between its samples (a snapshot's or heartbeat's `now`, an
 * update's `at`). Screens count minutes up every second from this, with no message from the server.
 *
 * It also learns the server clock's rate from its heartbeats: 1 for a real clinic, 30 for `floor demo`
 * (whose day runs 30 times faster). A rate is taken only when two measurements in a row agree, so one
 * odd gap (a screen that slept) does not throw it off; within 5% of 1 it is 1.
 */
export class ServerClock {
  constructor() {
    this.base = NaN; // server time at `baseAt` (performance.now())
    this.baseAt = 0;
    this.rate = 1;
    this.refServer = NaN; // the last sample that measured the rate
    this.refAt = 0;
    this.candidate = NaN; // the last rate measured, adopted once the next one agrees
    this.shown = -Infinity; // the latest time now() returned
  }

  get known() {
    return Number.isFinite(this.base);
  }

  /** A sample of the server's time as it is now (a heartbeat): sets the time, and measures the rate. */
  sample(t) {
    if (!Number.isFinite(t)) return;
    const at = performance.now();
    if (Number.isFinite(this.refServer)) {
      const elapsed = at - this.refAt;
      if (elapsed < RATE_WINDOW_MIN_MS) {
        this.set(t, at);
        return;
      }
      if (elapsed <= RATE_WINDOW_MAX_MS) {
        let rate = (t - this.refServer) / elapsed;
        if (Math.abs(rate - 1) < 0.05) rate = 1;
        if (rate > 0 && rate <= 1000) {
          if (Math.abs(rate - this.candidate) <= 0.1 * this.candidate) this.rate = rate;
          this.candidate = rate;
        }
      }
    }
    this.refServer = t;
    this.refAt = at;
    this.set(t, at);
  }

  /** A time the server had at least reached (an update's `at`, a snapshot's `now`, which the server may
   * have cached): moves the clock forward, never back, and says nothing about the rate. */
  nudge(t) {
    if (!Number.isFinite(t)) return;
    if (!this.known) {
      this.refServer = t;
      this.refAt = performance.now();
      this.set(t, this.refAt);
    } else if (t > this.estimate()) {
      this.set(t, performance.now());
    }
  }

  set(t, at) {
    this.base = t;
    this.baseAt = at;
    if (t < this.shown - BACK_STEP_MS) this.shown = -Infinity; // a real jump back: follow it
  }

  estimate() {
    return this.base + (performance.now() - this.baseAt) * this.rate;
  }

  /** The server's time now (the browser's until the first sample); never a little behind the last reading. */
  now() {
    if (!this.known) return Date.now();
    const t = this.estimate();
    if (t < this.shown) return this.shown;
    this.shown = t;
    return t;
  }
}

// -- the hallway state ---------------------------------------------------------------------------

export const APPLIED = "applied";
export const IGNORED = "ignored";
export const RESYNC = "resync"; // out of step: the page should ask the feed for a fresh snapshot

function slimVisit(v) {
  return {
    token: String(v.token),
    provider: String(v.provider),
    stage: String(v.stage),
    room: v.room == null ? null : String(v.room),
    since: parseTime(v.since),
  };
}

function slimRoom(r) {
  return {
    id: String(r.id),
    label: String(r.label),
    zone: String(r.zone),
    state: String(r.state),
    reason: typeof r.reason === "string" ? r.reason : "",
    visit: r.visit == null ? null : String(r.visit),
    since: r.since == null ? NaN : parseTime(r.since),
  };
}

function slimAlert(a) {
  return {
    id: String(a.id),
    kind: String(a.kind),
    raisedAt: parseTime(a.raised_at),
    acknowledged: Boolean(a.acknowledged),
    provider: a.provider == null ? null : String(a.provider),
    visit: a.visit == null ? null : String(a.visit),
    stage: a.stage == null ? null : String(a.stage),
    lateness: typeof a.lateness === "number" ? a.lateness : null,
    minutes: typeof a.minutes === "number" ? a.minutes : null,
    limit: typeof a.limit === "number" ? a.limit : null,
  };
}

/** One clinic's hallway as the feed describes it. Bounded: see the top of this file. */
export class HallwayState {
  constructor() {
    this.clock = new ServerClock(); // survives resets: the server's time does not change with a snapshot
    this.rooms = new Map(); // id -> room
    this.visits = new Map(); // token -> visit, only visits still on the floor (not ended)
    this.alerts = new Map(); // id -> alert, only active ones
    this.delays = new Map(); // provider initials -> {lateness, recoversAt}
    this.names = new Map(); // provider initials -> name as the clinic configured it ("" if not sent)
    this.providers = []; // initials, in the clinic's order, then any others seen on visits
    this.overVisits = new Set(); // tokens of visits with an active dwell alert
    this.lateProviders = new Set(); // initials of providers with an active cascade alert
    this.reset();
  }

  reset() {
    this.seq = null; // the seq of the last snapshot or update applied; null until a snapshot
    this.clinic = "";
    this.name = "";
    this.timezone = undefined;
    this.day = null;
    this.thresholds = {};
    this.languages = [];
    this.alternateSeconds = 10;
    this.stale = false;
    this.rooms.clear();
    this.visits.clear();
    this.alerts.clear();
    this.delays.clear();
    this.names.clear();
    this.providers.length = 0;
    this.providersVersion = 0; // bumps when the list of providers changes
    this.roomsVersion = 0; // bumps when a snapshot brings rooms (labels, zones)
    this.deriveAlerts();
  }

  get loaded() {
    return this.seq !== null;
  }

  now() {
    return this.clock.now();
  }

  /** Apply one feed message; APPLIED, IGNORED (old, or not ours), or RESYNC (out of step). */
  apply(msg) {
    switch (msg && msg.kind) {
      case "snapshot":
        this.load(msg.seq, msg.board);
        return APPLIED;
      case "update":
        if (this.seq === null) return RESYNC;
        if (msg.seq <= this.seq) return IGNORED; // already have it
        if (msg.seq !== this.seq + 1) return RESYNC; // missed one
        this.seq = msg.seq;
        this.update(msg);
        return APPLIED;
      case "heartbeat":
        this.clock.sample(parseTime(msg.now));
        this.stale = Boolean(msg.stale);
        // Every update reaches a socket before a later heartbeat: one ahead of us means we missed some.
        if (this.seq !== null && msg.seq > this.seq) return RESYNC;
        return APPLIED;
      case "delays":
        if (this.seq === null) return IGNORED;
        this.setDelays(msg.delays);
        return APPLIED;
      default:
        return IGNORED;
    }
  }

  load(seq, board) {
    this.seq = seq;
    this.clinic = String(board.clinic);
    this.name = String(board.name);
    this.timezone = board.timezone;
    this.day = board.day;
    this.thresholds = board.thresholds || {};
    this.languages = Array.isArray(board.languages) ? board.languages.map(String) : [];
    this.alternateSeconds = Number(board.alternate_seconds) || 10;
    this.stale = Boolean(board.stale);
    // The zone the server sends this wall, as it is paired now: a manager may have moved it since it paired.
    if (display.token && "zone" in board) keepZone(board.zone);
    this.rooms.clear();
    for (const r of board.rooms || []) this.rooms.set(String(r.id), slimRoom(r));
    this.roomsVersion += 1;
    this.visits.clear();
    for (const v of board.visits || []) {
      if (!ENDED.has(String(v.stage))) this.visits.set(String(v.token), slimVisit(v));
    }
    this.alerts.clear();
    for (const a of board.alerts || []) if (a.active) this.alerts.set(String(a.id), slimAlert(a));
    this.deriveAlerts();
    this.delays.clear();
    // A snapshot's providers are the clinic's now: one taken out (or whose initials changed) since the last snapshot
    // keeps no row (a manager's change of the providers is sent as a snapshot).
    this.names.clear();
    if (this.providers.length) {
      this.providers.length = 0;
      this.providersVersion += 1;
    }
    this.setDelays(board.delays);
    for (const v of this.visits.values()) this.addProvider(v.provider);
    this.clock.nudge(parseTime(board.now));
  }

  update(msg) {
    if (msg.visit) {
      const v = slimVisit(msg.visit);
      if (ENDED.has(v.stage)) this.visits.delete(v.token);
      else {
        this.visits.set(v.token, v);
        this.addProvider(v.provider);
      }
    }
    // A zone's display: a visit that went to another zone's room is no longer shown here, nor its alerts (this
    // zone is not told of them again: a "waiting to be roomed" alert raised here stayed all day once the patient
    // was roomed in another zone and it cleared there).
    if (msg.gone != null) {
      const gone = String(msg.gone);
      this.visits.delete(gone);
      let dropped = false;
      for (const [id, a] of this.alerts) {
        if (a.visit === gone) dropped = this.alerts.delete(id) || dropped;
      }
      if (dropped) this.deriveAlerts();
    }
    for (const r of msg.rooms || []) this.rooms.set(String(r.id), slimRoom(r));
    if (msg.alert) {
      if (msg.alert.active) this.alerts.set(String(msg.alert.id), slimAlert(msg.alert));
      else this.alerts.delete(String(msg.alert.id));
      this.deriveAlerts();
    }
    if (msg.presence) {
      // A presence tap: the provider is marked running late or away (or back), before the next delays tick.
      const initials = String(msg.presence.provider);
      const entry = this.delays.get(initials);
      if (entry) entry.away = AWAY.has(msg.presence.away) ? msg.presence.away : null;
    }
    this.clock.nudge(parseTime(msg.at));
  }

  setDelays(delays) {
    const seen = new Set();
    let same = true;
    let i = 0;
    for (const d of delays || []) {
      const initials = String(d.provider);
      seen.add(initials);
      let entry = this.delays.get(initials);
      if (!entry) this.delays.set(initials, (entry = { lateness: 0, recoversAt: NaN, away: null }));
      entry.lateness = Number(d.lateness) || 0;
      entry.away = AWAY.has(d.away) ? d.away : null;
      entry.recoversAt = parseTime(d.recovers_at);
      if (typeof d.name === "string" && d.name) this.names.set(initials, d.name);
      if (this.providers[i] !== initials) same = false;
      i += 1;
    }
    for (const initials of this.delays.keys()) if (!seen.has(initials)) this.delays.delete(initials);
    if (same) return;
    // The clinic's providers in its order, then anyone else seen on a visit (there should be nobody).
    const rest = this.providers.filter((p) => !seen.has(p));
    this.providers.length = 0;
    this.providers.push(...seen, ...rest);
    this.providersVersion += 1;
  }

  addProvider(initials) {
    if (this.providers.includes(initials)) return;
    this.providers.push(initials);
    this.providersVersion += 1;
  }

  deriveAlerts() {
    this.overVisits.clear();
    this.lateProviders.clear();
    for (const a of this.alerts.values()) {
      if (a.kind === "dwell" && a.visit) this.overVisits.add(a.visit);
      if (a.kind === "cascade" && a.provider) this.lateProviders.add(a.provider);
    }
  }

  /** Minutes allowed in a stage before it is too long (undefined: no limit for that stage). */
  limitFor(stage) {
    const name = DWELL_THRESHOLD[stage];
    const limit = name ? this.thresholds[name] : undefined;
    return typeof limit === "number" ? limit : undefined;
  }

  /** Minutes a room may stay in turnover before the wall shows it red (clinic `thresholds.turnover`). */
  get turnoverLimit() {
    const limit = this.thresholds.turnover;
    return typeof limit === "number" ? limit : undefined;
  }

  /** Whether a room has been in turnover past the clinic's limit. */
  isTurnoverOver(room, now) {
    const limit = this.turnoverLimit;
    return room.state === "turnover" && limit !== undefined && Number.isFinite(room.since) &&
      now - room.since >= limit * 60000;
  }

  /**
   * How urgent an active alert is: the minutes a patient has waited, or will wait, beyond what is normal.
   *   - dwell: the minutes the visit has been in its stage past that stage's limit, now;
   *   - cascade: how late the provider runs now (each of their later patients waits about that long);
   *   - any other kind: 0.
   * Whole minutes, so the order does not flicker as seconds pass.
   */
  urgency(alert, now) {
    if (alert.kind === "cascade") {
      const d = alert.provider ? this.delays.get(alert.provider) : undefined;
      const late = d ? d.lateness : alert.lateness;
      return Math.max(0, Math.floor(Number(late) || 0));
    }
    if (alert.kind === "dwell") {
      const v = alert.visit ? this.visits.get(alert.visit) : undefined;
      const limit = alert.limit ?? this.limitFor(alert.stage) ?? 0;
      const waited = v && v.stage === alert.stage && Number.isFinite(v.since) ? (now - v.since) / 60000 : alert.minutes;
      return Math.max(0, Math.floor((Number(waited) || 0) - limit));
    }
    return 0;
  }

  /**
   * The wall's order of alerts, most urgent first (a sort comparator; `now` the clock's time). In order:
   *   1. not yet acknowledged before "seen by staff" (someone is already on those);
   *   2. more minutes of `urgency` first: a patient 25 minutes past a 15-minute wait comes before a provider
   *      running 12 minutes late, and a provider running 30 minutes late before a patient 5 minutes over;
   *   3. on equal minutes, a cascade (several patients) before one patient's wait, then the older alert.
   */
  compareUrgency(a, b, now) {
    if (a.acknowledged !== b.acknowledged) return a.acknowledged ? 1 : -1;
    const more = this.urgency(b, now) - this.urgency(a, now);
    if (more !== 0) return more;
    if ((a.kind === "cascade") !== (b.kind === "cascade")) return a.kind === "cascade" ? -1 : 1;
    return a.raisedAt - b.raisedAt;
  }

  /** Whether a visit has been in its stage past the clinic's limit (or the server raised a dwell alert). */
  isOver(visit, now) {
    if (this.overVisits.has(visit.token)) return true;
    const limit = this.limitFor(visit.stage);
    return limit !== undefined && Number.isFinite(visit.since) && now - visit.since >= limit * 60000;
  }
}

// -- the display's pairing, kept across reloads and shared by the wall and the waiting room ---------

const STORE = { token: "floor.display.token", clinic: "floor.display.clinic", zone: "floor.display.zone" };

const stored = {
  get(key) {
    try {
      return localStorage.getItem(key);
    } catch {
      return null; // storage blocked: the display pairs again after each reload
    }
  },
  set(key, value) {
    try {
      if (value == null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch {
      /* see get */
    }
  },
};

export const display = {
  token: stored.get(STORE.token),
  clinic: stored.get(STORE.clinic),
  zone: stored.get(STORE.zone) || null,
};

function keepDisplay(token, info) {
  display.token = String(token);
  display.clinic = String(info.clinic);
  display.zone = info.zone == null || info.zone === "" ? null : String(info.zone);
  stored.set(STORE.token, display.token);
  stored.set(STORE.clinic, display.clinic);
  stored.set(STORE.zone, display.zone);
}

function keepZone(zone) {
  display.zone = zone == null || zone === "" ? null : String(zone);
  stored.set(STORE.zone, display.zone);
}

function forgetDisplay() {
  display.token = display.clinic = display.zone = null;
  for (const key of Object.values(STORE)) stored.set(key, null);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(path, body) {
  const res = await fetch(path, {
    method: "POST",
    cache: "no-store",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await res.json();
  } catch {
    /* no body, or not JSON */
  }
  return { status: res.status, data, retryAfter: Number(res.headers.get("Retry-After")) || 0 };
}

const PAIR_BACKOFF_MIN_MS = 1000;
const PAIR_BACKOFF_MAX_MS = 15000;
const CLAIM_EVERY_MS = 2000; // how often a waiting display asks whether its code was entered

const formatCode = (code) => (code.length === 6 ? `${code.slice(0, 3)} ${code.slice(3)}` : code);

/**
 * Run a display screen: pair it if it has no token (#pairing, #pairing-code, #pairing-status and
 * #pairing-notice in the page), then follow the hallway feed into `state`.
 *
 *   onStatus(mode, text): mode "live" | "connecting" | "offline" | "stale" (the #conn indicator)
 *   onChange(kind): after a message changed `state` ("snapshot", "update", "heartbeat", "delays"), and
 *                   with "reset" when the screen goes back to pairing
 *   onPairing(active): the pairing screen shows or hides
 */
export function runDisplay({ state, onStatus, onChange, onPairing = () => {} }) {
  let feed = null;
  const pairing = { active: false, run: 0, code: null, claim: null, expiresAt: NaN };

  function onMessage(msg) {
    const result = state.apply(msg);
    if (result === RESYNC) {
      if (feed) feed.restart(); // reconnect without `since`: a fresh snapshot
      return;
    }
    if (result === APPLIED) onChange(msg.kind);
  }

  function onEnded(code) {
    feed = null;
    forgetDisplay();
    const why = code === CLOSE.FORBIDDEN ? t("pairing.other_clinic") : t("pairing.signed_out");
    startPairing(t("pairing.again", { why }));
  }

  function startLive() {
    feed = openFeed({ clinic: display.clinic, token: () => display.token, onMessage, onStatus, onEnded });
  }

  function renderPairing(notice) {
    $("pairing").hidden = !pairing.active;
    document.body.classList.toggle("is-pairing", pairing.active);
    if (!pairing.active) return;
    if (notice !== undefined) {
      $("pairing-notice").hidden = !notice;
      setText($("pairing-notice"), notice);
    }
    const code = $("pairing-code");
    setText(code, pairing.code ? formatCode(pairing.code) : "\u00a0");
    if (pairing.code) code.setAttribute("aria-label", t("pairing.code_label", { code: pairing.code.split("").join(" ") }));
    else code.removeAttribute("aria-label");
  }

  function status(text) {
    setText($("pairing-status"), text);
  }

  function startPairing(notice = "") {
    if (feed) feed.close();
    feed = null;
    state.reset();
    onChange("reset");
    Object.assign(pairing, { active: true, run: pairing.run + 1, code: null, claim: null, expiresAt: NaN });
    onPairing(true);
    onStatus("connecting", t("conn.not_paired"));
    renderPairing(notice);
    status(t("pairing.getting"));
    pairLoop(pairing.run);
  }

  function stopPairing() {
    Object.assign(pairing, { active: false, run: pairing.run + 1, code: null, claim: null });
    renderPairing("");
    onPairing(false);
  }

  async function pairLoop(run) {
    let backoff = PAIR_BACKOFF_MIN_MS;
    const current = () => pairing.run === run;
    while (current()) {
      // 1. A fresh code to show.
      if (!pairing.claim) {
        let answer;
        try {
          answer = await post("/api/displays/pairings");
        } catch {
          answer = null;
        }
        if (!current()) return;
        if (!answer || answer.status !== 201 || !answer.data || !answer.data.code) {
          const wait = answer && answer.retryAfter ? answer.retryAfter * 1000 : backoff;
          backoff = Math.min(PAIR_BACKOFF_MAX_MS, backoff * 2);
          const why = (!answer
            ? t("pairing.cannot_reach")
            : (answer.data && answer.data.message) || t("pairing.server_answered", { status: answer.status }))
            .replace(/[.\s]+$/, ""); // the sentence goes on: "{why}. Trying again in …"
          status(t("pairing.retry", { why, seconds: Math.ceil(wait / 1000) }));
          onStatus("offline", t("conn.no_code"));
          await sleep(wait);
          continue;
        }
        backoff = PAIR_BACKOFF_MIN_MS;
        pairing.code = String(answer.data.code);
        pairing.claim = String(answer.data.claim);
        // The server's clock decides how long the code works; the wall counts that down on its own clock, which
        // may be minutes off the server's (a TV's often is): from expires_in, not from expires_at.
        const left = Number(answer.data.expires_in);
        pairing.expiresAt = Number.isFinite(left) && left > 0 ? Date.now() + left * 1000 : parseTime(answer.data.expires_at);
        onStatus("connecting", t("conn.waiting_pairing"));
        renderPairing();
        tickPairing();
      }
      // 2. Ask whether a manager entered it.
      await sleep(CLAIM_EVERY_MS);
      if (!current()) return;
      let answer;
      try {
        answer = await post("/api/displays/pairings/claim", { claim: pairing.claim });
      } catch {
        answer = null;
      }
      if (!current()) return;
      if (!answer) {
        status(t("pairing.still_trying"));
        onStatus("offline", t("conn.offline"));
        continue;
      }
      if (answer.status === 200 && answer.data && answer.data.token && answer.data.display) {
        keepDisplay(answer.data.token, answer.data.display);
        stopPairing();
        startLive();
        return;
      }
      if (answer.status === 202) {
        onStatus("connecting", t("conn.waiting_pairing"));
        continue;
      }
      if (answer.status === 404) {
        pairing.claim = pairing.code = null; // expired or already used: a new code
        renderPairing();
        status(t("pairing.expired"));
        continue;
      }
      if (answer.status === 429) {
        await sleep((answer.retryAfter || 5) * 1000);
        continue;
      }
      // Anything else (400 for a malformed claim, 5xx): start over with a new code, slowly.
      pairing.claim = pairing.code = null;
      const why = ((answer.data && answer.data.message) || t("pairing.server_answered", { status: answer.status }))
        .replace(/[.\s]+$/, "");
      status(t("pairing.new_code", { why }));
      await sleep(backoff);
      backoff = Math.min(PAIR_BACKOFF_MAX_MS, backoff * 2);
    }
  }

  /** Once a second: how long the code shown still works. */
  function tickPairing() {
    if (!pairing.active || !pairing.code || !Number.isFinite(pairing.expiresAt)) return;
    const left = Math.max(0, Math.ceil((pairing.expiresAt - Date.now()) / 1000));
    status(t("pairing.waiting", { left: `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}` }));
  }

  if (display.token && display.clinic) startLive();
  else startPairing();

  return {
    tickPairing,
    get pairing() {
      return pairing.active;
    },
  };
}
