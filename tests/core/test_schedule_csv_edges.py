"""CSV schedule import at the edges of what spreadsheets and EHR exports write: a quote never closed, line breaks
and control characters inside values, a bare time with an offset, Windows-1252 bytes, Excel's trailing comma,
and ids, visit types and statuses in another case or spelling. Each is read as the team would expect, or
refused with a problem naming the line and the field, never an error of the server."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from floor.config import demo_clinic
from floor.core.commands import Tap
from floor.core.events import Event
from floor.core.floor import Floor
from floor.core.ids import Ids
from floor.core.schedule import Problem, ScheduleRefused, plan
from floor.schedule import MAX_PROBLEMS_LISTED, Format, read

CLINIC = demo_clinic()  # providers kim, okafor, silva, hart; visit types new, follow, annual, procedure
TZ = CLINIC.tz
DAY = dt.date(2026, 11, 23)
HEADER = b"external_id,time,provider,visit_type,patient_name,status,notes\n"


def _refused(body: bytes) -> list[Problem]:
    with pytest.raises(ScheduleRefused) as refused:
        read(body, Format.csv, CLINIC, DAY)
    return refused.value.problems


# A quote never closed


def test_a_quote_never_closed_refuses_the_file_naming_its_line_instead_of_swallowing_the_rows_after_it() -> None:
    body = HEADER + (
        b'A1,08:00,kim,new,Ann Lee,booked,"Bring the forms\n'
        b"A2,08:20,kim,new,Bo Park,booked,\n"
        b"A3,08:40,kim,new,Cy Diaz,booked,\n"
    )
    [problem] = _refused(body)
    assert problem.line == 2
    assert "a quote opened on line 2 is never closed" in problem.message


def test_the_quote_is_found_on_its_own_line_after_a_value_that_rightly_spans_lines() -> None:
    body = HEADER + (
        b'A1,08:00,kim,new,Ann Lee,booked,"Interpreter:\nSpanish"\n'
        b'A2,08:20,kim,new,"Bo Park,booked,\n'
        b"A3,08:40,kim,new,Cy Diaz,booked,\n"
    )
    [problem] = _refused(body)
    assert problem.line == 4 and "opened on line 4" in problem.message


def test_a_quote_never_closed_in_a_long_file_is_named_too() -> None:
    # Past 128 KiB csv complains of a field too large, not of the quote.
    rows = b"".join(b"B%d,09:00,kim,new,Patient %d,booked,%s\n" % (n, n, b"x" * 200) for n in range(1000))
    [problem] = _refused(HEADER + b'A1,08:00,kim,new,"Ann Lee,booked,\n' + rows)
    assert problem.line == 2 and "never closed" in problem.message


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        (HEADER + b'A1,08:00,kim,new,"Ann" Lee,booked,\n', 2, "text after a closing quote"),
        (b'external_id,"time\n', 1, "a quote opened on line 1 is never closed"),  # in the header
    ],
)
def test_any_csv_error_is_a_problem_naming_its_line(body: bytes, line: int, words: str) -> None:
    [problem] = _refused(body)
    assert problem.line == line and words in problem.message


# Line breaks and control characters


def test_a_line_break_in_a_name_or_an_id_is_refused_naming_the_line_and_field() -> None:
    body = HEADER + (b'A1,08:00,kim,new,"Ann\nLee",booked,\n"A\r2",08:20,kim,new,Bo Park,booked,\n')
    problems = _refused(body)
    assert [(p.line, p.field) for p in problems] == [(2, "patient_name"), (4, "external_id")]
    assert "line break" in problems[0].message


def test_a_control_character_is_refused_in_any_field_and_notes_keep_their_line_breaks() -> None:
    body = HEADER + (
        b"A1,08:00,kim\x00,new,Ann Lee,booked,\n"
        b"A2,08:20,kim,new,Bo\x1bPark,booked,\n"
        b"A3,08:40,kim,new,Cy Diaz,booked,Fasting\x00\n"
    )
    problems = _refused(body)
    assert [(p.line, p.field) for p in problems] == [(2, "provider"), (3, "patient_name"), (4, "notes")]
    assert "U+0000" in problems[0].message
    fine = HEADER + b'A1,08:00,kim,new,Ann Lee,booked,"Interpreter: Spanish\r\n\tand a wheelchair"\n'
    [a] = read(fine, Format.csv, CLINIC, DAY)
    assert a.notes == "Interpreter: Spanish\n\tand a wheelchair"  # its line break kept, written as one (LF)


# Times


@pytest.mark.parametrize("time", ["08:00Z", "08:00+01:00", "8:00-06:00", "08:00:00+00:00"])
def test_a_bare_time_with_an_offset_is_refused_not_read_as_clinic_time(time: str) -> None:
    [problem] = _refused(HEADER + f"A1,{time},kim,new,Ann Lee,booked,\n".encode())
    assert (problem.line, problem.field) == (2, "time")
    assert "write 08:00" in problem.message and "2026-11-23T08:00:00-06:00" in problem.message


# Encoding


def test_windows_1252_is_refused_naming_the_line_and_how_to_save_the_file() -> None:
    body = b"\xef\xbb\xbf" + HEADER + b"A1,08:00,kim,new,Ann Lee,booked,\r\nA2,08:20,kim,new,Ren\xe9e Roy,booked,\r\n"
    [problem] = _refused(body)
    assert problem.line == 3 and "CSV UTF-8" in problem.message


# Excel's trailing comma


def test_an_empty_column_at_the_end_of_the_header_is_dropped() -> None:
    body = (
        b"external_id,time,provider,visit_type,patient_name,status,\r\n"
        b"A1,08:00,kim,new,Ann Lee,booked,\r\n"
        b"A2,08:20,kim,new,Bo Park,booked\r\n"
    )
    assert [a.external_id for a in read(body, Format.csv, CLINIC, DAY)] == ["A1", "A2"]
    problems = _refused(body + b"A3,08:40,kim,new,Cy Diaz,booked,VIP\r\n")
    assert [p.line for p in problems] == [4] and "'VIP'" in problems[0].message


# Case and spelling


def test_providers_and_visit_types_match_whatever_their_case_and_are_booked_as_the_clinic_spells_them() -> None:
    [a] = read(HEADER + b"A1,08:00,Kim,NEW,Ann Lee,booked,\n", Format.csv, CLINIC, DAY)
    assert (a.provider, a.visit_type) == ("kim", "new")
    problems = _refused(HEADER + b"A1,08:00,Kimberly,New,Ann Lee,booked,\n")
    assert [(p.field, p.message.split(" (")[0]) for p in problems] == [("provider", "unknown provider 'Kimberly'")]


@pytest.mark.parametrize(
    ("written", "status"),
    [
        ("No Show", "noshow"),
        ("no_show", "noshow"),
        ("Checked In", "checked-in"),
        ("CHECKED_IN", "checked-in"),
        ("Entered In Error", "entered-in-error"),
        ("Canceled", "cancelled"),
        ("Wait-List", "waitlist"),
        ("", "booked"),
    ],
)
def test_a_status_is_read_whatever_its_case_spaces_underscores_or_hyphens(written: str, status: str) -> None:
    [a] = read(HEADER + f"A1,08:00,kim,new,Ann Lee,{written},\n".encode(), Format.csv, CLINIC, DAY)
    assert a.status == status


def test_a_date_without_a_time_is_refused_not_booked_at_midnight() -> None:
    body = b"external_id,time,provider,visit_type,patient_name\nA1,2026-11-23,kim,new,Ann Lee\n"
    with pytest.raises(ScheduleRefused) as refused:
        read(body, Format.csv, CLINIC, DAY)
    assert [(p.line, p.field) for p in refused.value.problems] == [(2, "time")]
    assert "a date without a time" in refused.value.problems[0].message


# The days the clocks change


@pytest.mark.parametrize("written", ["02:30", "2026-03-08T02:30", "2026-03-08 02:30:00"])
def test_a_time_the_clocks_skip_is_refused_not_booked_an_hour_later(written: str) -> None:
    """Written with its date too (and no offset: clinic time), it was booked at 03:30 (a review)."""
    spring_forward = dt.date(2026, 3, 8)  # America/Chicago: 02:00 becomes 03:00
    body = HEADER + f"A1,{written},kim,new,Night Owl,,\nA2,09:00,kim,follow,Ann Lee,,\n".encode()
    with pytest.raises(ScheduleRefused) as refused:
        read(body, Format.csv, CLINIC, spring_forward)
    (problem,) = refused.value.problems
    assert problem.line == 2 and "does not exist on 2026-03-08" in problem.message, problem


def test_the_same_file_imported_again_after_a_restart_on_the_day_the_clocks_go_back_changes_nothing() -> None:
    """01:30 comes twice on that day. A start read back from the log carries a fixed offset, and Python's `==`
    across zones is False in that hour: the same file imported again 'moved' its 01:30 visit to 01:30."""
    fall_back = dt.date(2026, 11, 1)
    body = HEADER + b"A1,01:30,kim,new,Night Owl,,\nA2,09:00,kim,follow,Ann Lee,,\n"
    appointments = read(body, Format.csv, CLINIC, fall_back)
    tap = Tap("manager", "import", CLINIC.local(fall_back, dt.time(0, 10)))
    floor = Floor(CLINIC, fall_back, ids=Ids.seeded("dst"))
    first = plan(floor, fall_back, appointments, tap)
    assert first.summary.added == 2
    # Restarted: the day folded again from its events as the log gives them back (JSON: fixed offsets).
    restarted = Floor(CLINIC, fall_back, ids=Ids.seeded("dst-again"))
    for event in msgspec.json.decode(msgspec.json.encode(first.events), type=list[Event]):
        restarted.apply(event)
    again = plan(restarted, fall_back, read(body, Format.csv, CLINIC, fall_back), tap)
    assert (again.summary.unchanged, again.events) == (2, [])


def test_a_file_with_thousands_of_bad_lines_lists_the_first_ones_and_counts_the_rest() -> None:
    """A month's export with 12-hour times listed every line (69,726), and 2 million bad lines made a 174 MB
    answer (a hostile review)."""
    body = HEADER + b"".join(b"A%d,1:00 PM,kim,new,Ann Lee,,\n" % i for i in range(1000))
    problems = _refused(body)
    assert len(problems) == MAX_PROBLEMS_LISTED + 1
    assert [p.line for p in problems[:3]] == [2, 3, 4]
    assert problems[-1].message.startswith(f"and {1000 - MAX_PROBLEMS_LISTED} more problems like these")


def test_a_file_refused_for_more_problems_than_are_listed_counts_them_all() -> None:
    """The refusal's sentence said "(and 200 more)" of a file with 1,000 bad lines, and the manager's console "201
    problems to fix": the listed ones and the line counting the rest (a review of the console)."""
    body = HEADER + b"".join(b"A%d,1:00 PM,kim,new,Ann Lee,,\n" % i for i in range(1000))
    with pytest.raises(ScheduleRefused) as refused:
        read(body, Format.csv, CLINIC, DAY)
    assert refused.value.count == 1000
    assert str(refused.value).endswith("(and 999 more)")


