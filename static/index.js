// The tablet page: sign in, see the clinic's board live, sign out; managers also pair wall displays.
// The sign-in token lives in sessionStorage (gone when the tab closes) and goes out only as
// `Authorization: Bearer` on fetches and in the live socket's first message, never in a URL.
// Text from the server goes into the page through textContent, never innerHTML.

const TOKEN_KEY = "floor.tablet.token"; // sessionStorage
const DEVICE_KEY = "floor.tablet.device"; // localStorage: the tablet's name, kept across sign-ins
const CLINIC_KEY = "floor.tablet.clinic"; // localStorage: the clinic last looked at

const ROLE_LABEL = {
  front_desk: "Front desk",
  medical_assistant: "Medical assistant",
  provider: "Provider",
  manager: "Manager",
};

const STAGE_LABEL = {
  scheduled: "Scheduled",
  arrived: "Arrived",
  roomed: "Roomed",
  prep_done: "Prep done",
  provider_in: "With provider",
  teach_back_done: "Teach-back done",
  checked_out: "Checked out",
  no_show: "No show",
  cancelled: "Cancelled",
  left_without_being_seen: "Left unseen",
};
const FINISHED = new Set(["checked_out", "no_show", "cancelled", "left_without_being_seen"]);
const ROOM_STATE_LABEL = { ready: "Ready", occupied: "Occupied", turnover: "Turnover", blocked: "Blocked" };

const DEVICE_PATTERN = /^[\w .:-]+$/;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 15000;
const SILENCE_MS = 45000;

const $ = (id) => document.getElementById(id);

const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
};

const titleCase = (s) => String(s).replace(/[_-]+/g, " ").replace(/\b\w/g, (c) => c.toUpperCase());

function parseTime(iso) {
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
const session = storage("sessionStorage");
const local = storage("localStorage");

function show(node, text, kind) {
  node.textContent = text || "";
  node.hidden = !text;
  if (kind) node.className = `message ${kind}`;
}

// -- talking to the server -----------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

let token = session.get(TOKEN_KEY);
let me = null; // {id, name, role, device, expires_at}

/** A JSON request with the sign-in token. A 401 signs this page out (with the server's message); any
 *  other refusal becomes an ApiError carrying the server's `message`. */
async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "Cannot reach the server. Check the network and try again.");
  }
  let data = null;
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (res.ok) return data;
  const message = (data && typeof data.message === "string" && data.message) || `The server answered ${res.status}.`;
  if (res.status === 401 && token) signedOut(message);
  throw new ApiError(res.status, message, data);
}

// -- signing in and out --------------------------------------------------------------------------

function showSignIn(message, kind = "error") {
  me = null;
  $("app").hidden = true;
  $("who").hidden = true;
  $("notice").hidden = true;
  $("sign-in").hidden = false;
  show($("sign-in-message"), message, kind);
  $("secret").value = "";
  $("device").value = $("device").value || local.get(DEVICE_KEY) || "";
  document.title = "Sign in · Floor";
  const first = $("staff").value ? $("secret") : $("staff");
  first.focus();
}

/** The token stopped working (or we signed out): forget it and everything it showed. */
function signedOut(message, kind = "error") {
  token = null;
  session.set(TOKEN_KEY, null);
  stopLive();
  clinics = [];
  zonesOf.clear();
  // Nothing the sign-in showed stays on the page: the board had patient names.
  Object.assign(board, { clinic: null, name: "", seq: null, rooms: new Map(), visits: new Map(), providers: new Map() });
  renderBoard();
  $("board-title").textContent = "Board";
  $("board-message").hidden = true;
  $("pair-message").hidden = true;
  $("pair-form").reset();
  showSignIn(message, kind);
}

function showSignedIn() {
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  const role = ROLE_LABEL[me.role] || titleCase(me.role || "staff");
  const until = Number.isFinite(parseTime(me.expires_at))
    ? new Date(parseTime(me.expires_at)).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" })
    : "";
  $("who-text").replaceChildren(
    "Signed in as ",
    el("strong", "", me.name || me.id),
    ` (${me.id}) · `,
    el("span", "role", role),
    ` · on ${me.device}${until ? ` · until ${until}` : ""}`,
  );
  $("pair").hidden = me.role !== "manager";
  document.title = "Floor";
}

$("device").value = local.get(DEVICE_KEY) || "";
$("device").addEventListener("input", () => $("device").setCustomValidity(""));

