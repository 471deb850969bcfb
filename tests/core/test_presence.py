"""Provider presence on hand-built days: the taps (roles, undo, fold, replay), what they do to the projection
and the cascade alert, and a provider presumed away with no tap."""

from __future__ import annotations

import datetime as dt

import pytest

import floor.core.projection as projection
from floor.config import demo_clinic
from floor.core.access import Role
from floor.core.alerts import review
from floor.core.commands import BookVisit, Command, MarkPresence, TakeStep, Tap, UndoPresence, UndoStep
from floor.core.errors import Refusal, Why
from floor.core.events import AlertRaised, PresenceUndone, ProviderPresence
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.presence import Presence
from floor.core.projection import absent_until, project
from floor.replay import replay

CLINIC = demo_clinic()  # follow-up: slot 20, roomed 6, prep_done 3, provider 12 -> planned provider-in start+9
DAY = dt.date(2026, 11, 23)
MA, PROVIDER, DESK, MANAGER = Role.medical_assistant, Role.provider, Role.front_desk, Role.manager


def at(hhmm: str) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return dt.datetime(2026, 11, 23, h, m, tzinfo=CLINIC.tz)


def hm(t: dt.datetime) -> str:
    return t.strftime("%H:%M")


class Day:
    """A floor run minute by minute: planned taps made at their times, alerts reviewed (and stored) after each
    minute as the runtime does. `first_raise` is when the first cascade was raised."""

    def __init__(self) -> None:
        self.floor = Floor(CLINIC, DAY, ids=Ids.seeded())
        self.planned: list[tuple[dt.datetime, Command, Tap | None]] = []
        self.now = at("07:30")
        self.first_raise: dt.datetime | None = None
        self.events = []

    def tap(self, when: str, command: Command, who: str = "staff", role: Role | None = None):
        event = self.floor.decide(command, Tap(who, "t1", at(when), role, _linked(who, role)))
        self.floor.apply(event)
        self.events.append(event)
        return event

    def book(self, *starts: str, provider: str = "kim") -> list[str]:
        return [self.tap("07:30", BookVisit(f"P {s}", provider, "follow", at(s))).change.visit for s in starts]

    def plan(self, when: dt.datetime, command: Command) -> None:
        self.planned.append((when, command, None))

    def prepped_on_time(self, visit: str, start: str, room: str) -> None:
        """The patient comes early, is roomed at the booked time and prepped 6 minutes later."""
        s = at(start)
        self.plan(s - dt.timedelta(minutes=5), TakeStep(visit, Stage.arrived))
        self.plan(s, TakeStep(visit, Stage.roomed, room))
        self.plan(s + dt.timedelta(minutes=6), TakeStep(visit, Stage.prep_done))

    def seen(self, visit: str, provider_in: str, minutes: int = 12) -> None:
        t = at(provider_in)
        self.plan(t, TakeStep(visit, Stage.provider_in))
        self.plan(t + dt.timedelta(minutes=minutes), TakeStep(visit, Stage.checked_out))

    def run(self, until: str) -> None:
        end = at(until)
        while self.now < end:
            self.now += dt.timedelta(minutes=1)
            due = sorted((p for p in self.planned if p[0] <= self.now), key=lambda p: p[0])
            self.planned = [p for p in self.planned if p[0] > self.now]
            for when, command, _ in due:
                self.tap(hm(when), command)
            for change in review(self.floor, self.now):
                self.floor.apply(self.floor.record(change, Tap("floor", "server", self.now)))
                if isinstance(change, AlertRaised) and change.kind == "cascade" and self.first_raise is None:
                    self.first_raise = self.now


ROOMS = ["e1", "e2", "e3", "e4", "w1", "w2", "w3", "e5"]
STARTS = ("08:00", "08:20", "08:40", "09:00", "09:20", "09:40")


def _never_started() -> Day:
    """Follow-ups every 20 minutes from the opening (8:00); every patient is ready on time; the provider
    starts nobody."""
    day = Day()
    visits = day.book(*STARTS)
    for v, s, room in zip(visits, STARTS, ROOMS, strict=False):
        day.prepped_on_time(v, s, room)
    return day


@pytest.fixture
def no_autodetect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(projection, "ABSENT_NOTICE", float("inf"))


def test_a_provider_who_has_not_started_raises_the_cascade_before_patients_pile_up() -> None:
    day = _never_started()
    day.run("09:10")
    assert day.first_raise is not None
    # Raised while two patients wait, before the third is roomed (8:40) and long before the third visit is
    # 10 minutes late (planned provider-in 8:49 + 10).
    assert day.first_raise < at("08:36")


