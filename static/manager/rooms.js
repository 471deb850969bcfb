// Rooms: each room now (from the live feed), block one with a reason, unblock it; and the clinic's rooms themselves:
// add a room, change its label or zone, take one out, or go back to the clinic file's rooms (PUT .../rooms, sent with
// the set-up version the page showed: a list drawn before another manager's change is refused, never stored).

import { $, el, button, row, formState, busy } from "./ui.js";
import { setUpSection } from "./setup-section.js";

const STATE_LABEL = { ready: "Ready", occupied: "Occupied", turnover: "Being cleaned", blocked: "Blocked" };

export function roomsSection(ctx) {
  const { message, say, put: setRooms, takeOut: takeOutOne, useFile, showFile, changeForm, clear: clearShared } =
    setUpSection(ctx, "rooms");
  const blockForm = formState($("room-block"), { reason: "room-block-reason", room: "room-block-room" });
  // The server names a room's field by its place in the list sent (rooms[3].zone): set before each send.
  const addFields = {};
  const addForm = formState($("room-add"), addFields);
  const editFields = {};
  const editForm = formState($("room-edit"), editFields);
  let signature = "";

  function floorChanged() {
    const rooms = [...ctx.floor().rooms.values()];
    // The version too: an Unblock goes with the room's version its row showed (a room unblocked and blocked again
    // for the same reason is another block).
    const live = ctx.floor();
    const next = JSON.stringify([live.setupVersion, live.fileRooms,
      ...rooms.map((r) => [r.id, r.state, r.reason, r.label, r.zone, r.version])]);
    if (next === signature) return;
    signature = next;
    const hadFocus = $("rooms-table").contains(document.activeElement) ? document.activeElement.dataset.room : null;
    $("rooms-table").tBodies[0].replaceChildren(...rooms.map((r) => {
      const actions = [
        ...(r.state === "blocked"
          ? [button("Unblock", { label: `Unblock ${r.label}`, data: { action: "unblock", room: r.id },
            onClick: (e) => unblock(r, e.currentTarget) })]
          : []),
        button("Take out", { label: `Take ${r.label} out of the clinic`, data: { action: "take-out", room: r.id },
          onClick: (e) => takeOut(r, e.currentTarget) }),
      ];
      const tr = row([r.label, r.zone, STATE_LABEL[r.state] || r.state, r.state === "blocked" ? r.reason || "No reason given" : "", actions]);
      tr.dataset.room = r.id;
      tr.dataset.state = r.state;
      return tr;
    }));
    if (hadFocus) $("rooms-table").querySelector(`button[data-room="${CSS.escape(hadFocus)}"]`)?.focus();
    fillSetUp(rooms, live.fileRooms);
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

  /** The rooms' own part: the zones offered, the room to change (kept chosen), the clinic file's rooms if they
   *  differ. */
  function fillSetUp(rooms, fileRooms) {
    $("room-zones").replaceChildren(...[...new Set(rooms.map((r) => r.zone))].map((z) => {
      const o = el("option");
      o.value = z;
      return o;
    }));
    edit.choose(rooms, (r) => r.id, (r) => r.label);
    showFile(fileRooms, (r) => r.label);
  }

  /** The room chosen to change, its label and zone as they are now in the inputs. */
  const edit = changeForm({ formId: "room-edit", chooserId: "room-edit-room", fill() {
    const room = ctx.floor().rooms.get($("room-edit-room").value);
    $("room-edit-label").value = room?.label ?? "";
    $("room-edit-zone").value = room?.zone ?? "";
  } });

  /** The clinic's rooms as this page shows them: what a change is made to. */
  const listed = () => [...ctx.floor().rooms.values()].map((r) => ({ id: r.id, label: r.label, zone: r.zone }));
  const fieldsAt = (fields, i, prefix) => {
    for (const k of Object.keys(fields)) delete fields[k];
    Object.assign(fields, { [`rooms[${i}]`]: `${prefix}-id`, [`rooms[${i}].id`]: `${prefix}-id`,
      [`rooms[${i}].label`]: `${prefix}-label`, [`rooms[${i}].zone`]: `${prefix}-zone` });
  };

  $("room-add").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (addForm.missing()) return;
    const rooms = listed();
    const room = { id: $("room-add-id").value.trim(), label: $("room-add-label").value.trim(),
      zone: $("room-add-zone").value.trim() };
    fieldsAt(addFields, rooms.length, "room-add");
    await busy($("room-add").querySelector("button[type=submit]"), async () => {
      try {
        await setRooms({ rooms: [...rooms, room] });
        for (const id of ["room-add-id", "room-add-label", "room-add-zone"]) $(id).value = "";
        addForm.ok(`${room.label} is added in zone ${room.zone}, ready.`);
      } catch (err) {
        addForm.fail(err, "Could not add the room.");
      }
    });
  });

  $("room-edit").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (editForm.missing()) return;
    const rooms = listed();
    const i = rooms.findIndex((r) => r.id === $("room-edit-room").value);
    if (i < 0) return;
    const before = rooms[i];
    rooms[i] = { id: before.id, label: $("room-edit-label").value.trim(), zone: $("room-edit-zone").value.trim() };
    fieldsAt(editFields, i, "room-edit");
    await edit.save(editForm, { rooms }, `${rooms[i].label} (zone ${rooms[i].zone}) is saved.`,
      "The form shows the room now: change it again.", "Could not change the room.");
  });

  /** Take a room out of the clinic, once confirmed: refused by the server while a patient is in it. */
  const takeOut = (r, node) => takeOutOne(r.label,
    `Take ${r.label} out of the clinic? Nobody can be roomed there and no wall shows it; it can be added again later.`,
    node, () => setRooms({ rooms: listed().filter((x) => x.id !== r.id) }));

  useFile("Use the clinic file's rooms? Rooms added here are taken out, and the file's rooms lead from now on.",
    "The rooms are the clinic file's again.", "The clinic file's rooms were not taken");

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
      edit.forget();
      $("rooms-table").tBodies[0].replaceChildren();
      $("room-block-room").replaceChildren();
      $("room-edit-room").replaceChildren();
      $("room-zones").replaceChildren();
      $("rooms-summary").textContent = "";
      clearShared();
    },
  };
}
