"""Clinic files: the demo clinic loads, and every bad file is refused with the file and the field named."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from floor.config import ConfigError, demo_clinic, demo_clinic_path, load_clinic, load_clinics, parse_clinic

DEMO = demo_clinic_path().read_text()


def _edited(old: str, new: str) -> str:
    assert DEMO.count(old) == 1, f"the demo clinic file no longer contains {old!r} exactly once"
    return DEMO.replace(old, new)


def _refused(text: str, source: str = "clinic.toml") -> str:
    with pytest.raises(ConfigError) as e:
        parse_clinic(text, source)
    message = str(e.value)
    assert message.startswith(f"{source}: "), message
    return message


def test_demo_clinic_loads_with_its_zones_rooms_providers_and_visit_types() -> None:
    clinic = demo_clinic()
    assert clinic.id == "riverside"
    assert clinic.timezone == "America/Chicago"
    assert {r.zone for r in clinic.rooms} == {"east", "west"}
    assert len(clinic.rooms) == 10
    assert len({r.id for r in clinic.rooms}) == 10
    assert [p.id for p in clinic.providers] == ["kim", "okafor", "silva", "hart"]
    assert [v.code for v in clinic.visit_types] == ["new", "follow", "annual", "procedure"]
    assert clinic.session.opens == dt.time(8, 0)
    assert clinic.session.closes == dt.time(17, 0)
    assert clinic.thresholds.cascade_visits == 3
    assert clinic.visit_type("follow").slot_minutes == 20
    assert clinic.provider("kim").initials == "JK"
    assert clinic.room("e5").label == "East 5 (procedure)"
    assert clinic.room("nope") is None


def test_parse_clinic_accepts_the_demo_text_and_names_the_same_clinic() -> None:
    assert parse_clinic(DEMO) == demo_clinic()


def test_wrong_type_names_the_path_of_the_field() -> None:
    message = _refused(_edited("slot_minutes = 20", 'slot_minutes = "twenty"'))
    assert "$.visit_types[1].slot_minutes" in message
    assert "int" in message


def test_out_of_range_minutes_names_the_field() -> None:
    message = _refused(_edited("slot_minutes = 45", "slot_minutes = 0"))
    assert "$.visit_types[3].slot_minutes" in message


def test_unknown_top_level_field_is_refused_and_named() -> None:
    message = _refused(_edited('timezone = "America/Chicago"', 'timezone = "America/Chicago"\ncolour = "blue"'))
    assert "unknown field" in message
    assert "colour" in message


def test_unknown_nested_field_is_refused_with_its_path() -> None:
    message = _refused(_edited('label = "West 3"', 'label = "West 3"\nfloor = 2'))
    assert "floor" in message
    assert "$.rooms[7]" in message


def test_duplicate_room_id_is_refused_with_its_index() -> None:
    message = _refused(_edited('id = "e2"', 'id = "e1"'))
    assert "rooms[1]" in message
    assert "duplicate id 'e1'" in message


def test_duplicate_provider_id_is_refused() -> None:
    message = _refused(_edited('id = "hart"', 'id = "kim"'))
    assert "providers[3]" in message
    assert "duplicate id 'kim'" in message


def test_two_providers_with_the_same_initials_are_refused() -> None:
    """The wall keeps a provider's row by their initials: two "JK" showed as one row (a review)."""
    message = _refused(_edited('initials = "AH"', 'initials = "JK"'))
    assert "providers[3].initials" in message and "providers[0]" in message


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('label = "East 2"', 'label = "east 1 "', "rooms[1].label"),  # the picker could not tell them apart
        ('label = "East 2"', 'label = "East 1\\u200d"', "rooms[1].label"),  # a joiner that draws nothing
        ('name = "Dr. Aaron Hart"', 'name = "Dr. Jenna Kim"', "providers[3].name"),
        ('name = "Dr. Aaron Hart"', 'name = "   "', "providers[3].name has nothing visible"),
        ('name = "Dr. Aaron Hart"', 'name = "Dr. \\u202eTrah"', "providers[3].name has an invisible character"),
        ('label = "East 2"', 'label = "East\\n2"', "rooms[1].label has a line break"),
    ],
)
def test_names_the_screens_show_are_readable_and_told_apart(old: str, new: str, field: str) -> None:
    """The staff API refused such names; the clinic file took them onto the public wall and the room picker."""
    assert field in _refused(_edited(old, new))


def test_an_accent_typed_two_ways_is_the_same_name() -> None:
    """ "José" pasted with the accent as a separate mark (as macOS and some exports write it) reads the same."""
    text = _edited('name = "Dr. Aaron Hart"', 'name = "Dr. Jose\\u0301 Ruiz"')
    text = text.replace('name = "Dr. Daniel Okafor"', 'name = "Dr. Jos\\u00e9 Ruiz"', 1)
    assert "providers[3].name" in _refused(text)


