"""A manager sets the clinic's providers from the browser (SetProviders → SetUpChanged): decided in the core by the
rules a clinic file's providers are checked by, folded from the log alone, refused while a provider taken out has a
visit today that is not over."""

from __future__ import annotations

import datetime as dt

import pytest

from floor import audit
from floor.config import Provider, demo_clinic
from floor.core.access import Role
from floor.core.commands import BookVisit, Command, MoveVisit, SetProviders, SetRooms, TakeStep, Tap
from floor.core.errors import Refusal, Why
from floor.core.events import Event, SetUpChanged
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from tests.support.floors import snapshot

CLINIC = demo_clinic()
DAY = dt.date(2025, 3, 12)
OPENS = dt.datetime(2025, 3, 12, 8, 0, tzinfo=CLINIC.tz)
PATEL = Provider("patel", "Dr. Ravi Patel", "RP")


class Manager:
    def __init__(self) -> None:
        self.floor = Floor(CLINIC, DAY, ids=Ids.seeded())
        self.now = OPENS
        self.events: list[Event] = []

    def tap(self, command: Command, role: Role = Role.manager) -> Event:
        self.now += dt.timedelta(minutes=1)
        event = self.floor.decide(command, Tap("dana", "console", self.now, role))
        self.floor.apply(event)
        self.events.append(event)
        return event

    def refused(self, command: Command, role: Role = Role.manager) -> Refusal:
        before, clinic = snapshot(self.floor), self.floor.clinic
        with pytest.raises(Refusal) as e:
            self.floor.decide(command, Tap("dana", "console", self.now, role))
        assert snapshot(self.floor) == before and self.floor.clinic is clinic
        return e.value


def providers(*extra: Provider, without: tuple[str, ...] = ()) -> list[Provider]:
    return [p for p in CLINIC.providers if p.id not in without] + list(extra)


def test_a_provider_added_can_be_booked_at_once_and_the_fold_of_the_log_alone_agrees() -> None:
    m = Manager()
    event = m.tap(SetProviders(providers(PATEL), expected_version=0))
    assert isinstance(event.change, SetUpChanged) and event.change.rooms is None
    assert m.floor.clinic.provider("patel") == PATEL and m.floor.setup_version == event.seq
    m.tap(BookVisit("Ann Lee", "patel", "follow", walk_in=True))
    again = Floor.fold(CLINIC, DAY, 0, m.events)
    assert snapshot(again) == snapshot(m.floor) and again.clinic == m.floor.clinic


def test_a_provider_renamed_keeps_their_patients() -> None:
    m = Manager()
    visit = m.tap(BookVisit("Ann Lee", "kim", "follow", walk_in=True)).visit
    renamed = [Provider("kim", "Dr. Jenna Kim-Lee", "JL") if p.id == "kim" else p for p in CLINIC.providers]
    m.tap(SetProviders(renamed))
    assert m.floor.clinic.provider("kim").initials == "JL" and m.floor.visits[visit].provider == "kim"


def test_a_provider_with_a_visit_not_over_cannot_be_taken_out_until_it_is_moved() -> None:
    m = Manager()
    visit = m.tap(BookVisit("Ann Lee", "hart", "follow", walk_in=True)).visit
    refused = m.refused(SetProviders(providers(without=("hart",))))
    assert (refused.why, refused.field, refused.detail["provider"]) == (Why.illegal_step, "providers", "hart")
    assert refused.message.startswith("Dr. Aaron Hart still has a visit today that is not over: move it")
    m.tap(MoveVisit(visit, "kim"))
    m.tap(SetProviders(providers(without=("hart",))))
    assert m.floor.clinic.provider("hart") is None
    # Nobody can book them now; the day still folds.
    assert m.refused(BookVisit("Bo Park", "hart", "follow", walk_in=True)).field == "provider"
    assert snapshot(Floor.fold(CLINIC, DAY, 0, m.events)) == snapshot(m.floor)


def test_a_provider_whose_visits_are_all_over_can_be_taken_out() -> None:
    m = Manager()
    visit = m.tap(BookVisit("Ann Lee", "hart", "follow", walk_in=True)).visit
    m.tap(TakeStep(visit, Stage.left_without_being_seen))
    m.tap(SetProviders(providers(without=("hart",))))
    assert m.floor.clinic.provider("hart") is None and m.floor.visits[visit].provider == "hart"


@pytest.mark.parametrize(
    ("new", "field", "words"),
    [
        (providers(Provider("patel", "Dr. Ravi Patel", "rp")), "providers[4].initials", "1 to 3 capital letters"),
        (providers(Provider("patel", "Dr. Ravi Patel", "JK")), "providers[4].initials", "is also provider kim's"),
        (providers(Provider("kim", "Dr. Ravi Patel", "RP")), "providers[4]", "another provider already has the id"),
        (providers(Provider("patel", "", "RP")), "providers[4].name", "needs their name"),
        (providers(Provider("Dr Patel", "Dr. Ravi Patel", "RP")), "providers[4].id", "lowercase letters"),
        ([], "providers", ""),
        (list(CLINIC.providers), "providers", "nothing changed"),
    ],
)
def test_a_list_a_clinic_file_could_not_have_is_refused_naming_the_field(new, field, words) -> None:
    refused = Manager().refused(SetProviders(new))
    assert (refused.why, refused.field) == (Why.invalid, field), refused.message
    assert words in refused.message


def test_one_set_up_version_for_rooms_and_providers_and_only_managers() -> None:
    m = Manager()
    m.tap(SetProviders(providers(PATEL), expected_version=0))
    stale = m.refused(SetRooms(list(CLINIC.rooms[:-1]), expected_version=0))
    assert stale.why is Why.stale_version
    assert m.refused(SetProviders(providers(), expected_version=m.floor.setup_version), Role.front_desk).why is (
        Why.forbidden
    )


def test_the_audit_trail_says_each_change_in_words() -> None:
    m = Manager()
    new = [Provider("kim", "Dr. Jenna Kim-Lee", "JL") if p.id == "kim" else p for p in CLINIC.providers]
    entry = audit.entry(CLINIC.id, m.tap(SetProviders([p for p in new if p.id != "hart"] + [PATEL])))
    assert entry.changes == [
        "Took out provider Dr. Aaron Hart (AH)",
        "Renamed provider Dr. Jenna Kim to Dr. Jenna Kim-Lee",
        "Changed Dr. Jenna Kim-Lee's initials from JK to JL",
        "Added provider Dr. Ravi Patel (RP)",
    ]