$("sign-in-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const staff = $("staff").value.trim().toLowerCase();
  const secret = $("secret").value;
  const device = $("device").value.trim();
  if (device && !DEVICE_PATTERN.test(device)) {
    $("device").setCustomValidity("Use letters, digits, spaces, dots, colons, dashes or underscores.");
    $("device").reportValidity();
    return;
  }
  const button = $("sign-in-button");
  button.disabled = true;
  button.textContent = "Signing in…";
  show($("sign-in-message"), "");
  try {
    const signed = await api("POST", "/api/sign-in", { staff, secret, device });
    token = String(signed.token);
    session.set(TOKEN_KEY, token);
    local.set(DEVICE_KEY, device);
    me = { id: signed.staff, name: signed.name, role: signed.role, device, expires_at: signed.expires_at };
    $("secret").value = "";
    await enter();
  } catch (err) {
    show($("sign-in-message"), err.message, "error");
    $("secret").value = "";
    $("secret").focus();
  } finally {
    button.disabled = false;
    button.textContent = "Sign in";
  }
});

$("sign-out").addEventListener("click", async () => {
  const button = $("sign-out");
  button.disabled = true;
  try {
    await api("POST", "/api/sign-out");
    $("staff").value = ""; // the next person on this tablet types their own
    signedOut("You are signed out.", "info");
  } catch (err) {
    if (err.status === 401) return; // already signed out by api()
    show($("notice"), `Could not sign out: ${err.message}`, "error");
  } finally {
    button.disabled = false;
  }
});

// -- after signing in: clinics, the board, pairing -----------------------------------------------

let clinics = [];

async function enter() {
  showSignedIn();
  $("board-title").focus();
  try {
    clinics = await api("GET", "/api/clinics");
  } catch (err) {
    if (err.status !== 401) show($("board-message"), `Could not list clinics: ${err.message}`, "error");
    return;
  }
  if (!Array.isArray(clinics) || clinics.length === 0) {
    show($("board-message"), "No clinics are configured on this server.", "error");
    return;
  }
  const options = () => clinics.map((c) => {
    const o = el("option", "", c.name);
    o.value = c.id;
    return o;
  });
  const wanted = local.get(CLINIC_KEY);
  const chosen = clinics.some((c) => c.id === wanted) ? wanted : clinics[0].id;
  $("clinic").replaceChildren(...options());
  $("clinic").value = chosen;
  $("clinic-field").hidden = clinics.length < 2;
  if (me.role === "manager") {
    $("pair-clinic").replaceChildren(...options());
    $("pair-clinic").value = chosen;
    loadZones(chosen);
  }
  startLive(chosen);
}

$("clinic").addEventListener("change", () => {
  local.set(CLINIC_KEY, $("clinic").value);
  startLive($("clinic").value);
});

// -- the board: a snapshot, then events over the live socket --------------------------------------

const board = {
  clinic: null,
  name: "",
  timezone: undefined,
  day: null,
  seq: null,
  offsetMs: 0,
  rooms: new Map(),
  visits: new Map(),
  providers: new Map(),
  visitTypes: new Map(),
};

let socket = null;
let retryTimer = null;
let backoffMs = BACKOFF_MIN_MS;
let lastMessageAt = 0;

function setLive(mode, text) {
  $("live").className = `live live-${mode}`;
  $("live-text").textContent = text;
}

function stopLive() {
  clearTimeout(retryTimer);
  if (socket) {
    const s = socket;
    socket = null;
    try {
      s.close(1000);
    } catch {
      /* closing already */
    }
  }
}

function startLive(clinic) {
  stopLive();
  if (board.clinic !== clinic) {
    Object.assign(board, { clinic, name: "", day: null, seq: null, rooms: new Map(), visits: new Map() });
    renderBoard();
  }
  backoffMs = BACKOFF_MIN_MS;
  connect();
}

function connect() {
  if (!token || !board.clinic) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const since = board.seq === null ? "" : `?since=${board.seq}`;
  let s;
  try {
    s = new WebSocket(`${proto}//${location.host}/api/clinics/${encodeURIComponent(board.clinic)}/live${since}`);
  } catch {
    retry("Cannot open the live feed");
    return;
  }
  socket = s;
  lastMessageAt = Date.now();
  setLive(board.seq === null ? "connecting" : "reconnecting", "Connecting");
  s.onopen = () => {
    if (socket !== s) return;
    s.send(JSON.stringify({ type: "auth", token })); // never in the URL
    // Resuming at the server's seq sends nothing until the next event; a refused token closes at once.
    setTimeout(() => {
      if (socket === s && s.readyState === WebSocket.OPEN && board.seq !== null) setLive("live", "Live");
    }, 1500);
  };
  s.onmessage = (e) => {
    if (socket !== s) return;
    lastMessageAt = Date.now();
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch {
      return;
    }
    handle(msg);
  };
  s.onclose = (e) => {
    if (socket !== s) return;
    socket = null;
    closed(e.code, e.reason);
  };
}

