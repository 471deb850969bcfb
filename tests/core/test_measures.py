"""The day's measures, checked against a small day worked out by hand.

The day (Wednesday 2025-03-12, clinic time), as the desk taps it; now is 10:45.

  kim     A follow  09:00  arrived 08:52, roomed 09:00, prep 09:02, provider 09:04, teach-back 09:20, out 09:25
          B follow  09:20  arrived 09:15, roomed 09:27, prep 09:30, provider 09:33, out 09:45 (no teach-back)
          C new     10:00  no-show at 10:15
          D annual  10:30  arrived 10:20, waiting
  okafor  E new     09:00  arrived 08:50, roomed 08:58, prep 09:03, provider 09:25 (the late start),
                           teach-back 09:50, out 09:55
          F walk-in        added 09:40, roomed 09:50, left without being seen 10:20
          G follow  10:00  cancelled at 08:00
          H follow  10:20  arrived 10:10, roomed 10:15, prep 10:18, provider 10:22, with the provider
  silva   I annual  09:30  arrived 09:20, roomed 09:24, prep 09:28, provider 09:30, teach-back 09:50, out 09:53
          J walk-in        added 10:00, roomed 10:05, prep 10:08, provider 10:12, teach-back 10:24, out 10:26
  hart    K follow  11:30  booked, not yet due

Lateness is measured against each scheduled visit's planned provider-in: start + the visit type's expected
minutes roomed + prep_done (the demo clinic's: new 10 + 4 = 14, follow 6 + 3 = 9, annual 8 + 3 = 11).

  planned provider-in  A 09:09  B 09:29  C 10:14  D 10:41  E 09:14  G 10:09  H 10:29  I 09:41  K 11:39
"""

from __future__ import annotations

import datetime as dt

import msgspec

from floor.config import demo_clinic
from floor.core.commands import BookVisit, Command, MoveVisit, TakeStep, Tap, UndoStep
from floor.core.events import AlertDetail, AlertRaised, Event
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.journey import Stage
from floor.core.measures import ClinicMeasures, Durations, Measures, Share, durations, measure
from floor.core.projection import project
from floor.days import alerts_raised, closed_at, day_measures

CLINIC = demo_clinic()
TZ = CLINIC.tz
DAY = dt.date(2025, 3, 12)


