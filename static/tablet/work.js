// The tablet's work: what each role taps next from a stage (the card's big button) and what else it may tap,
// how a card words its wait, and the lists each role's panel shows (key, title, which visits, how sorted, what
// to say when empty). The front desk's lists are lib/desk.js (search and views).

import { t } from "../lib/i18n.js";
import { parseTime } from "../lib/page.js";

/** What a role taps next from a stage (the one big button), and what else it may tap there. */
export const NEXT = {
  front_desk: { scheduled: "arrived", provider_in: "checked_out", teach_back_done: "checked_out" },
  medical_assistant: { arrived: "roomed", roomed: "prep_done", teach_back_done: "checked_out" },
  provider: { prep_done: "provider_in", provider_in: "teach_back_done", teach_back_done: "checked_out" },
};
export const MORE = {
  front_desk: { scheduled: ["no_show", "cancelled"], arrived: ["left_without_being_seen"] },
  medical_assistant: { arrived: ["left_without_being_seen"], roomed: ["left_without_being_seen"] },
  provider: { provider_in: ["checked_out"] },
};

/** When the wait shown on a card started, and how it is worded. */
export const WAIT = {
  arrived: { label: "wait.waiting", limit: "waiting_to_be_roomed" },
  roomed: { label: "wait.in_room", limit: "waiting_for_prep" },
  prep_done: { label: "wait.waiting_in_room", limit: "waiting_for_provider" },
  provider_in: { label: "wait.for" },
  teach_back_done: { label: "wait.waiting", limit: "waiting_for_checkout" },
};

export const byStart = (a, b) => parseTime(a.start) - parseTime(b.start);
export const bySince = (a, b) => (parseTime(a.times?.[a.stage]) - parseTime(b.times?.[b.stage])) || byStart(a, b);

/** The lists of a role's panel. `deskLists()` gives the front desk's; `mine` is the provider whose patients
 *  a provider's panel shows (null: every provider's), `you` whether that is the person signed in. */
export function workLists(role, { deskLists, mine, you }) {
  if (role === "front_desk") return deskLists();
  if (role === "medical_assistant") {
    return [
      { key: "ma-waiting", title: t("list.ma-waiting"), stages: ["arrived"], sort: bySince, empty: t("empty.ma-waiting") },
      { key: "ma-prep", title: t("list.ma-prep"), stages: ["roomed"], sort: bySince, empty: t("empty.ma-prep") },
      { key: "ma-rooms", title: t("list.ma-rooms"), rooms: true },
      { key: "ma-checkout", title: t("list.ma-checkout"), stages: ["teach_back_done"], sort: bySince,
        empty: t("desk.empty.checkout") },
    ];
  }
  const filter = (v) => !mine || v.provider === mine;
  return [
    { key: "pr-waiting", title: you ? t("list.pr-waiting-you") : t("list.pr-waiting"), stages: ["prep_done"],
      filter, sort: bySince, empty: t("empty.pr-waiting") },
    { key: "pr-with", title: you ? t("list.pr-with-you") : t("list.pr-with"), stages: ["provider_in"], filter,
      sort: bySince, empty: t("empty.pr-with") },
    { key: "pr-teach", title: t("list.pr-teach"), stages: ["teach_back_done"], filter, sort: bySince,
      empty: t("empty.pr-teach") },
    { key: "pr-coming", title: t("list.pr-coming"), stages: ["arrived", "roomed"], filter, sort: bySince, compact: true,
      empty: t("empty.pr-coming") },
  ];
}