def test_what_spreadsheets_write_is_named_or_taken() -> None:
    """Semicolons for commas (Excel where the decimal mark is a comma), 12-hour times, and stray empty cells past
    the header: six header messages, a message that did not say 24-hour, and a whole row refused (a review)."""
    semicolons = HEADER.replace(b",", b";") + b"A1;08:00;kim;new;Ann Lee;;\n"
    (problem,) = _refused(semicolons)
    assert "separated by semicolons, not commas" in problem.message
    (problem,) = _refused(HEADER + b"A1,1:00 PM,kim,new,Ann Lee,,\n")
    assert "24-hour: 13:00, not 1:00 PM" in problem.message
    (appointment,) = read(HEADER + b"A1,13:00,kim,new,Ann Lee,,,,\n", Format.csv, CLINIC, DAY)
    assert appointment.patient_name == "Ann Lee"
    (problem,) = _refused(HEADER + b"A1,13:00,kim,new,Ann Lee,,,x\n")  # a cell with something in it still counts
    assert "fields where the header has" in problem.message


def test_a_note_saved_with_windows_line_ends_is_the_same_note() -> None:
    """The EHR's file (line breaks in a note as LF) and the same file saved again on Windows, or the day's Bundle
    (CRLF inside the note): every visit with a note of two lines was "updated", and one whose patient had come was
    "not applied: the visit is already arrived; it keeps its time and provider" (a hostile review)."""
    unix = HEADER + b'A1,08:00,kim,new,Ann Lee,booked,"Interpreter:\nSpanish"\n'
    tap = Tap("manager", "import", CLINIC.local(DAY, dt.time(7)))
    floor = Floor(CLINIC, DAY, ids=Ids.seeded("notes"))
    for event in plan(floor, DAY, read(unix, Format.csv, CLINIC, DAY), tap).events:
        floor.apply(event)
    windows = unix.replace(b"\n", b"\r\n")
    old_mac = HEADER + b'A1,08:00,kim,new,Ann Lee,booked,"Interpreter:\rSpanish"\n'
    for body in (windows, old_mac):
        [appointment] = read(body, Format.csv, CLINIC, DAY)
        assert appointment.notes == "Interpreter:\nSpanish"
        again = plan(floor, DAY, [appointment], tap)
        assert (again.summary.unchanged, again.events) == (1, [])
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Appointment",
                    "identifier": [{"value": "A1"}],
                    "status": "booked",
                    "start": "2026-11-23T08:00:00-06:00",
                    "appointmentType": {"coding": [{"code": "new"}]},
                    "comment": "Interpreter:\r\nSpanish",
                    "participant": [
                        {"actor": {"reference": "Patient/p1", "display": "Ann Lee"}, "status": "accepted"},
                        {"actor": {"reference": "Practitioner/kim"}, "status": "accepted"},
                    ],
                }
            }
        ],
    }
    [appointment] = read(msgspec.json.encode(bundle), Format.fhir, CLINIC, DAY)
    assert appointment.notes == "Interpreter:\nSpanish"