def at(hhmm: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime(2025, 3, 12, hour, minute, tzinfo=TZ)


NOW = at("10:45")


class Day:
    """A floor worked by taps at given clinic times; visits are named by letter."""

    def __init__(self) -> None:
        self.floor = Floor(CLINIC, DAY, ids=Ids.seeded())
        self.ids: dict[str, str] = {}
        #: The day's events, as the log would hold them.
        self.events: list[Event] = []

    def tap(self, hhmm: str, command: Command) -> Event:
        event = self.floor.decide(command, Tap("ana", "desk-1", at(hhmm)))
        self.floor.apply(event)
        self.events.append(event)
        return event

    def book(self, hhmm: str, key: str, provider: str, visit_type: str, start: str) -> None:
        self.ids[key] = self.tap(hhmm, BookVisit(f"Patient {key}", provider, visit_type, start=at(start))).visit

    def walk_in(self, hhmm: str, key: str, provider: str, visit_type: str) -> None:
        self.ids[key] = self.tap(hhmm, BookVisit(f"Patient {key}", provider, visit_type, walk_in=True)).visit

    def step(self, hhmm: str, key: str, step: Stage, room: str | None = None) -> None:
        self.tap(hhmm, TakeStep(self.ids[key], step, room))

    def undo(self, hhmm: str, key: str) -> None:
        self.tap(hhmm, UndoStep(self.ids[key]))


def the_day() -> Day:
    d = Day()
    for key, provider, visit_type, start in [
        ("A", "kim", "follow", "09:00"),
        ("B", "kim", "follow", "09:20"),
        ("C", "kim", "new", "10:00"),
        ("D", "kim", "annual", "10:30"),
        ("E", "okafor", "new", "09:00"),
        ("G", "okafor", "follow", "10:00"),
        ("H", "okafor", "follow", "10:20"),
        ("I", "silva", "annual", "09:30"),
        ("K", "hart", "follow", "11:30"),
    ]:
        d.book("07:30", key, provider, visit_type, start)
    s = Stage
    d.step("08:00", "G", s.cancelled)
    d.step("08:50", "E", s.arrived)
    d.step("08:52", "A", s.arrived)
    d.step("08:58", "E", s.roomed, "e3")
    d.step("09:00", "A", s.roomed, "e1")
    d.step("09:02", "A", s.prep_done)
    d.step("09:03", "E", s.prep_done)
    d.step("09:04", "A", s.provider_in)
    d.step("09:15", "B", s.arrived)
    d.step("09:20", "A", s.teach_back_done)
    d.step("09:20", "I", s.arrived)
    d.step("09:24", "I", s.roomed, "w1")
    d.step("09:25", "A", s.checked_out)
    d.step("09:25", "E", s.provider_in)
    d.step("09:27", "B", s.roomed, "e2")
    d.step("09:28", "I", s.prep_done)
    d.step("09:30", "B", s.prep_done)
    d.step("09:30", "I", s.provider_in)
    d.step("09:33", "B", s.provider_in)
    d.walk_in("09:40", "F", "okafor", "new")
    d.step("09:45", "B", s.checked_out)  # straight from provider_in: without teach-back
    d.step("09:50", "E", s.teach_back_done)
    d.step("09:50", "F", s.roomed, "e4")
    d.step("09:50", "I", s.teach_back_done)
    d.step("09:53", "I", s.checked_out)
    d.step("09:55", "E", s.checked_out)
    d.walk_in("10:00", "J", "silva", "follow")
    d.step("10:05", "J", s.roomed, "w2")
    d.step("10:08", "J", s.prep_done)
    d.step("10:10", "H", s.arrived)
    d.step("10:12", "J", s.provider_in)
    d.step("10:15", "C", s.no_show)
    d.step("10:15", "H", s.roomed, "e5")
    d.step("10:18", "H", s.prep_done)
    d.step("10:20", "D", s.arrived)
    d.step("10:20", "F", s.left_without_being_seen)
    d.step("10:22", "H", s.provider_in)
    d.step("10:24", "J", s.teach_back_done)
    d.step("10:26", "J", s.checked_out)
    return d


NONE = Durations(0, None, None)
NO_SHARE = Share(0, 0, None)

KIM = Measures(
    booked=4,
    seen=2,
    checked_out=2,
    no_show=1,
    cancelled=0,
    left_without_being_seen=0,
    waiting=1,  # A B C D
    arrival_to_roomed=Durations(2, 10.0, 12.0),  # A 08:52→09:00 = 8, B 09:15→09:27 = 12; median (8+12)/2
    roomed_to_provider=Durations(2, 5.0, 6.0),  # A 09:00→09:04 = 4, B 09:27→09:33 = 6
    arrival_to_provider=Durations(2, 15.0, 18.0),  # A 08:52→09:04 = 12, B 09:15→09:33 = 18
    time_with_provider=Durations(2, 14.0, 16.0),  # A 09:04→teach-back 09:20 = 16, B 09:33→out 09:45 = 12
    cycle_time=Durations(2, 31.5, 33.0),  # A 08:52→09:25 = 33, B 09:15→09:45 = 30
    on_time_starts=Share(2, 2, 1.0),  # A 09:04 vs 09:09 = 0 late; B 09:33 vs 09:29 = 4 late (on time)
    teach_back_rate=Share(2, 1, 0.5),  # A done, B not
    no_show_rate=Share(4, 1, 0.25),  # A B C D all started by 10:45; C a no-show
    current_lateness=4.0,  # D planned 10:30 + 11 = 10:41, still waiting: 10:45 - 10:41
    worst_lateness=4.0,  # max(A 0, B 4, D 4)
    alerts_raised=2,
    untapped_in=0,
)
OKAFOR = Measures(
    booked=4,
    seen=2,
    checked_out=1,
    no_show=0,
    cancelled=1,
    left_without_being_seen=1,
    waiting=0,  # E F G H
    arrival_to_roomed=Durations(3, 8.0, 10.0),  # E 08:50→08:58 = 8, F 09:40→09:50 = 10, H 10:10→10:15 = 5
    roomed_to_provider=Durations(2, 17.0, 27.0),  # E 08:58→09:25 = 27, H 10:15→10:22 = 7; (27+7)/2
    arrival_to_provider=Durations(2, 23.5, 35.0),  # E 08:50→09:25 = 35, H 10:10→10:22 = 12; (35+12)/2
    time_with_provider=Durations(1, 25.0, 25.0),  # E 09:25→09:50 = 25 (H still with the provider)
    cycle_time=Durations(1, 65.0, 65.0),  # E 08:50→09:55 = 65
    # E planned 09:00 + 14 = 09:14, seen 09:25 = 11 late; H planned 10:20 + 9 = 10:29, seen 10:22 = 0 late
    # (on time); F a walk-in
    on_time_starts=Share(2, 1, 0.5),
    teach_back_rate=Share(1, 1, 1.0),  # E
    no_show_rate=Share(2, 0, 0.0),  # E H; G cancelled, F a walk-in
    current_lateness=0.0,  # nobody due is waiting; H's provider-in 10:22 was 0 late, 23 minutes ago
    worst_lateness=11.0,  # E
    alerts_raised=3,
    untapped_in=0,
)
SILVA = Measures(
    booked=2,
    seen=2,
    checked_out=2,
    no_show=0,
    cancelled=0,
    left_without_being_seen=0,
    waiting=0,  # I J
    arrival_to_roomed=Durations(2, 4.5, 5.0),  # I 09:20→09:24 = 4, J 10:00→10:05 = 5
    roomed_to_provider=Durations(2, 6.5, 7.0),  # I 09:24→09:30 = 6, J 10:05→10:12 = 7
    arrival_to_provider=Durations(2, 11.0, 12.0),  # I 09:20→09:30 = 10, J 10:00→10:12 = 12
    time_with_provider=Durations(2, 16.0, 20.0),  # I 09:30→09:50 = 20, J 10:12→10:24 = 12
    cycle_time=Durations(2, 29.5, 33.0),  # I 09:20→09:53 = 33, J 10:00→10:26 = 26
    on_time_starts=Share(1, 1, 1.0),  # I planned 09:30 + 11 = 09:41, seen 09:30 = 0 late; J a walk-in
    teach_back_rate=Share(2, 2, 1.0),  # I J
    no_show_rate=Share(1, 0, 0.0),  # I
    current_lateness=0.0,  # I's provider-in 09:30 was 75 minutes ago (J is a walk-in)
    worst_lateness=0.0,
    alerts_raised=0,
    untapped_in=0,
)
HART = Measures(
    booked=1,
    seen=0,
    checked_out=0,
    no_show=0,
    cancelled=0,
    left_without_being_seen=0,
    waiting=0,  # K
    arrival_to_roomed=NONE,
    roomed_to_provider=NONE,
    arrival_to_provider=NONE,
    time_with_provider=NONE,
    cycle_time=NONE,
    on_time_starts=NO_SHARE,
    teach_back_rate=NO_SHARE,
    no_show_rate=NO_SHARE,  # K starts 11:30, after now
    current_lateness=0.0,
    worst_lateness=0.0,
    alerts_raised=0,
    untapped_in=0,
)
CLINIC_WIDE = Measures(
    booked=11,
    seen=6,
    checked_out=5,
    no_show=1,
    cancelled=1,
    left_without_being_seen=1,
    waiting=1,
    # A8 B12 E8 F10 H5 I4 J5 → 4 5 5 [8] 8 10 12; p90 rank ceil(6.3) = 7 → 12
    arrival_to_roomed=Durations(7, 8.0, 12.0),
    # A4 B6 E27 H7 I6 J7 → 4 6 [6 7] 7 27; median (6+7)/2; p90 rank ceil(5.4) = 6 → 27
    roomed_to_provider=Durations(6, 6.5, 27.0),
    # A12 B18 E35 H12 I10 J12 → 10 12 [12 12] 18 35; p90 rank 6 → 35
    arrival_to_provider=Durations(6, 12.0, 35.0),
    # A16 B12 E25 I20 J12 → 12 12 [16] 20 25; p90 rank ceil(4.5) = 5 → 25
    time_with_provider=Durations(5, 16.0, 25.0),
    # A33 B30 E65 I33 J26 → 26 30 [33] 33 65
    cycle_time=Durations(5, 33.0, 65.0),
    on_time_starts=Share(5, 4, 0.8),  # A B H I on time of A B E H I (E 11 late)
    teach_back_rate=Share(5, 4, 0.8),  # all but B of A B E I J
    no_show_rate=Share(7, 1, 0.143),  # 4 kim + 2 okafor + 1 silva; 1/7 = 0.1428…
    current_lateness=4.0,  # max(kim 4, okafor 0, silva 0, hart 0)
    worst_lateness=11.0,  # max(kim 4, okafor 11, silva 0, hart 0)
    alerts_raised=5,  # 2 + 3
    untapped_in=0,
)


def test_the_day_per_clinic_and_per_provider() -> None:
    result = measure(the_day().floor, NOW, {"kim": 2, "okafor": 3})
    assert result.at == NOW
    assert list(result.providers) == ["kim", "okafor", "silva", "hart"]  # every provider, in clinic order
    assert result.providers["kim"] == KIM
    assert result.providers["okafor"] == OKAFOR
    assert result.providers["silva"] == SILVA
    assert result.providers["hart"] == HART
    assert result.clinic == CLINIC_WIDE


def test_measures_travel_as_json() -> None:
    result = measure(the_day().floor, NOW, {"kim": 2, "okafor": 3})
    assert msgspec.json.decode(msgspec.json.encode(result), type=ClinicMeasures) == result
    wire = msgspec.json.decode(msgspec.json.encode(result))
    assert wire["providers"]["hart"]["cycle_time"] == {"count": 0, "median": None, "p90": None}
    assert wire["clinic"]["no_show_rate"] == {"count": 7, "hits": 1, "rate": 0.143}


def test_an_empty_day() -> None:
    result = measure(Floor(CLINIC, DAY, ids=Ids.seeded()), NOW)
    empty = Measures(
        booked=0,
        seen=0,
        checked_out=0,
        no_show=0,
        cancelled=0,
        left_without_being_seen=0,
        waiting=0,
        arrival_to_roomed=NONE,
        roomed_to_provider=NONE,
        arrival_to_provider=NONE,
        time_with_provider=NONE,
        cycle_time=NONE,
        on_time_starts=NO_SHARE,
        teach_back_rate=NO_SHARE,
        no_show_rate=NO_SHARE,
        current_lateness=0.0,
        worst_lateness=0.0,
        alerts_raised=0,
        untapped_in=0,
    )
    assert result.clinic == empty
    assert result.providers == {p.id: empty for p in CLINIC.providers}


def test_alerts_default_to_zero_and_the_clinic_total_is_the_sum() -> None:
    day = the_day()
    assert measure(day.floor, NOW).clinic.alerts_raised == 0
    result = measure(day.floor, NOW, {"silva": 4, "hart": 1})
    assert [m.alerts_raised for m in result.providers.values()] == [0, 0, 4, 1]
    assert result.clinic.alerts_raised == 5


def test_an_undone_step_leaves_the_measures() -> None:
    day = the_day()
    day.undo("10:46", "H")  # H's provider-in was a mistaken tap: H is back to prep done
    now = at("10:46")
    okafor = measure(day.floor, now).providers["okafor"]
    assert okafor.seen == 1  # E
    assert okafor.roomed_to_provider == Durations(1, 27.0, 27.0)  # E only
    assert okafor.arrival_to_provider == Durations(1, 35.0, 35.0)
    assert okafor.on_time_starts == Share(1, 0, 0.0)  # E, 11 late
    assert okafor.current_lateness == 17.0  # H planned 10:29, not yet seen: 10:46 - 10:29
    assert okafor.worst_lateness == 17.0  # now worse than E's 11
    clinic = measure(day.floor, now).clinic
    assert clinic.seen == 5
    assert clinic.worst_lateness == 17.0  # max(kim 10:46 - 10:41 = 5, okafor 17)


def test_an_undone_rooming_leaves_arrival_to_roomed() -> None:
    day = the_day()
    day.step("10:50", "D", Stage.roomed, "w3")
    assert measure(day.floor, at("10:50")).providers["kim"].arrival_to_roomed == Durations(3, 12.0, 30.0)  # 8 12 30
    day.undo("10:51", "D")
    kim = measure(day.floor, at("10:51")).providers["kim"]
    assert kim.arrival_to_roomed == KIM.arrival_to_roomed
    assert kim.waiting == 1


def test_current_lateness_grows_while_a_due_patient_is_not_seen() -> None:
    day = the_day()
    floor = day.floor
    # kim: D, planned 10:41, arrived and waiting: 10:45 - 10:41, 11:00 - 10:41, 11:17 - 10:41.
    assert [measure(floor, at(t)).providers["kim"].current_lateness for t in ("10:45", "11:00", "11:17")] == [
        4.0,
        19.0,
        36.0,
    ]
    # hart: K, starting 11:30, planned 11:39; not due at its start, nor at 11:39 itself. Not yet come at 11:49,
    # K leaves hart idle, not late (the manager's table said "10 min late" beside a projection of on time).
    assert [measure(floor, at(t)).providers["hart"].current_lateness for t in ("11:30", "11:39", "11:49")] == [
        0.0,
        0.0,
        0.0,
    ]
    day.step("11:28", "K", Stage.arrived)  # here in time, and not seen by 11:49
    later = measure(floor, at("11:49"))
    assert later.providers["hart"].current_lateness == 10.0
    assert later.providers["hart"].worst_lateness == 10.0  # 11:49 - 11:39
    assert later.clinic.current_lateness == 68.0  # kim: 11:49 - 10:41
    assert later.clinic.worst_lateness == 68.0


def test_a_provider_in_counts_as_current_lateness_for_an_hour() -> None:
    day = the_day()
    day.step("10:46", "D", Stage.roomed, "w3")
    day.step("10:48", "D", Stage.prep_done)
    day.step("10:50", "D", Stage.provider_in)
    # kim: D was seen at 10:50, 9 minutes after its planned 10:41, and nobody else of kim's is due.
    assert measure(day.floor, at("11:50")).providers["kim"].current_lateness == 9.0
    assert measure(day.floor, at("11:51")).providers["kim"].current_lateness == 0.0
    assert measure(day.floor, at("11:51")).providers["kim"].worst_lateness == 9.0  # max(A 0, B 4, D 9)
    # okafor: H, seen at 10:22 ahead of its planned 10:29, stands as 0 late; E's 11 stays the worst.
    assert measure(day.floor, at("11:22")).providers["okafor"].current_lateness == 0.0
    assert measure(day.floor, at("11:22")).providers["okafor"].worst_lateness == 11.0


def test_seen_on_time_within_the_grace() -> None:
    day = Day()
    day.book("07:30", "A", "kim", "follow", "09:00")
    day.book("07:30", "B", "kim", "follow", "09:00")
    for key, room in (("A", "e1"), ("B", "e2")):
        day.step("08:50", key, Stage.arrived)
        day.step("08:55", key, Stage.roomed, room)
        day.step("08:58", key, Stage.prep_done)
    # Both planned 09:00 + 6 + 3 = 09:09.
    day.step("09:14", "A", Stage.provider_in)  # 5 late: on time
    day.step("09:15", "B", Stage.provider_in)  # 6 late: not
    kim = measure(day.floor, at("09:20")).providers["kim"]
    assert kim.on_time_starts == Share(2, 1, 0.5)
    assert kim.current_lateness == 6.0  # B, the most recent provider-in
    assert kim.time_with_provider == NONE  # nobody has finished with the provider


def test_lateness_is_measured_from_the_planned_provider_in() -> None:
    day = Day()
    day.book("07:30", "A", "kim", "follow", "09:00")
    day.book("07:30", "B", "okafor", "follow", "09:00")
    # In time order (a tap is never before the floor's last: B's arrival after A's prep was at 09:06, late).
    for hhmm, step in (("08:55", Stage.arrived), ("09:00", Stage.roomed), ("09:06", Stage.prep_done)):
        for key, room in (("A", "e1"), ("B", "e2")):
            day.step(hhmm, key, step, room if step is Stage.roomed else None)
    # Both planned 09:00 + 6 + 3 = 09:09.
    day.step("09:09", "A", Stage.provider_in)  # exactly to plan
    day.step("09:15", "B", Stage.provider_in)  # 6 minutes after the plan
    result = measure(day.floor, at("09:20"))
    kim, okafor = result.providers["kim"], result.providers["okafor"]
    assert (kim.current_lateness, kim.worst_lateness) == (0.0, 0.0)
    assert kim.on_time_starts == Share(1, 1, 1.0)
    assert (okafor.current_lateness, okafor.worst_lateness) == (6.0, 6.0)
    assert okafor.on_time_starts == Share(1, 0, 0.0)
    assert result.clinic.on_time_starts == Share(2, 1, 0.5)


def test_a_visit_seen_early_is_not_late() -> None:
    day = Day()
    day.book("07:30", "A", "silva", "follow", "09:30")
    day.step("08:50", "A", Stage.arrived)
    day.step("08:55", "A", Stage.roomed, "e1")
    day.step("08:58", "A", Stage.prep_done)
    day.step("09:10", "A", Stage.provider_in)  # 29 minutes before its planned 09:39: 0 late, not -29
    silva = measure(day.floor, at("09:15")).providers["silva"]
    assert (silva.current_lateness, silva.worst_lateness) == (0.0, 0.0)
    assert silva.on_time_starts == Share(1, 1, 1.0)


def test_no_show_rate_counts_an_early_end_but_not_a_future_visit() -> None:
    day = Day()
    day.book("07:30", "A", "kim", "follow", "11:00")
    day.book("07:30", "B", "kim", "follow", "11:20")
    day.book("07:30", "C", "kim", "follow", "11:40")
    day.book("07:30", "D", "kim", "follow", "10:40")
    day.step("08:00", "A", Stage.no_show)  # marked a no-show before its start: it has ended
    day.step("08:10", "C", Stage.cancelled)
    assert measure(day.floor, at("09:00")).clinic.no_show_rate == Share(1, 1, 1.0)  # A; B not due, C cancelled
    day.step("11:10", "B", Stage.arrived)  # 10 minutes early
    assert measure(day.floor, at("11:15")).clinic.no_show_rate == Share(1, 1, 1.0)  # B not due yet
    # B counts from its start 11:20, though its planned provider-in (11:29) is still to come. D, past its time and
    # neither come nor marked a no-show, is neither yet (it counted as shown: a review).
    assert measure(day.floor, at("11:20")).clinic.no_show_rate == Share(2, 1, 0.5)  # A B


def test_durations_use_the_nearest_rank_p90() -> None:
    assert durations([]) == Durations(0, None, None)
    assert durations([7.0]) == Durations(1, 7.0, 7.0)
    # 1..10: median (5+6)/2; p90 rank ceil(0.9 * 10) = 9 → 9
    assert durations([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]) == Durations(10, 5.5, 9.0)
    # 1..11: p90 rank ceil(9.9) = 10 → 10
    assert durations(range(1, 12)) == Durations(11, 6.0, 10.0)
    assert durations([1 / 3, 2 / 3]) == Durations(2, 0.5, 0.7)


def test_a_patient_moved_to_another_provider_is_late_in_the_clinics_measures_not_the_new_providers() -> None:
    day = the_day()
    before = measure(day.floor, at("10:46"))
    # D (kim's, planned 10:41) has waited since 10:20; at 10:46 the desk sends them to Dr. Hart, who sees them at
    # 11:05: 24 minutes late.
    day.tap("10:46", MoveVisit(day.ids["D"], "hart"))
    day.step("10:48", "D", Stage.roomed, "w3")
    day.step("10:50", "D", Stage.prep_done)
    assert measure(day.floor, at("11:00")).providers["hart"].current_lateness == 0.0  # K is not due
    day.step("11:05", "D", Stage.provider_in)
    after = measure(day.floor, at("11:10"))
    hart = after.providers["hart"]
    assert (hart.booked, hart.seen, hart.on_time_starts.count, hart.worst_lateness) == (2, 1, 0, 0.0)
    assert after.providers["kim"].booked == before.providers["kim"].booked - 1
    started, on_time = before.clinic.on_time_starts.count, before.clinic.on_time_starts.hits
    assert (after.clinic.on_time_starts.count, after.clinic.on_time_starts.hits) == (started + 1, on_time)


def untapped_morning(*, tapped_on_walking_in: bool) -> Day:
    """Kim's A (follow, 09:00, planned provider-in 09:09) walked in to at 09:10 and done at 09:25, and B (follow,
    09:20, planned 09:29) seen 09:45 to 10:00. A's provider-in is tapped on walking in, or only with the teach-back."""
    day = Day()
    day.book("07:30", "A", "kim", "follow", "09:00")
    day.book("07:30", "B", "kim", "follow", "09:20")
    s = Stage
    day.step("08:52", "A", s.arrived)
    day.step("09:00", "A", s.roomed, "e1")
    day.step("09:02", "A", s.prep_done)
    if tapped_on_walking_in:
        day.step("09:10", "A", s.provider_in)
    day.step("09:15", "B", s.arrived)
    if not tapped_on_walking_in:
        day.step("09:25", "A", s.provider_in)  # provider in and teach-back, tapped together on the way out
    day.step("09:25", "A", s.teach_back_done)
    day.step("09:27", "A", s.checked_out)
    day.step("09:41", "B", s.roomed, "e2")
    day.step("09:43", "B", s.prep_done)
    day.step("09:45", "B", s.provider_in)
    day.step("10:00", "B", s.teach_back_done)
    day.step("10:02", "B", s.checked_out)
    return day


def test_a_visit_whose_provider_in_was_tapped_with_its_end_is_left_out_of_the_measures_from_provider_in() -> None:
    tapped = measure(untapped_morning(tapped_on_walking_in=True).floor, at("10:30")).providers["kim"]
    untapped = measure(untapped_morning(tapped_on_walking_in=False).floor, at("10:30")).providers["kim"]
    assert (tapped.seen, tapped.untapped_in) == (2, 0)
    assert tapped.arrival_to_provider == Durations(2, 24.0, 30.0)  # A 18, B 30
    assert tapped.time_with_provider == Durations(2, 15.0, 15.0)
    assert tapped.on_time_starts == Share(2, 1, 0.5)  # A 1 late, B 16
    # Tapped only at its end, A would have waited 33 minutes for a provider it had for none, and started 16 late:
    # its walking in is unknown, so only B is measured from provider-in. It was still seen.
    assert (untapped.seen, untapped.untapped_in) == (2, 1)
    assert untapped.arrival_to_provider == Durations(1, 30.0, 30.0)
    assert untapped.roomed_to_provider == Durations(1, 4.0, 4.0)
    assert untapped.time_with_provider == Durations(1, 15.0, 15.0)
    assert untapped.on_time_starts == Share(1, 0, 0.0)
    assert (untapped.current_lateness, untapped.worst_lateness) == (16.0, 16.0)
    assert untapped.cycle_time == tapped.cycle_time  # arriving to checking out: both tapped as they happened
    clinic = measure(untapped_morning(tapped_on_walking_in=False).floor, at("10:30")).clinic
    assert (clinic.untapped_in, clinic.arrival_to_provider.count, clinic.worst_lateness) == (1, 1, 16.0)


def test_a_visit_whose_provider_in_was_tapped_with_its_end_has_no_lateness_known() -> None:
    # A (follow, 09:00, planned provider-in 09:09), prepped at 09:02; provider in and teach-back tapped together at
    # 09:55. Before that tap A seemed to wait: 46 minutes late now. By its taps A started at 09:55, 46 late; when Kim
    # walked in is not known, so A is in no lateness once the tap is made, and counted as such.
    day = Day()
    day.book("07:30", "A", "kim", "follow", "09:00")
    day.step("08:52", "A", Stage.arrived)
    day.step("09:00", "A", Stage.roomed, "e1")
    day.step("09:02", "A", Stage.prep_done)
    waiting = measure(day.floor, at("09:55")).providers["kim"]
    assert (waiting.current_lateness, waiting.worst_lateness) == (46.0, 46.0)
    day.step("09:55", "A", Stage.provider_in)
    day.step("09:55", "A", Stage.teach_back_done)
    kim = measure(day.floor, at("09:56")).providers["kim"]
    assert (kim.current_lateness, kim.worst_lateness, kim.untapped_in) == (0.0, 0.0, 1)
    assert kim.on_time_starts == NO_SHARE


def test_a_patient_not_come_is_no_lateness_of_the_provider_now_nor_as_a_past_day_closed() -> None:
    """The provider's table said "31 min / 31 min" late beside a projection (and a tile) of on time, for a patient
    booked at 09:00 who had not come; on a day gone by, a patient who never came and was not marked a no-show was
    hours of the provider's lateness at the close (a hostile review)."""
    day = Day()
    day.book("07:30", "A", "kim", "follow", "09:00")
    day.book("07:30", "B", "kim", "follow", "09:20")
    for hhmm, step, room in (("09:15", Stage.arrived, None), ("09:20", Stage.roomed, "e1")):
        day.step(hhmm, "B", step, room)
    day.step("09:24", "B", Stage.prep_done)
    day.step("09:28", "B", Stage.provider_in)
    kim = measure(day.floor, at("09:40")).providers["kim"]
    assert (kim.current_lateness, kim.worst_lateness) == (0.0, 0.0)
    closed = day_measures(CLINIC, DAY, day.events).providers["kim"]
    assert closed.worst_lateness == 0.0 and closed.on_time_starts.rate == 1.0


def test_a_past_day_is_measured_at_its_last_tap_not_at_floors_last_alert_update() -> None:
    """With a provider's last steps never tapped, Floor kept a cascade up to date until midnight, and the day was
    measured then: 510 minutes late where the close said 91 (a hostile review)."""
    day = Day()
    day.book("07:30", "A", "kim", "follow", "16:00")
    day.step("15:55", "A", Stage.arrived)  # never seen: waiting at the 17:00 close
    closes = CLINIC.local(DAY, CLINIC.session.closes)
    planned = at("16:09")  # 16:00 + rooming and prep, 6 + 3
    alert = day.floor.record(
        AlertRaised("a1", "dwell", AlertDetail(minutes=360.0, limit=20), "kim", day.ids["A"], Stage.arrived),
        Tap("floor", "floor", closes + dt.timedelta(hours=6)),
    )
    day.floor.apply(alert)
    day.events.append(alert)
    assert closed_at(CLINIC, DAY, day.events) == closes
    kim = day_measures(CLINIC, DAY, day.events).providers["kim"]
    assert kim.worst_lateness == (closes - planned).total_seconds() / 60


def test_a_providers_no_show_rate_keeps_a_patient_booked_with_them_who_came_and_was_moved() -> None:
    """Of two patients booked with kim, one never came and one came and was moved to hart: kim's no-show rate
    read 100% (1 of 1), the clinic's 50% (a hostile review)."""
    day = Day()
    day.book("07:30", "A", "kim", "follow", "09:00")
    day.book("07:30", "B", "kim", "follow", "09:20")
    day.step("08:55", "B", Stage.arrived)
    day.tap("09:00", MoveVisit(day.ids["B"], "hart"))
    day.step("09:30", "A", Stage.no_show)
    result = measure(day.floor, at("09:40"))
    assert result.clinic.no_show_rate == Share(2, 1, 0.5)
    assert result.providers["kim"].no_show_rate == Share(2, 1, 0.5)
    assert result.providers["hart"].no_show_rate.count == 0


def test_an_alert_raised_for_a_provider_stays_counted_as_theirs_after_the_patient_is_moved() -> None:
    """A dwell alert raised while a patient waited for kim follows them to hart on the screens; in the measures it
    was counted as hart's, and kim's read 0 (a hostile review)."""
    day = Day()
    day.book("07:30", "B", "kim", "follow", "09:00")
    day.step("09:00", "B", Stage.arrived)
    raised = day.floor.record(
        AlertRaised("a1", "dwell", AlertDetail(minutes=20.0, limit=20), "kim", day.ids["B"], Stage.arrived),
        Tap("floor", "floor", at("09:20")),
    )
    day.floor.apply(raised)
    day.events.append(raised)
    day.tap("09:25", MoveVisit(day.ids["B"], "hart"))
    assert day.floor.alerts["a1"].provider == "hart"  # the screens name the provider the patient waits for now
    past = day_measures(CLINIC, DAY, day.events)
    assert past.providers["kim"].alerts_raised == 1 and past.providers["hart"].alerts_raised == 0
    assert alerts_raised(day.floor, day.events) == {"kim": 1}


def test_the_wait_under_the_provider_a_patient_left_is_not_the_new_providers() -> None:
    """B waited 20 minutes for kim in a room, was moved to hart, and hart was in 5 minutes later: hart's
    "arrival to provider" read 25 and "wait in room" 20. The new provider's wait starts at the move (as the README
    says); the clinic's is the patient's whole wait (a hostile review)."""
    day = Day()
    day.book("07:30", "B", "kim", "follow", "09:00")
    day.step("09:00", "B", Stage.arrived)
    day.step("09:05", "B", Stage.roomed, "e1")
    day.step("09:08", "B", Stage.prep_done)
    day.tap("09:20", MoveVisit(day.ids["B"], "hart"))
    day.step("09:25", "B", Stage.provider_in)
    result = measure(day.floor, at("09:30"))
    hart = result.providers["hart"]
    assert (hart.arrival_to_provider.median, hart.roomed_to_provider.median) == (5.0, 5.0)
    assert hart.arrival_to_roomed.count == 0  # roomed before the move: the wait for a room was kim's
    assert (result.clinic.arrival_to_provider.median, result.clinic.roomed_to_provider.median) == (25.0, 20.0)


def test_a_patient_who_came_late_is_not_the_providers_lateness_as_in_the_projection() -> None:
    """Booked 09:00, come at 09:50: the projection (the manager's tile) said kim on time and the table 42 minutes
    late (a hostile review). Nor is it the clinic's, the largest over its providers (it counted the patient's wait
    as the clinic's 42 minutes; a review)."""
    day = Day()
    day.book("07:30", "X", "kim", "follow", "09:00")
    day.step("09:50", "X", Stage.arrived)
    now = at("09:51")
    assert project(day.floor, "kim", now).lateness == 0
    result = measure(day.floor, now)
    assert (result.providers["kim"].current_lateness, result.providers["kim"].worst_lateness) == (0.0, 0.0)
    assert (result.clinic.current_lateness, result.clinic.worst_lateness) == (0.0, 0.0)


def test_a_past_day_measured_at_its_close_counts_no_alert_raised_after_it() -> None:
    day = Day()
    day.book("07:30", "X", "kim", "follow", "09:00")
    for hhmm, step in (("08:55", Stage.arrived), ("09:00", Stage.roomed), ("09:03", Stage.prep_done)):
        day.step(hhmm, "X", step, "e1" if step is Stage.roomed else None)
    day.step("09:09", "X", Stage.provider_in)
    day.step("09:20", "X", Stage.teach_back_done)  # never checked out: a dwell alert long after the close
    late = day.floor.record(
        AlertRaised("a1", "dwell", AlertDetail(minutes=180.0, limit=20), "kim", day.ids["X"], Stage.teach_back_done),
        Tap("floor", "floor", at("20:00")),
    )
    day.floor.apply(late)
    day.events.append(late)
    past = day_measures(CLINIC, DAY, day.events)
    assert past.at == CLINIC.local(DAY, CLINIC.session.closes)
    assert past.providers["kim"].alerts_raised == 0 and past.clinic.alerts_raised == 0