def test_without_noticing_the_absence_the_same_morning_raises_only_once_patients_pile_up(no_autodetect) -> None:
    day = _never_started()
    day.run("09:10")
    assert day.first_raise is not None and day.first_raise >= at("08:35")


def test_auto_detection_waits_for_a_ready_patient_past_due_and_grows_with_the_wait() -> None:
    day = _never_started()
    day.run("08:14")  # first patient prepped 8:06, due 8:09: five minutes is not an absence
    assert absent_until(day.floor, "kim", day.now) == day.now
    day.run("08:19")  # ten minutes past due with nobody started: presumed away
    first = absent_until(day.floor, "kim", day.now) - day.now
    day.run("08:29")
    later = absent_until(day.floor, "kim", day.now) - day.now
    assert dt.timedelta(0) < first < later <= dt.timedelta(minutes=projection.ABSENT_CAP)
    # Another provider with nobody booked is not presumed away.
    assert absent_until(day.floor, "okafor", day.now) == day.now


def test_a_walk_in_left_waiting_over_a_gap_in_the_schedule_does_not_make_the_provider_presumed_away() -> None:
    # Dr. Kim's morning ends at 12:00 and her afternoon starts at 13:00 (a lunch the clinic file does not know).
    # A walk-in comes at 12:19 and is ready by 12:27; she sees them when she is back. A walk-in is fitted in
    # around the booked day, so their wait says nothing of where she is: at 12:59 she is not presumed away,
    # and her 13:00 patient is not projected late behind an absence (unseen_days.py: a cascade raised at 12:59
    # and cleared at 13:00, when she walked in to the walk-in). A booked patient left waiting would say it.
    day = Day()
    (afternoon,) = day.book("13:00")
    walk_in = day.tap("12:19", BookVisit("P Walk In", "kim", "follow", walk_in=True)).change.visit
    day.tap("12:21", TakeStep(walk_in, Stage.roomed, "e1"))
    day.tap("12:27", TakeStep(walk_in, Stage.prep_done))
    assert absent_until(day.floor, "kim", at("12:59")) == at("12:59")
    projected = {p.visit: p for p in project(day.floor, "kim", at("12:59")).visits}
    assert projected[afternoon].lateness < CLINIC.thresholds.cascade_minutes


def _normal_morning(day: Day) -> list[str]:
    """A provider seeing every patient about on time (12 minutes each), with one patient on hand at 9:00."""
    visits = day.book(*STARTS)
    for v, s, room in zip(visits, STARTS, ROOMS, strict=False):
        day.prepped_on_time(v, s, room)
    day.seen(visits[0], "08:09")
    day.seen(visits[1], "08:29")
    day.seen(visits[2], "08:49")
    return visits


#: Back-to-back follow-ups, 12 minutes apart (as long as each takes with the provider): no room to catch up.
TIGHT = tuple(hm(at("08:00") + dt.timedelta(minutes=12 * k)) for k in range(8))


def _tight_morning(day: Day) -> list[str]:
    """The first five patients seen on time, the last ending at 9:09; the sixth is ready and due at 9:09."""
    visits = day.book(*TIGHT)
    for v, s, room in zip(visits, TIGHT, ROOMS, strict=True):
        day.prepped_on_time(v, s, room)
    for v, s in zip(visits[:5], TIGHT, strict=False):
        day.seen(v, hm(at(s) + dt.timedelta(minutes=9)))
    day.run("09:09")
    return visits


def test_a_normal_morning_presumes_nobody_away_and_raises_nothing() -> None:
    day = Day()
    visits = _normal_morning(day)
    for v, s in zip(visits[3:], ("09:09", "09:29", "09:49"), strict=True):
        day.seen(v, s)
    day.run("10:10")
    assert day.first_raise is None
    assert not [a for a in day.floor.alerts.values() if a.kind == "cascade"]
    tight = Day()
    visits = _tight_morning(tight)
    for v, s in zip(visits[5:], TIGHT[5:], strict=True):
        tight.seen(v, hm(at(s) + dt.timedelta(minutes=9)))
    tight.run("10:00")
    assert tight.first_raise is None


