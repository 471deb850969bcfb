"""Roles: each taps only its own steps, managers everything; undo by whoever made the step or a manager."""

from __future__ import annotations

import pytest

from floor.core.access import ALLOWED, Act, Role, may, may_mark_presence, may_undo, refusal_text
from floor.core.journey import Stage
from floor.core.rooms import RoomAction

DESK, MA, PROVIDER, MANAGER = Role.front_desk, Role.medical_assistant, Role.provider, Role.manager

# The table, written out: who (besides managers) may do each thing.
EXPECTED = {
    Act.read_floor: {DESK, MA, PROVIDER},
    Act.book: {DESK},
    Act.move_visit: {DESK},  # a patient here and waiting, to another provider
    Stage.arrived: {DESK},
    Stage.no_show: {DESK},
    Stage.cancelled: {DESK},
    Stage.roomed: {MA},
    Stage.prep_done: {MA},
    RoomAction.ready: {MA},
    RoomAction.blocked: {MA},
    RoomAction.unblocked: {MA},
    Stage.provider_in: {PROVIDER},
    Stage.teach_back_done: {PROVIDER},
    Stage.checked_out: {DESK, MA, PROVIDER},
    Stage.left_without_being_seen: {DESK, MA},
    Act.acknowledge_alert: set(),
    Act.read_measures: set(),
    Act.read_audit: set(),
    Act.read_history: set(),
    Act.read_learned: set(),
    Act.export_records: set(),
    Act.manage_schedule: set(),
    Act.manage_staff: set(),
    Act.manage_displays: set(),
    Act.set_up_clinic: set(),
    Act.mark_presence: {MA, PROVIDER},  # a provider for themself only: see may_mark_presence
}


@pytest.mark.parametrize("action", list(EXPECTED))
@pytest.mark.parametrize("role", list(Role))
def test_each_role_may_take_exactly_its_own_actions(role: Role, action) -> None:
    assert may(role, action) == (role is MANAGER or role in EXPECTED[action])


def test_every_action_has_a_rule() -> None:
    assert set(ALLOWED) == set(EXPECTED) | {Act.undo}
    assert {s for s in Stage if s is not Stage.scheduled} <= set(ALLOWED)


def test_undo_is_for_whoever_made_the_step_or_a_manager() -> None:
    assert may_undo(MA, "ma-rosa", "ma-rosa")
    assert not may_undo(MA, "ma-rosa", "ma-lee")
    assert not may_undo(PROVIDER, "dr-kim", "ma-rosa")
    assert may_undo(MANAGER, "mgr-dana", "ma-rosa")


def test_a_refusal_says_who_may() -> None:
    text = refusal_text(DESK, Stage.provider_in)
    assert text == "Front desk cannot mark the provider in: that is for managers and providers."
    assert all(refusal_text(DESK, action) for action in ALLOWED)  # every action has words
    assert "managers" in refusal_text(PROVIDER, Act.acknowledge_alert)


def test_a_provider_says_where_they_themself_are_an_assistant_or_manager_for_any_provider() -> None:
    assert may_mark_presence(PROVIDER, "kim", "kim")
    assert not may_mark_presence(PROVIDER, "kim", "okafor")
    assert may_mark_presence(MA, "ma-ben", "okafor")
    assert may_mark_presence(MANAGER, "mgr-dana", "okafor")
    assert not may_mark_presence(DESK, "kim", "kim")
    assert not may_mark_presence(PROVIDER, None, "kim")  # a provider's account not linked to a provider id
    assert refusal_text(DESK, Act.mark_presence) == (
        "Front desk cannot say where a provider is: that is for managers and medical assistants and providers."
    )


def test_clinics_an_account_works_in() -> None:
    from floor.core.access import ALL_CLINICS, clinics_of, in_clinic, within

    assert in_clinic(("riverside",), "riverside") and not in_clinic(("riverside",), "lakeside")
    assert in_clinic((ALL_CLINICS,), "lakeside")
    assert clinics_of(None) == (ALL_CLINICS,)  # stored before clinics were recorded: every clinic
    assert clinics_of(("lakeside",)) == ("lakeside",)
    # A manager manages (and gives) only clinics of their own; a manager of every clinic, any.
    assert within(("riverside",), ("riverside", "lakeside"))
    assert not within(("riverside", "lakeside"), ("riverside",))
    assert not within((ALL_CLINICS,), ("riverside", "lakeside"))
    assert within((ALL_CLINICS,), (ALL_CLINICS,)) and within(("lakeside",), (ALL_CLINICS,))