function retry(why, delay) {
  stopLive();
  const wait = delay ?? backoffMs * (0.8 + Math.random() * 0.4);
  if (delay === undefined) backoffMs = Math.min(BACKOFF_MAX_MS, backoffMs * 2);
  setLive("reconnecting", `${why}; retrying`);
  retryTimer = setTimeout(connect, wait);
}

function closed(code, reason) {
  if (code === 4401 || code === 1008) {
    signedOut(`Your sign-in has ended${reason ? ` (${reason})` : ""}. Sign in again.`);
    return;
  }
  if (code === 4403 || code === 4404) {
    setLive("offline", "Not live");
    show($("board-message"), reason || (code === 4404 ? "This clinic is not on this server." : "Not allowed."), "error");
    return;
  }
  if (code === 4400 && board.seq !== null) {
    board.seq = null;
    retry("Reloading", 0);
    return;
  }
  retry(navigator.onLine === false ? "Offline" : "Connection lost");
}

function handle(msg) {
  switch (msg.kind) {
    case "snapshot": {
      const b = msg.board;
      Object.assign(board, {
        name: String(b.name),
        timezone: b.timezone,
        day: b.day,
        seq: msg.seq,
        rooms: new Map((b.rooms || []).map((r) => [r.id, r])),
        visits: new Map((b.visits || []).map((v) => [v.id, v])),
        providers: new Map((b.providers || []).map((p) => [p.id, p])),
        visitTypes: new Map((b.visit_types || []).map((t) => [t.code, t])),
      });
      const t = parseTime(b.now);
      if (Number.isFinite(t)) board.offsetMs = t - Date.now();
      break;
    }
    case "event": {
      if (board.seq === null) return retry("Resyncing", 0);
      if (msg.seq <= board.seq) return undefined;
      if (msg.seq !== board.seq + 1) return retry("Catching up", BACKOFF_MIN_MS);
      if (msg.visit) board.visits.set(msg.visit.id, msg.visit);
      for (const r of msg.rooms || []) board.rooms.set(r.id, r);
      board.seq = msg.seq;
      break;
    }
    case "heartbeat": {
      const t = parseTime(msg.now);
      if (Number.isFinite(t)) board.offsetMs = t - Date.now();
      if (board.seq !== null && msg.seq !== board.seq) {
        if (msg.seq < board.seq) board.seq = null;
        return retry("Catching up", board.seq === null ? 0 : BACKOFF_MIN_MS);
      }
      break;
    }
    default:
      return undefined; // measures and delays: the full tablet screens will use them
  }
  backoffMs = BACKOFF_MIN_MS;
  if (board.seq !== null) {
    setLive(msg.board?.stale || msg.stale ? "stale" : "live", msg.board?.stale || msg.stale ? "Delayed" : "Live");
    $("board-message").hidden = true;
  }
  if (msg.kind !== "heartbeat") renderBoard();
  return undefined;
}

setInterval(() => {
  if (socket && socket.readyState === WebSocket.OPEN && Date.now() - lastMessageAt > SILENCE_MS) {
    retry("No heartbeat", 0);
  }
  if (!$("app").hidden && board.seq !== null) renderBoard(); // minutes count up
}, 30000);

function clinicFormat(options) {
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: board.timezone });
  } catch {
    return new Intl.DateTimeFormat(undefined, options);
  }
}

function minutesSince(iso) {
  const t = parseTime(iso);
  if (!Number.isFinite(t)) return "";
  const mins = Math.max(0, Math.floor((Date.now() + board.offsetMs - t) / 60000));
  return mins < 60 ? `${mins} min` : `${Math.floor(mins / 60)} h ${String(mins % 60).padStart(2, "0")} min`;
}