def test_stepped_away_30_makes_the_projection_late_and_raises_the_cascade_sooner() -> None:
    tapped, untapped = Day(), Day()
    visits = _tight_morning(tapped)
    _tight_morning(untapped)
    before = project(untapped.floor, "kim", at("09:09"))
    tapped.tap("09:09", MarkPresence("kim", Presence.stepped_away, 30), "kim", PROVIDER)
    after = project(tapped.floor, "kim", at("09:09"))
    starts = {p.visit: p.provider_in for p in after.visits}
    assert starts[visits[5]] >= at("09:39") > {p.visit: p.provider_in for p in before.visits}[visits[5]]
    assert after.lateness >= before.lateness + 25
    for day in (tapped, untapped):
        day.run("09:50")  # the provider does not come back meanwhile, in either day
    assert tapped.first_raise is not None and tapped.first_raise <= at("09:11")
    # With no tap the absence is noticed too, but only once the patient has waited past the notice.
    assert untapped.first_raise is not None and untapped.first_raise >= tapped.first_raise + dt.timedelta(minutes=8)


def test_marked_away_without_minutes_is_expected_back_after_a_short_while_and_never_before_now() -> None:
    day = Day()
    _tight_morning(day)
    day.tap("09:09", MarkPresence("kim", Presence.stepped_away), "ma-ben", MA)
    assert absent_until(day.floor, "kim", at("09:10")) == at("09:09") + dt.timedelta(minutes=projection.MARKED_MINUTES)
    # Long past when they were expected: still not free before a few minutes from now, until they are back.
    late = at("09:40")
    assert absent_until(day.floor, "kim", late) >= late + dt.timedelta(minutes=projection.MARKED_AT_LEAST)


def test_back_clears_the_mark_and_the_projection_is_as_if_nobody_had_tapped() -> None:
    day, untapped = Day(), Day()
    _tight_morning(day)
    _tight_morning(untapped)
    day.tap("09:09", MarkPresence("kim", Presence.stepped_away, 30), "kim", PROVIDER)
    assert project(day.floor, "kim", at("09:10")).lateness > 25
    day.tap("09:10", MarkPresence("kim", Presence.back), "kim", PROVIDER)
    assert day.floor.away("kim") is None
    for now in (at("09:10"), at("09:15")):
        assert project(day.floor, "kim", now) == project(untapped.floor, "kim", now)


def test_a_provider_seen_starting_a_patient_is_back_though_nobody_tapped_back() -> None:
    day = Day()
    visits = _tight_morning(day)
    day.tap("09:09", MarkPresence("kim", Presence.stepped_away, 30), "kim", PROVIDER)
    assert day.floor.away("kim") is not None
    day.seen(visits[5], "09:15")
    day.run("09:16")
    assert day.floor.away("kim") is None
    assert absent_until(day.floor, "kim", at("09:16")) == at("09:16")


def test_screens_are_told_the_provider_is_back_with_the_start_and_away_again_if_it_is_undone() -> None:
    """`away` ended the mark at the start, but the board's presence kept saying "stepped away" (the tablet showed
    it, its button pressed, while she was with a patient; a review)."""
    day = Day()
    visits = _tight_morning(day)
    day.tap("09:09", MarkPresence("kim", Presence.stepped_away, 30), "ma-lee", Role.medical_assistant)
    assert day.floor.presence_view("kim").status is Presence.stepped_away
    day.run("09:14")
    visit = day.floor.visits[visits[5]]
    assert visit.stage is Stage.prep_done

    def tapped(command: Command, when: str):
        return day.floor.apply(day.floor.decide(command, Tap("kim", "t1", at(when), PROVIDER, "kim")))

    told = tapped(TakeStep(visit.id, Stage.provider_in), "09:14")
    assert told.presence is not None and told.presence.status is Presence.back
    assert day.floor.presence_view("kim").status is Presence.back
    assert day.floor.presence_view("kim").version == 1  # an undo of the mark still names the version it saw
    told = tapped(UndoStep(visit.id), "09:15")
    assert told.presence is not None and told.presence.status is Presence.stepped_away
    assert day.floor.presence_view("kim").status is Presence.stepped_away


# -- the taps ----------------------------------------------------------------------------------------------


def _linked(who: str, role: Role | None) -> str | None:
    """The provider id a provider's sign-in is linked to: these tests' provider accounts are named after it."""
    return who if role is Role.provider else None


def test_a_provider_marks_the_provider_their_account_is_linked_to_whatever_their_sign_in_id() -> None:
    day = Day()
    linked = day.floor.decide(
        MarkPresence("kim", Presence.running_late), Tap("dr-jk", "t1", at("08:00"), PROVIDER, "kim")
    )
    assert linked.change.provider == "kim" and linked.actor == "dr-jk"
    with pytest.raises(Refusal):  # the sign-in id alone says nothing: an account not linked marks nobody
        day.floor.decide(MarkPresence("kim", Presence.running_late), Tap("kim", "t1", at("08:00"), PROVIDER))


