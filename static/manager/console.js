// The manager's console: everything the API lets a manager do, section by section (staff, wall displays,
// rooms, providers, visit types, alert thresholds, the schedule, audit trails, a past day, downloads). The page
// (manager/session.js, manager/live.js) starts it once signed in, tells it when the live floor changed, and clears it
// on sign-out.

import { request } from "./ui.js";
import { staffSection } from "./staff.js";
import { displaysSection } from "./displays.js";
import { roomsSection } from "./rooms.js";
import { providersSection } from "./providers.js";
import { visitTypesSection } from "./visittypes.js";
import { thresholdsSection } from "./thresholds.js";
import { scheduleSection } from "./schedule.js";
import { auditSection } from "./audit.js";
import { pastDaySection } from "./pastday.js";
import { downloadsSection } from "./downloads.js";

/**
 * `page`: { api(method, path, body), token(), unauthorized(err), clinic(), floor(), me(), onStaff(list) }.
 * floor() is the live state: { day, timezone, rooms: Map, visits: Map, providers }.
 */
export function managerConsole(page) {
  let audit = null;
  const ctx = {
    ...page,
    raw: (path, options = {}) => request(path, { ...options, token: page.token(), onUnauthorized: page.unauthorized }),
    onStaff(list) {
      page.onStaff(list);
      audit?.staffChanged(list);
    },
  };
  const staff = staffSection(ctx);
  const displays = displaysSection(ctx);
  const rooms = roomsSection(ctx);
  const providers = providersSection(ctx);
  const visitTypes = visitTypesSection(ctx);
  const thresholds = thresholdsSection(ctx);
  const schedule = scheduleSection(ctx);
  audit = auditSection(ctx);
  const past = pastDaySection(ctx);
  const downloads = downloadsSection(ctx);
  const sections = [staff, displays, rooms, providers, visitTypes, thresholds, schedule, audit, past, downloads];

  return {
    /** Signed in, or another clinic chosen: load what is not on the live feed. */
    start() {
      for (const s of sections) s.clear();
      staff.load();
      displays.load();
      schedule.load();
    },
    /** The live floor (rooms, visits, the day) changed. */
    floorChanged() {
      if (!page.floor().day) return;
      for (const s of sections) s.floorChanged?.();
    },
    clear() {
      for (const s of sections) s.clear();
    },
  };
}
