// Taps that survive a reload. Every tap is written to the browser's localStorage (one list per clinic and
// signed-in person) before it is sent, with its Idempotency-Key, and removed once the server has answered it:
// stored, or refused. A tap still there when the page starts again (a reload, a crash, the tablet restarted
// while offline) is sent again with the same key, so the server applies it once whatever happened to the first
// try. A sign-in that ended (401) keeps the tap for that person's next sign-in; nothing else keeps it.
//
//   const box = outbox({ send: tap });                   // send(path, body, {...options, key, entry})
//   await box.send(entry, { token, signal, onWaiting })   // entry: {clinic, staff, key, path, body, ...}
//   for (const entry of box.left(clinic, staff)) ...      // kept from before, not being sent by this page
//   box.all()                                             // every tap kept in this browser, whoever made it
//   outbox({ send, onChange })                            // onChange(): what is kept changed
//
// The list holds what a tap needs to be sent again: the path, the body (a walk-in's patient name is in it)
// and a few words to show; the page says which are too old to send again (made on an earlier clinic day).

import { ApiError } from "./api.js";

const PREFIX = "floor.outbox";

const storeKey = (clinic, staff) => `${PREFIX}.${clinic}.${staff}`;

function read(clinic, staff) {
  try {
    const entries = JSON.parse(localStorage.getItem(storeKey(clinic, staff)) || "[]");
    return Array.isArray(entries) ? entries.filter((e) => e && typeof e.key === "string" && typeof e.path === "string") : [];
  } catch {
    return [];
  }
}

function write(clinic, staff, entries) {
  try {
    if (entries.length) localStorage.setItem(storeKey(clinic, staff), JSON.stringify(entries));
    else localStorage.removeItem(storeKey(clinic, staff));
  } catch {
    /* storage blocked or full: the tap is still sent from memory, it just does not survive a reload */
  }
}

/** A tap the page will not send (made on an earlier clinic day): dropped as a refusal is; `message` says why. */
export class NotSent extends Error {}

/** A tap kept from an earlier clinic day that the server had stored on that day (its answer lost): not sent again,
 *  its answer not put on today's floor; `message` says it was stored. Dropped as NotSent is. */
export class StoredThatDay extends NotSent {}

/** A refusal is final (the tap is dropped, the page shows why), and so is a tap the page will not send (NotSent);
 *  a 401 or a tap given up by the page is not. */
export const final = (err) => err instanceof NotSent || (err instanceof ApiError && err.status !== 401);

export function outbox({ send, onChange = () => {} }) {
  const sending = new Set(); // keys this page is sending now

  function keep(entry) {
    sending.add(entry.key);
    const entries = read(entry.clinic, entry.staff).filter((e) => e.key !== entry.key);
    write(entry.clinic, entry.staff, [...entries, entry]);
    onChange();
  }

  function drop(entry) {
    write(entry.clinic, entry.staff, read(entry.clinic, entry.staff).filter((e) => e.key !== entry.key));
    onChange();
  }

  return {
    /** Keep the tap, send it (lib/api.js tap: retried with the same key until answered), drop it once answered. */
    async send(entry, options) {
      const kept = { ...entry };
      keep(kept);
      try {
        const answer = await send(kept.path, kept.body, { ...options, key: kept.key, entry: kept });
        drop(kept);
        return answer;
      } catch (err) {
        if (final(err)) drop(kept);
        throw err;
      } finally {
        sending.delete(kept.key);
      }
    },

    /** The taps kept for this clinic and person that this page is not sending: to send again, oldest first.
     *  Those `tooOld(entry)` says not to send are dropped and returned apart; one this page is sending is its
     *  sender's to drop (it was said twice as not sent, by its sender and by the new day's snapshot). */
    left(clinic, staff, tooOld) {
      const entries = read(clinic, staff);
      const old = entries.filter((e) => !sending.has(e.key) && tooOld(e));
      if (old.length) {
        write(clinic, staff, entries.filter((e) => !old.includes(e)));
        onChange();
      }
      return {
        again: entries.filter((e) => !old.includes(e) && !sending.has(e.key)),
        old,
      };
    },

    /** Every tap kept in this browser, for any clinic and person: a sign-in that ended keeps its taps for that
     *  person's next sign-in here, and the page says they wait (not sent as anyone else). */
    all() {
      const entries = [];
      let keys = [];
      try {
        keys = Object.keys(localStorage).filter((k) => k.startsWith(`${PREFIX}.`));
      } catch {
        return entries;
      }
      for (const key of keys) {
        try {
          const list = JSON.parse(localStorage.getItem(key) || "[]");
          if (Array.isArray(list)) {
            entries.push(...list.filter((e) => e && typeof e.key === "string" && typeof e.staff === "string" &&
              typeof e.clinic === "string"));
          }
        } catch {
          /* one list unreadable: the others are still said */
        }
      }
      return entries;
    },

    /** How many taps are kept for this clinic and person (sent or not). */
    count(clinic, staff) {
      return read(clinic, staff).length;
    },
  };
}