def test_semicolons_are_named_when_the_header_is_quoted_too() -> None:
    """A European spreadsheet or an EHR export that quotes every value: the header `"external_id";"time";…` was
    refused as "text after a closing quote", which did not say why (a hostile review)."""
    quoted = b'"external_id";"time";"provider";"visit_type";"patient_name"\r\n"A1";"08:00";"kim";"new";"Ann Lee"\r\n'
    for body in (quoted, quoted.replace(b";", b"\t"), b"\r\n" + quoted):
        (problem,) = _refused(body)
        assert "separated by" in problem.message and "not commas" in problem.message
        assert problem.line == body.count(b"\r\n", 0, body.index(b"external_id")) + 1


@pytest.mark.parametrize("before", [b"sep=,\r\n", b"\r\n", b"sep=,\r\n,,,,\r\n"])
def test_excels_separator_line_and_blank_lines_before_the_header_are_not_the_header(before: bytes) -> None:
    """Excel's `sep=,` line (written so Excel opens the file in any locale) or a blank line above the header: the
    first line was taken for the header, and the file refused for five missing columns (a hostile review)."""
    [appointment] = read(before + HEADER + b"A1,08:00,kim,new,Ann Lee,booked,\n", Format.csv, CLINIC, DAY)
    assert (appointment.patient_name, appointment.line) == ("Ann Lee", before.count(b"\n") + 2)
    [problem] = _refused(before + HEADER + b"A1,8 am,kim,new,Ann Lee,booked,\n")
    assert (problem.line, problem.field) == (before.count(b"\n") + 2, "time")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf_16_with_its_byte_order_mark_is_read_as_a_csv_or_a_bundle(encoding: str) -> None:
    """Windows PowerShell's `>` and Out-File write UTF-16 with a byte-order mark, and Excel's "Unicode Text" too:
    an IT team's scripted export was refused "not UTF-8 text (byte 0xFF)", which the mark makes plain it is (a
    hostile review). The mark says which UTF-16; without one the bytes are not guessed at."""
    bom = "\ufeff" if encoding != "utf-16" else ""  # Python's utf-16 writes its own
    text = HEADER.decode() + "A1,08:00,kim,new,José Núñez,booked,\r\n"
    [appointment] = read((bom + text).encode(encoding), Format.csv, CLINIC, DAY)
    assert appointment.patient_name == "José Núñez"
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Appointment",
                    "identifier": [{"value": "A1"}],
                    "status": "booked",
                    "start": "2026-11-23T08:00:00-06:00",
                    "appointmentType": {"coding": [{"code": "new"}]},
                    "participant": [
                        {"actor": {"reference": "Patient/p1", "display": "José Núñez"}, "status": "accepted"},
                        {"actor": {"reference": "Practitioner/kim"}, "status": "accepted"},
                    ],
                }
            }
        ],
    }
    body = (bom + msgspec.json.encode(bundle).decode()).encode(encoding)
    [appointment] = read(body, Format.fhir, CLINIC, DAY)
    assert appointment.patient_name == "José Núñez"
    no_mark = text.encode("utf-16-le")
    [problem] = _refused(no_mark)
    assert "not UTF-8" in problem.message
