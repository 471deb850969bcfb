// The stages of a visit as every page groups them: one place, checked against floor/core/journey.py by
// tests/web/test_stage_sets_in_pages.py (a page that spelled its own list once missed a new stage).

/** The happy path before the visit ends, in order (floor/core/journey.py PATH, without its last stage). */
export const ORDER = ["scheduled", "arrived", "roomed", "prep_done", "provider_in", "teach_back_done"];

/** Stages after which a visit is gone from the floor (floor/core/journey.py ENDS). */
export const ENDED = new Set(["checked_out", "no_show", "cancelled", "left_without_being_seen"]);

/** Stages during which a visit holds a room (floor/core/journey.py IN_ROOM). */
export const IN_ROOM = new Set(["roomed", "prep_done", "provider_in", "teach_back_done"]);

/** Stages of a visit the provider has started, or that has left the floor: no longer "projected late". */
export const SEEN_OR_GONE = new Set(["provider_in", "teach_back_done", ...ENDED]);