def _refused(day: Day, command: Command, who: str, role: Role | None) -> Refusal:
    with pytest.raises(Refusal) as refused:
        day.floor.decide(command, Tap(who, "t1", at("08:00"), role, _linked(who, role)))
    return refused.value


def test_front_desk_is_refused_a_provider_may_mark_only_themself_an_assistant_any_provider() -> None:
    day = Day()
    desk = _refused(day, MarkPresence("kim", Presence.running_late), "desk-ana", DESK)
    assert desk.why is Why.forbidden and "Front desk cannot say where a provider is" in desk.message
    other = _refused(day, MarkPresence("okafor", Presence.running_late), "kim", PROVIDER)
    assert other.why is Why.forbidden and other.field == "provider"
    assert day.tap("07:50", MarkPresence("kim", Presence.running_late, 20), "kim", PROVIDER).change == ProviderPresence(
        "kim", Presence.running_late, 20
    )
    assert day.tap("07:51", MarkPresence("okafor", Presence.running_late), "ma-ben", MA).change.provider == "okafor"
    assert day.tap("07:52", MarkPresence("silva", Presence.stepped_away, 10), "mgr-dana", MANAGER).version == 1


def test_bad_presence_taps_are_refused_naming_the_field() -> None:
    day = Day()
    unknown = _refused(day, MarkPresence("nobody", Presence.stepped_away), "ma-ben", MA)
    assert (unknown.why, unknown.field) == (Why.not_found, "provider")
    minutes = _refused(day, MarkPresence("kim", Presence.back, 10), "ma-ben", MA)
    assert (minutes.why, minutes.field) == (Why.invalid, "back_in_minutes")
    too_long = _refused(day, MarkPresence("kim", Presence.stepped_away, 600), "ma-ben", MA)
    assert (too_long.why, too_long.field) == (Why.invalid, "back_in_minutes")
    visits = _normal_morning(day)
    assert visits
    day.run("08:30")  # kim has seen a patient: not "running late to clinic" any more
    seen = _refused(day, MarkPresence("kim", Presence.running_late), "ma-ben", MA)
    assert (seen.why, seen.field) == (Why.illegal_step, "status")


def test_undo_restores_the_presence_before_and_is_for_whoever_tapped_or_a_manager() -> None:
    day = Day()
    day.tap("08:30", MarkPresence("kim", Presence.stepped_away, 30), "ma-ben", MA)
    back = day.tap("08:40", MarkPresence("kim", Presence.back), "ma-lee", MA)
    assert day.floor.presence_view("kim").status is Presence.back
    other = _refused(day, UndoPresence("kim"), "ma-ben", MA)
    assert other.why is Why.forbidden and "ma-lee" in other.message
    stale = _refused(day, UndoPresence("kim", expected_version=1), "ma-lee", MA)
    assert stale.why is Why.stale_version
    undo = day.tap("08:41", UndoPresence("kim", expected_version=2), "ma-lee", MA)
    assert undo.change == PresenceUndone("kim", back.seq, Presence.back)
    view = day.floor.presence_view("kim")
    assert (view.status, view.since, view.back_at, view.by, view.version) == (
        Presence.stepped_away,
        at("08:30"),
        at("09:00"),
        "ma-ben",
        3,
    )
    day.tap("08:42", UndoPresence("kim"), "mgr-dana", MANAGER)  # a manager undoes anyone's
    assert day.floor.presence_of("kim") is None
    nothing = _refused(day, UndoPresence("kim"), "mgr-dana", MANAGER)
    assert nothing.why is Why.nothing_to_undo


def test_presence_folds_previews_and_replays_like_any_tap() -> None:
    day = _never_started()
    day.tap("07:45", MarkPresence("kim", Presence.running_late, 60), "kim", PROVIDER)
    event = day.floor.decide(UndoPresence("kim"), Tap("kim", "t1", at("07:46"), PROVIDER))
    touched = day.floor.preview(event)
    assert touched.presence is not None and touched.presence.status is Presence.back
    assert day.floor.presence_of("kim") is not None  # the preview left the floor as it was
    folded = Floor.fold(CLINIC, DAY, 0, day.events)
    assert folded.presence_view("kim") == day.floor.presence_view("kim")
    # Replayed offline, the running-late tap raises the cascade earlier than the same day without it.
    day.run("09:10")
    with_tap, _ = replay(CLINIC, day.events, until=at("09:10"))
    without, _ = replay(
        CLINIC, [e for e in day.events if not isinstance(e.change, ProviderPresence)], until=at("09:10")
    )

    def first(lines):
        return min(line.at for line in lines if isinstance(line.change, AlertRaised) and line.change.kind == "cascade")

    assert first(with_tap) < first(without)
