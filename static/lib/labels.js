// The clinic's words for roles, stages, rooms and steps, one place for every page. Each reads like a plain
// object (`STAGE_LABEL[stage]`) and answers in the language shown (lib/i18n.js labels(): the key
// "prefix.code" in static/i18n/<language>.json, else the English here).

import { labels } from "./i18n.js";

export const ROLES = ["front_desk", "medical_assistant", "provider"];

export const ROLE_LABEL = labels("role", {
  front_desk: "Front desk",
  medical_assistant: "Medical assistant",
  provider: "Provider",
  manager: "Manager",
});

/** A visit's stage, short (cards, lists, the visit's history, a past day's board). */
export const STAGE_LABEL = labels("tablet.stage", {
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
});

/** A visit's stage as what the patient is doing now (the manager's timeline and visit facts). */
export const STAGE_STATE = labels("stage.state", {
  scheduled: "Scheduled",
  arrived: "Arrived, waiting",
  roomed: "Roomed, in prep",
  prep_done: "Ready, waiting for provider",
  provider_in: "With provider",
  teach_back_done: "Teach-back done",
  checked_out: "Checked out",
  no_show: "No show",
  cancelled: "Cancelled",
  left_without_being_seen: "Left without being seen",
});

/** What a patient too long in a stage is waiting for (alerts). */
export const DWELL_PHRASE = labels("dwell", {
  arrived: "waiting to be roomed",
  roomed: "waiting for prep",
  prep_done: "waiting for the provider",
  teach_back_done: "waiting for checkout",
});

export const ROOM_STATE_LABEL = labels("room", { ready: "Ready", occupied: "Occupied", turnover: "Turnover", blocked: "Blocked" });

/** A room's mark, as undo names it ("Undo blocked"). */
export const ROOM_MARK = labels("room_mark", { ready: "ready", blocked: "blocked", unblocked: "unblocked" });

/** The button text for sending each step. */
export const STEP_BUTTON = labels("step", {
  arrived: "Arrived",
  roomed: "Room patient",
  prep_done: "Prep done",
  provider_in: "Provider in",
  teach_back_done: "Teach-back done",
  checked_out: "Check out",
  no_show: "No show",
  cancelled: "Cancel visit",
  left_without_being_seen: "Left without being seen",
});