def test_unknown_time_zone_is_refused_and_named() -> None:
    message = _refused(_edited("America/Chicago", "Mars/Olympus_Mons"))
    assert "timezone" in message
    assert "Mars/Olympus_Mons" in message


def test_session_closing_before_it_opens_is_refused() -> None:
    message = _refused(_edited("closes = 17:00:00", "closes = 07:00:00"))
    assert "$.session" in message
    assert "closes" in message


def test_session_closing_when_it_opens_is_refused() -> None:
    message = _refused(_edited("closes = 17:00:00", "closes = 08:00:00"))
    assert "$.session" in message


def test_lowercase_initials_are_refused_with_the_path() -> None:
    message = _refused(_edited('initials = "DO"', 'initials = "do"'))
    assert "$.providers[1].initials" in message


def test_too_many_initials_are_refused() -> None:
    message = _refused(_edited('initials = "MS"', 'initials = "MSNP"'))
    assert "$.providers[2].initials" in message


def test_bad_room_id_is_refused_with_the_path() -> None:
    message = _refused(_edited('id = "w4"', 'id = "West 4"'))
    assert "$.rooms[8].id" in message


def test_missing_required_field_is_named() -> None:
    message = _refused(_edited('name = "Riverside Family Medicine"\n', ""))
    assert "name" in message


def test_invalid_toml_is_refused_naming_the_source() -> None:
    message = _refused(DEMO + "\n[[[\n", source="broken.toml")
    assert "not valid TOML" in message


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_load_clinic_names_the_file_in_field_errors(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.toml", _edited('initials = "DO"', 'initials = "do"'))
    with pytest.raises(ConfigError) as e:
        load_clinic(bad)
    assert str(bad) in str(e.value)
    assert "$.providers[1].initials" in str(e.value)


def test_load_clinics_reads_every_toml_file_in_a_directory(tmp_path: Path) -> None:
    _write(tmp_path / "a.toml", DEMO)
    _write(tmp_path / "b.toml", _edited('id = "riverside"', 'id = "hillside"'))
    _write(tmp_path / "notes.txt", "not a clinic")
    clinics = load_clinics([tmp_path])
    assert [c.id for c in clinics] == ["riverside", "hillside"]


def test_load_clinics_accepts_a_mix_of_files_and_directories(tmp_path: Path) -> None:
    folder = tmp_path / "more"
    folder.mkdir()
    _write(folder / "b.toml", _edited('id = "riverside"', 'id = "hillside"'))
    one = _write(tmp_path / "a.toml", DEMO)
    assert [c.id for c in load_clinics([one, folder])] == ["riverside", "hillside"]


def test_load_clinics_refuses_a_clinic_id_used_by_two_files(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.toml", DEMO)
    second = _write(tmp_path / "b.toml", DEMO)
    with pytest.raises(ConfigError) as e:
        load_clinics([tmp_path])
    message = str(e.value)
    assert "riverside" in message
    assert str(first) in message
    assert str(second) in message


def test_load_clinics_on_a_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as e:
        load_clinics([missing])
    assert str(missing) in str(e.value)
    assert "cannot read" in str(e.value)


def test_load_clinic_on_a_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "gone.toml"
    with pytest.raises(ConfigError, match=r"gone\.toml"):
        load_clinic(missing)


def test_load_clinics_on_an_empty_directory_names_the_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load_clinics([tmp_path])
    assert "no clinic files" in str(e.value)
    assert str(tmp_path) in str(e.value)


def test_load_clinics_names_the_bad_file_among_good_ones(tmp_path: Path) -> None:
    _write(tmp_path / "a.toml", DEMO)
    bad = _write(tmp_path / "b.toml", _edited("America/Chicago", "Nowhere/Land"))
    with pytest.raises(ConfigError) as e:
        load_clinics([tmp_path])
    assert str(bad) in str(e.value)
    assert "Nowhere/Land" in str(e.value)


def test_turnover_and_languages_come_from_the_file_and_a_file_without_them_has_the_defaults() -> None:
    clinic = demo_clinic()
    assert clinic.thresholds.turnover == 10
    assert (clinic.display.languages, clinic.display.alternate_seconds) == (["en", "es"], 10)
    older = _edited("turnover = 10\n", "").split("[display]")[0] + "[[rooms]]" + DEMO.split("[[rooms]]", 1)[1]
    plain = parse_clinic(older)
    assert plain.thresholds.turnover == 10 and plain.display.languages == ["en"]
    assert parse_clinic(_edited("turnover = 10", "turnover = 25")).thresholds.turnover == 25


def test_a_bad_language_or_one_listed_twice_is_refused_and_named() -> None:
    assert "$.display.languages[1]" in _refused(_edited('languages = ["en", "es"]', 'languages = ["en", "Spanish"]'))
    assert "display.languages" in _refused(_edited('languages = ["en", "es"]', 'languages = ["es", "es"]'))
    assert "$.thresholds.turnover" in _refused(_edited("turnover = 10", "turnover = 0"))
