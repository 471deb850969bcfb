// Calls to Floor's HTTP API with the staff token, and taps that survive a dropped network: each tap gets
// an Idempotency-Key once and keeps it through every retry, so the server applies it once whatever
// happens to the answers.

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.message) || `The server answered ${status}`);
    this.status = status;
    this.body = body || {};
    this.retryAfter = retryAfter;
  }
}

export class Offline extends Error {}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function call(method, path, { token, body, key, storedOnly = false } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["Idempotency-Key"] = key;
  // Only asks whether the tap was stored under its key (answered as first stored, or 404 naming the key).
  if (storedOnly) headers["Idempotency-Stored-Only"] = "true";
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new Offline(String(e));
  }
  let data = null;
  try {
    data = res.status === 204 ? null : await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data, Number(res.headers.get("Retry-After")) || 0);
  return data;
}

// A retry's wait ends early when the browser says the network is back: the waiting tap goes at once.
const sleep = (ms) =>
  new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      removeEventListener("online", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    addEventListener("online", done);
  });

/**
 * Send a tap until the server answers it. While the network is down (or the server answers 503, but for a damaged
 * log, or 429)
 * the same request with the same key is sent again after a growing wait; `onWaiting(attempt, error)` is
 * told each time. Any other answer (2xx, or a refusal) is final. `body` may be a function: the body of each
 * attempt (a step kept offline says how long ago it was tapped, tablet/kept.js). `storedOnly()`, asked at each
 * attempt: whether it only asks if the tap was stored (a tap kept from an earlier clinic day, tablet/kept.js).
 */
export async function tap(path, body, { token, key = newKey(), onWaiting = () => {}, signal, storedOnly = () => false } = {}) {
  let wait = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      const attemptBody = typeof body === "function" ? body() : body;
      return await call("POST", path, { token, body: attemptBody, key, storedOnly: storedOnly() });
    } catch (e) {
      // A damaged log (`log_damaged`) is no passing trouble: a person must repair it, so the tap is not sent again.
      const retryable =
        e instanceof Offline ||
        (e instanceof ApiError && (e.status === 503 || e.status === 429) && e.body.error !== "log_damaged");
      if (!retryable || (signal && signal.aborted)) throw e;
      onWaiting(attempt, e);
      const serverWait = e instanceof ApiError && e.retryAfter ? e.retryAfter * 1000 : 0;
      await sleep(Math.max(serverWait, wait));
      wait = Math.min(10000, wait * 2);
    }
  }
}