function renderBoard() {
  const time = clinicFormat({ hour: "numeric", minute: "2-digit" });
  const date = clinicFormat({ weekday: "long", month: "long", day: "numeric" });
  if (board.seq === null) {
    $("board-summary").textContent = "Loading the board…";
    $("rooms").replaceChildren();
    $("visits-body").replaceChildren();
    $("visits-empty").hidden = true;
    return;
  }
  $("board-title").textContent = board.name || "Board";
  const visits = [...board.visits.values()];
  const waiting = visits.filter((v) => v.stage === "arrived").length;
  const active = visits.filter((v) => !FINISHED.has(v.stage) && v.stage !== "scheduled").length;
  $("board-summary").textContent =
    `${date.format(new Date(Date.now() + board.offsetMs))} · ${waiting} waiting · ${active} in clinic · ${visits.length} visit${visits.length === 1 ? "" : "s"} today`;

  const providerName = (id) => board.providers.get(id)?.name || id;
  $("rooms").replaceChildren(...[...board.rooms.values()].map((r) => {
    const li = el("li", `room room-${r.state}`);
    li.append(el("span", "room-label", r.label), el("span", "room-state", ROOM_STATE_LABEL[r.state] || titleCase(r.state)));
    const v = r.visit ? board.visits.get(r.visit) : null;
    if (v) {
      li.append(el("span", "room-who", v.patient_name), el("span", "room-stage", `${STAGE_LABEL[v.stage] || titleCase(v.stage)} · ${minutesSince(v.times?.[v.stage])}`));
    } else if (r.since) {
      li.append(el("span", "room-stage", `for ${minutesSince(r.since)}`));
    }
    return li;
  }));

  visits.sort((a, b) => (FINISHED.has(a.stage) - FINISHED.has(b.stage)) || (parseTime(a.start) - parseTime(b.start)));
  $("visits-body").replaceChildren(...visits.map((v) => {
    const tr = el("tr", FINISHED.has(v.stage) ? "finished" : "");
    const start = parseTime(v.start);
    const stage = el("td");
    stage.append(el("span", `stage stage-${v.stage}`, STAGE_LABEL[v.stage] || titleCase(v.stage)));
    const since = minutesSince(v.times?.[v.stage]);
    if (since && !FINISHED.has(v.stage) && v.stage !== "scheduled") stage.append(el("span", "since", ` ${since}`));
    tr.append(
      el("td", "", `${Number.isFinite(start) ? time.format(new Date(start)) : ""}${v.walk_in ? " (walk-in)" : ""}`),
      el("td", "patient", v.patient_name),
      el("td", "", providerName(v.provider)),
      el("td", "", board.visitTypes.get(v.visit_type)?.label || v.visit_type),
      stage,
      el("td", "", v.room ? board.rooms.get(v.room)?.label || v.room : ""),
    );
    return tr;
  }));
  $("visits-empty").hidden = visits.length > 0;
}

// -- pairing a wall display (managers) -----------------------------------------------------------

const zonesOf = new Map(); // clinic id -> [zone]

async function loadZones(clinic) {
  const select = $("pair-zone");
  const whole = el("option", "", "Whole clinic");
  whole.value = "";
  select.replaceChildren(whole);
  let zones = zonesOf.get(clinic);
  if (!zones) {
    try {
      const b = await api("GET", `/api/clinics/${encodeURIComponent(clinic)}/board`);
      zones = [...new Set((b.rooms || []).map((r) => String(r.zone)))].sort();
      zonesOf.set(clinic, zones);
    } catch (err) {
      if (err.status !== 401) show($("pair-message"), `Could not list the zones: ${err.message}`, "error");
      return;
    }
  }
  if ($("pair-clinic").value !== clinic) return; // changed meanwhile
  select.replaceChildren(whole, ...zones.map((z) => {
    const o = el("option", "", titleCase(z));
    o.value = z;
    return o;
  }));
}

$("pair-clinic").addEventListener("change", () => loadZones($("pair-clinic").value));

$("pair-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const code = $("pair-code").value.replace(/[\s-]+/g, "").toUpperCase();
  const clinic = $("pair-clinic").value;
  const zone = $("pair-zone").value || null;
  const label = $("pair-label").value.trim();
  const button = $("pair-button");
  button.disabled = true;
  show($("pair-message"), "");
  try {
    const paired = await api("POST", "/api/displays", { code, clinic, zone, label });
    const clinicName = clinics.find((c) => c.id === paired.clinic)?.name || paired.clinic;
    show($("pair-message"),
      `Paired “${paired.label}” with ${clinicName}${paired.zone ? `, ${titleCase(paired.zone)} zone` : ""}. ` +
      "The screen starts showing the floor within a few seconds.", "success");
    $("pair-code").value = "";
    $("pair-label").value = "";
  } catch (err) {
    if (err.status === 401) return;
    show($("pair-message"), err.message, "error");
    $(err.body?.field === "zone" ? "pair-zone" : "pair-code").focus();
  } finally {
    button.disabled = false;
  }
});

// -- start ---------------------------------------------------------------------------------------

async function boot() {
  if (!token) {
    showSignIn("");
    return;
  }
  try {
    const who = await api("GET", "/api/me");
    if (who.kind !== "staff") {
      signedOut("This sign-in belongs to a wall display; sign in as a person.");
      return;
    }
    me = who;
  } catch (err) {
    if (err.status === 401) return; // api() already showed the sign-in form with the server's message
    $("app").hidden = true;
    show($("notice"), `${err.message} Reload the page to try again.`, "error");
    return;
  }
  await enter();
}

boot();
