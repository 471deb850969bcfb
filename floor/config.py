"""Clinic configuration: a TOML file per clinic, decoded and validated by msgspec.

Every error names the field it is about (`... - at $.rooms[3].id`), so whoever edits the file can fix it.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
from importlib import resources
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import Meta, Struct

from floor.core.text import shown_alike, unreadable

Id = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="lowercase letters, digits, - and _")]
Label = Annotated[str, Meta(min_length=1, max_length=60)]
Minutes = Annotated[int, Meta(ge=0, le=600)]
PositiveMinutes = Annotated[int, Meta(ge=1, le=600)]


class ConfigError(ValueError):
    """A clinic file that cannot be used, with the file and the field named."""


class AppointmentTime(enum.StrEnum):
    """What a booked time means in this clinic, the yardstick of every "late"."""

    #: The patient is asked to arrive then; rooming and prep follow it (Floor's behaviour so far).
    arrival = "arrival"
    #: The provider walks in then; the patient comes earlier, so that rooming and prep are done before it.
    provider = "provider"


class Session(Struct, forbid_unknown_fields=True):
    opens: dt.time
    closes: dt.time
    #: What a booked time means here (issue 16): "arrival" or "provider".
    appointment_time: AppointmentTime = AppointmentTime.arrival

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValueError("session closes must be later than opens")


class Room(Struct, forbid_unknown_fields=True, frozen=True):
    id: Id
    label: Label
    zone: Id


class Provider(Struct, forbid_unknown_fields=True, frozen=True):
    id: Id
    name: Label
    initials: Annotated[str, Meta(pattern=r"^[A-Z]{1,3}$")]


class StageMinutes(Struct, forbid_unknown_fields=True, frozen=True):
    """Expected minutes a visit of this type spends in each stage (the stage it is in, until the next)."""

    arrived: Minutes
    roomed: Minutes
    prep_done: Minutes
    provider_in: PositiveMinutes
    teach_back_done: Minutes


class VisitType(Struct, forbid_unknown_fields=True, frozen=True):
    code: Id
    label: Label
    slot_minutes: PositiveMinutes
    stage_minutes: StageMinutes


class Thresholds(Struct, forbid_unknown_fields=True, frozen=True):
    """Minutes a patient may wait in a stage before a dwell alert, the cascade alert's K and L, and the minutes
    a room may stay in turnover before the wall shows it red."""

    waiting_to_be_roomed: PositiveMinutes = 15
    waiting_for_prep: PositiveMinutes = 10
    waiting_for_provider: PositiveMinutes = 15
    waiting_for_checkout: PositiveMinutes = 10
    cascade_visits: Annotated[int, Meta(ge=1, le=50)] = 3
    cascade_minutes: PositiveMinutes = 10
    #: Minutes a room may wait in turnover (emptied, not yet marked ready) before the wall shows it red.
    turnover: PositiveMinutes = 10


#: A language of the screens: the name of its file in static/i18n/ ("en", "es", "pt-BR").
Language = Annotated[str, Meta(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$", description="a language code, e.g. en or es")]


class DisplaySettings(Struct, forbid_unknown_fields=True, frozen=True):
    """The screens' languages. The first is the clinic's default on every screen (tablets, walls, waiting room);
    the waiting room shows each in turn, `alternate_seconds` each. A device can ask for its own (`?lang=es`)."""

    languages: Annotated[list[Language], Meta(min_length=1, max_length=6)] = msgspec.field(
        default_factory=lambda: ["en"]
    )
    alternate_seconds: Annotated[int, Meta(ge=3, le=600)] = 10


@functools.lru_cache(maxsize=64)
def stand_in(types: tuple[VisitType, ...], code: str) -> VisitType:
    """`Clinic.visit_type_of`'s stand-in for a removed type: the median of each of `types`' minutes (the lower
    middle one of an even count), made once per clinic file and code."""

    def median(values: list[int]) -> int:
        return sorted(values)[(len(values) - 1) // 2]

    stages = {
        stage: median([getattr(v.stage_minutes, stage) for v in types]) for stage in StageMinutes.__struct_fields__
    }
    return VisitType(code, code, median([v.slot_minutes for v in types]), StageMinutes(**stages))


def _unique(kind: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            raise ValueError(f"{kind}[{i}]: duplicate id {x!r}")
        seen.add(x)


def _unique_shown(kind: str, field: str, values: list[str]) -> None:
    """No two alike as a screen shows them (`shown_alike`: case, spaces, composition and joiners aside)."""
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        key = shown_alike(value)
        if key in seen:
            raise ValueError(
                f"{kind}[{i}].{field}: {value!r} is also {kind}[{seen[key]}]'s: screens could not tell them apart"
            )
        seen[key] = i


class Clinic(Struct, forbid_unknown_fields=True, frozen=True):
    id: Id
    name: Label
    timezone: str
    session: Session
    rooms: Annotated[list[Room], Meta(min_length=1)]
    providers: Annotated[list[Provider], Meta(min_length=1)]
    visit_types: Annotated[list[VisitType], Meta(min_length=1)]
    thresholds: Thresholds = msgspec.field(default_factory=Thresholds)
    display: DisplaySettings = msgspec.field(default_factory=DisplaySettings)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown time zone {self.timezone!r} (use an IANA name)") from None
        _unique("rooms", [r.id for r in self.rooms])
        _unique("providers", [p.id for p in self.providers])
        _unique("visit_types", [v.code for v in self.visit_types])
        # What screens show must read as the team would read it, and tell things apart: the wall keeps a
        # provider's row by their initials (two "JK" were one row, one provider's alerts under the other), and
        # the room picker and lists name rooms, providers and visit types by their labels (a review).
        for field, value in (
            ("name", self.name),
            *((f"rooms[{i}].label", r.label) for i, r in enumerate(self.rooms)),
            *((f"providers[{i}].name", p.name) for i, p in enumerate(self.providers)),
            *((f"visit_types[{i}].label", v.label) for i, v in enumerate(self.visit_types)),
        ):
            if why := unreadable(field, value):
                raise ValueError(why)
        _unique_shown("rooms", "label", [r.label for r in self.rooms])
        _unique_shown("providers", "name", [p.name for p in self.providers])
        _unique_shown("providers", "initials", [p.initials for p in self.providers])
        _unique_shown("visit_types", "label", [v.label for v in self.visit_types])
        if len(set(self.display.languages)) != len(self.display.languages):
            raise ValueError("display.languages: a language is listed twice")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def room(self, room_id: str) -> Room | None:
        return next((r for r in self.rooms if r.id == room_id), None)

    def provider(self, provider_id: str) -> Provider | None:
        return next((p for p in self.providers if p.id == provider_id), None)

    def visit_type(self, code: str) -> VisitType | None:
        # A plain loop: the projection asks this hundreds of times per review, and a clinic has a handful of
        # types (a generator expression costs several times as much; loadtests/review_cost.py).
        for v in self.visit_types:
            if v.code == code:
                return v
        return None

    def visit_type_of(self, code: str) -> VisitType:
        """The visit type a visit booked as `code` is planned and projected by: the clinic file's, or, for a code
        the file no longer has (a type removed while the day's log holds visits of it), a stand-in under that
        code with the median of each of the clinic's types' minutes (the lower middle one of an even count).
        New bookings of it are refused (`visit_type`); the visits already booked are still seen, planned and
        projected, not dropped."""
        known = self.visit_type(code)
        return known if known is not None else stand_in(tuple(self.visit_types), code)

    def day_of(self, at: dt.datetime) -> dt.date:
        """The clinic day (a date in the clinic's time zone) that an instant belongs to. At the ends of the calendar
        (0001-01-01, an EHR's 9999-12-31 placeholder) the clinic's zone is out of range: the instant's own date,
        far from any clinic day Floor books (it was an OverflowError and a 500)."""
        try:
            return at.astimezone(self.tz).date()
        except OverflowError:
            return at.date()

    def local_text(self, at: dt.datetime) -> str:
        """An instant as the clinic's clock reads it (2026-11-23 09:00), for messages; as given at the calendar's
        ends."""
        try:
            return f"{at.astimezone(self.tz):%Y-%m-%d %H:%M}"
        except OverflowError:
            return at.isoformat(timespec="minutes")

    def local(self, day: dt.date, at: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, at, tzinfo=self.tz)

    def shows(self, at: dt.datetime) -> bool:
        """Whether the clinic's clocks ever show `at`, a clinic time (without a zone, or in the clinic's): 02:30 the
        morning they go forward does not exist (01:59 is followed by 03:00; taken, Python reads it as 03:30). The
        one check for every clinic time Floor is given: a schedule file's (floor/schedule/csv_file.py) and a
        visit's start over the API (`Floor._today`). A time they show twice (the night they go back) is shown:
        it is the first time round, daylight time, unless its `fold` says the second. At the calendar's ends
        the zone is out of range: shown (the day it is on is refused elsewhere)."""
        local = at.replace(tzinfo=self.tz)
        try:
            back = local.astimezone(dt.UTC).astimezone(self.tz)
        except OverflowError:
            return True
        return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def setup_mark(clinic: Clinic) -> str:
    """16 hex digits that change when anything in the clinic's set-up does (rooms, providers, visit types,
    thresholds...): a screen drawn with another set-up is sent a new snapshot (floor.runtime.feed)."""
    return hashlib.sha256(msgspec.json.encode(clinic)).hexdigest()[:16]


def parse_clinic(text: str | bytes, source: str = "<clinic>") -> Clinic:
    try:
        return msgspec.toml.decode(text, type=Clinic)
    except msgspec.ValidationError as e:
        raise ConfigError(f"{source}: {e}") from None
    except msgspec.DecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None


def load_clinic(path: str | Path) -> Clinic:
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read clinic file: {e.strerror}") from None
    return parse_clinic(text, str(path))


def load_clinics(paths: list[str | Path]) -> list[Clinic]:
    """Load clinic files (or every *.toml in a directory); clinic ids must be unique."""
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.glob("*.toml")) if p.is_dir() else [p])
    if not files:
        raise ConfigError(f"no clinic files found in {', '.join(map(str, paths))}")
    clinics = [load_clinic(f) for f in files]
    seen: dict[str, Path] = {}
    for f, c in zip(files, clinics, strict=True):
        if c.id in seen:
            raise ConfigError(f"{f}: clinic id {c.id!r} is also used by {seen[c.id]}")
        seen[c.id] = f
    return clinics


def demo_clinic_path() -> Path:
    return Path(str(resources.files("floor.clinics").joinpath("demo.toml")))


def demo_clinic() -> Clinic:
    return load_clinic(demo_clinic_path())
