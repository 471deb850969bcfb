// Rooms: each room now (from the live feed), block one with a reason, unblock it.

import { $, el, button, row, formState, busy } from "./ui.js";

const STATE_LABEL = { ready: "Ready", occupied: "Occupied", turnover: "Being cleaned", blocked: "Blocked" };

export function roomsSection(ctx) {
  const message = $("rooms-message");
  const say = (text, kind = "success") => {
    message.className = `message ${kind}`;
    message.textContent = text;
    message.hidden = !text;
  };
  const blockForm = formState($("room-block"), { reason: "room-block-reason", room: "room-block-room" });
  let signature = "";

  function floorChanged() {
    const rooms = [...ctx.floor().rooms.values()];
    // The version too: an Unblock goes with the room's version its row showed (a room unblocked and blocked again
    // for the same reason is another block).
    const next = JSON.stringify(rooms.map((r) => [r.id, r.state, r.reason, r.label, r.version]));
    if (next === signature) return;
    signature = next;
    const hadFocus = $("rooms-table").contains(document.activeElement) ? document.activeElement.dataset.room : null;
    $("rooms-table").tBodies[0].replaceChildren(...rooms.map((r) => {
      const actions = r.state === "blocked"
        ? button("Unblock", { label: `Unblock ${r.label}`, data: { action: "unblock", room: r.id },
          onClick: (e) => unblock(r, e.currentTarget) })
        : "";
      const tr = row([r.label, r.zone, STATE_LABEL[r.state] || r.state, r.state === "blocked" ? r.reason || "No reason given" : "", actions]);
      tr.dataset.room = r.id;
      tr.dataset.state = r.state;
      return tr;
    }));
    if (hadFocus) $("rooms-table").querySelector(`button[data-room="${CSS.escape(hadFocus)}"]`)?.focus();
    // Every room is listed, those that cannot be blocked now shown so and not choosable: a room chosen and then
    // taken (a patient roomed in it meanwhile) stays the choice, so the button never blocks another room with its
    // reason (the list used to fall back to its first room: a review).
    const select = $("room-block-room");
    const chosen = select.value;
    select.replaceChildren(...rooms.map((r) => {
      const o = el("option", "", `${r.label} (${(STATE_LABEL[r.state] || r.state).toLowerCase()})`);
      o.value = r.id;
      o.disabled = !blockable(r);
      return o;
    }));
    if (rooms.some((r) => r.id === chosen)) select.value = chosen;
    else select.value = rooms.find(blockable)?.id ?? "";
    const blocked = rooms.filter((r) => r.state === "blocked").length;
    $("rooms-summary").textContent = `${rooms.length} rooms${blocked ? `, ${blocked} blocked` : ""}`;
  }

  const blockable = (r) => r.state === "ready" || r.state === "turnover";

  const roomPath = (id) => `/api/clinics/${encodeURIComponent(ctx.clinic())}/rooms/${encodeURIComponent(id)}/events`;

  /** Unblock the room as its row showed it (`expected_version`, as a tablet's room tap): a late Unblock, sent
   *  after a tablet unblocked the room and blocked it again, is refused, never taken as undoing that newer block. */
  async function unblock(r, node) {
    await busy(node, async () => {
      try {
        await ctx.api("POST", roomPath(r.id), { type: "unblocked", expected_version: r.version ?? 0 });
        say(`${r.label} is unblocked and ready.`);
      } catch (err) {
        const now = err?.status === 409 && err.body?.room_state;
        say(now
          ? `${r.label} was not unblocked: it changed since this page showed it, and is ${(STATE_LABEL[now] || now).toLowerCase()} now. Look at the room again.`
          : `Could not unblock ${r.label}: ${err.message}`, "error");
      }
    });
    message.focus(); // its button is gone once the room is ready: the focus goes to what was said, not the page's top
  }

  $("room-block").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (blockForm.missing()) return;
    const id = $("room-block-room").value;
    const room = ctx.floor().rooms.get(id);
    const label = room?.label || id;
    const reason = $("room-block-reason").value.trim();
    if (room && !blockable(room)) {
      blockForm.fail(new Error(`${label} is ${(STATE_LABEL[room.state] || room.state).toLowerCase()} now: choose another room, or wait until it is free.`),
        "Could not block the room.");
      return;
    }
    await busy($("room-block").querySelector("button[type=submit]"), async () => {
      try {
        await ctx.api("POST", roomPath(id), { type: "blocked", reason });
        $("room-block-reason").value = "";
        blockForm.ok(`${label} is blocked${reason ? `: ${reason}` : ""}.`);
      } catch (err) {
        blockForm.fail(err, "Could not block the room.");
      }
    });
  });

  return {
    floorChanged,
    clear() {
      signature = "";
      $("rooms-table").tBodies[0].replaceChildren();
      $("room-block-room").replaceChildren();
      $("rooms-summary").textContent = "";
      message.hidden = true;
    },
  };
}
