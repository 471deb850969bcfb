"""The schedule as CSV: one row per appointment, a header row naming the columns (in any order).

    external_id,time,provider,visit_type,patient_name,notes,status
    A-1001,09:00,kim,new,Maria Lopez,Interpreter: Spanish,
    A-1002,09:20,kim,follow_up,Sam Chen,,cancelled

`time` is the clinic's local time on the imported day (HH:MM), or a full ISO 8601 date and time (with an
offset, or without one for clinic time). `notes` (for the team), `status` (default `booked`; the FHIR
appointment statuses, see floor.core.schedule.STATUSES) and `patient_id` (the patient's id or MRN in the EHR:
an appointment rebooked for a patient already here is then not booked twice) may be left out. Providers and
visit types match the clinic's whatever their case; statuses whatever their case, spaces, underscores or
hyphens (`No Show`). Problems name the file's line (where the row starts) and the field.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections import Counter

from floor.config import Clinic
from floor.core.schedule import STATUSES, Appointment, Problem
from floor.core.text import unreadable

REQUIRED = ("external_id", "time", "provider", "visit_type", "patient_name")
OPTIONAL = ("notes", "status", "patient_id")
#: A status by its letters alone, so a spreadsheet's `No Show`, `checked_in` or `Canceled` finds its FHIR code.
STATUS_SPELLINGS = {re.sub("[^a-z]", "", s): s for s in STATUSES} | {"": "booked", "canceled": "cancelled"}
_BREAKS = re.compile(rb"\r\n|\r|\n")  # the line ends csv counts lines by


#: Other names a column goes by in EHR exports.
ALIASES = {"mrn": "patient_id"}


def _column(name: str) -> str:
    column = name.strip().lower().replace(" ", "_").replace("-", "_")
    return ALIASES.get(column, column)


def read_csv(body: bytes, clinic: Clinic, day: dt.date) -> tuple[list[Appointment], list[Problem]]:
    body = body.removeprefix(codecs.BOM_UTF8)  # a spreadsheet's export often starts with one
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        line = len(_BREAKS.findall(body, 0, e.start)) + 1
        return [], [
            Problem(
                f"line {line}", f"not UTF-8 text (byte 0x{body[e.start]:02X}): save the file as 'CSV UTF-8'", line=line
            )
        ]
    lines = io.StringIO(text, newline="").readlines()
    if separated := _separated_otherwise(lines):
        return [], [separated]
    records, problems = _records(lines)
    while records and _above_the_header(records[0][1]):
        records = records[1:]
    if not records:
        return [], problems or [
            Problem("file", "the file is empty: it needs a header row (" + ",".join(REQUIRED) + ")")
        ]
    (header_line, header), rows = records[0], records[1:]
    columns = [_column(c) for c in header]
    while columns and not columns[-1]:
        columns.pop()  # Excel ends every line with commas once a cell right of the data was used
    header_problems = _header_problems(columns, header_line)
    if header_problems:
        return [], header_problems + problems
    providers = _spellings([p.id for p in clinic.providers])
    visit_types = _spellings([v.code for v in clinic.visit_types])
    appointments: list[Appointment] = []
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue  # a blank line
        where = f"line {line}"
        while len(cells) > len(columns) and not cells[-1].strip():
            cells = cells[:-1]  # empty cells past the header's last column (a spreadsheet's stray commas)
        if not len(columns) <= len(cells) <= len(header):
            problems.append(Problem(where, f"{len(cells)} fields where the header has {len(columns)}", line=line))
            continue
        row = {name: cell.strip() for name, cell in zip(columns, cells, strict=False)}
        bad = [
            Problem(where, why, name, line=line)
            for name, value in row.items()
            if (why := unreadable(name, value, multiline=name == "notes"))
        ]
        bad += [
            Problem(where, f"{cell.strip()!r} is in column {i + 1}, which has no name in the header", line=line)
            for i, cell in enumerate(cells[len(columns) :], len(columns))
            if cell.strip()
        ]
        start = None
        if not any(p.field == "time" for p in bad):
            try:
                start = _time(row["time"], clinic, day)
            except ValueError as e:
                bad.append(Problem(where, str(e), "time", line=line))
        problems += bad
        if bad:
            continue
        status, provider, visit_type = row.get("status", ""), row["provider"], row["visit_type"]
        # Anything not found passes as written, for check to name as unknown.
        status = STATUS_SPELLINGS.get(re.sub(r"[\s_-]", "", status.lower()), status)
        provider = providers.get(provider.casefold(), provider)
        visit_type = visit_types.get(visit_type.casefold(), visit_type)
        appointments.append(
            Appointment(
                where,
                row["external_id"],
                status,
                start,
                provider,
                visit_type,
                row["patient_name"],
                row.get("notes", ""),
                line=line,
                patient_id=row.get("patient_id") or None,
            )
        )
    return appointments, problems


def _separated_otherwise(lines: list[str]) -> Problem | None:
    """A header (the first line with anything on it) whose columns are separated by semicolons or tabs, not commas:
    Excel saves "CSV" with semicolons where the decimal mark is a comma, and "Unicode Text" with tabs. Read as CSV,
    it was six column messages, or with every value quoted "text after a closing quote": neither said why (a
    hostile review)."""
    line, header = next(((n, text) for n, text in enumerate(lines, 1) if text.strip()), (0, ""))
    if "," in header or not (sep := next((s for s in (";", "\t") if s in header), None)):
        return None
    said = "semicolons" if sep == ";" else "tabs"
    why = f"the columns are separated by {said}, not commas: save the file as 'CSV UTF-8 (comma delimited)'"
    return Problem(f"line {line}", why, line=line)


def _above_the_header(cells: list[str]) -> bool:
    """A line before the header that is not one: blank (or commas alone), or Excel's `sep=,`, which tells Excel the
    separator in any locale. Taken for the header, the file was refused for five missing columns (a hostile review).
    """
    return not any(c.strip() for c in cells) or [c.strip().lower() for c in cells] == ["sep=", ""]


def _header_problems(columns: list[str], line: int) -> list[Problem]:
    known = REQUIRED + OPTIONAL
    unknown = [
        (f"column {i + 1} has no name" if not name else f"unknown column {name!r} (known: {', '.join(known)})", name)
        for i, name in enumerate(columns)
        if name not in known
    ]
    missing = [(f"the header has no {name!r} column", name) for name in REQUIRED if name not in columns]
    twice = [(f"column {name!r} appears twice", name) for i, name in enumerate(columns) if name in columns[:i]]
    return [Problem(f"line {line}", message, name or None, line=line) for message, name in unknown + missing + twice]


def _records(lines: list[str]) -> tuple[list[tuple[int, list[str]]], list[Problem]]:
    """Each record with the line it starts on, up to the first that is not CSV (reported; nothing after it can
    be trusted). Strict, as a lenient reader takes a quote never closed as one field running to the end of
    the file, and the rows it swallows would go missing without a word."""
    reader = csv.reader(lines, strict=True)
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            records.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as e:
        # csv's messages are for programmers: "unexpected end of data" (or, past 128 KiB, a field too large)
        # for a quote never closed, "',' expected after '"'" for text after a closing one.
        opened = _open_quote(lines, start)
        if opened is not None and opened <= reader.line_num:
            return records, [Problem(f"line {opened}", f"a quote opened on line {opened} is never closed", line=opened)]
        why = (
            'text after a closing quote (a quote inside a quoted value is written "")'
            if "expected after" in str(e)
            else f"not readable as CSV: {e}"
        )
        return records, [Problem(f"line {reader.line_num}", why, line=reader.line_num)]
    return records, []


def _open_quote(lines: list[str], start: int) -> int | None:
    """The line of the quote still open at the end of the file, reading as csv does from line `start` (the
    beginning of a record): a quote opens a quoted value only at the start of a value, and "" inside one is
    a quote."""
    state, opened = "start", None  # start of a value, unquoted, quoted, just after a closing quote
    for n, text in enumerate(lines[start - 1 :], start):
        for ch in text:
            if state == "quoted":
                state = "closed" if ch == '"' else state
            elif ch == '"' and state != "unquoted":
                state, opened = "quoted", (n if state == "start" else opened)
            elif ch in ",\r\n":
                state = "start"
            else:
                state = "unquoted"
    return opened if state == "quoted" else None


def _spellings(ids: list[str]) -> dict[str, str]:
    """The clinic's own spelling of each id by its case-folded form, so `Kim` in a file books provider `kim`.
    Ids that differ only by case are left out: those must be written exactly."""
    folded = Counter(i.casefold() for i in ids)
    return {i.casefold(): i for i in ids if folded[i.casefold()] == 1}


def _time(text: str, clinic: Clinic, day: dt.date) -> dt.datetime | None:
    """The start (None when left empty); ValueError says what is wrong with it."""
    if not text:
        return None
    try:
        full = dt.datetime.fromisoformat(text)
    except ValueError:
        full = None
    if full is not None:
        if "T" not in text.upper() and " " not in text.strip():
            # A date alone would book the visit at midnight.
            raise ValueError(f"time {text!r} is a date without a time: write 08:00, or a date and time")
        if full.tzinfo is None:
            _exists(text, full.replace(tzinfo=clinic.tz), clinic)  # clinic time, as a bare HH:MM is
        return full
    try:
        # Spreadsheets write 9:05 as often as 09:05 (and Python 3.11's fromisoformat takes only the latter).
        hours, colon, rest = text.partition(":")
        at = dt.time.fromisoformat(f"{hours.zfill(2)}:{rest}") if colon else None
    except ValueError:
        at = None
    if at is None:
        raise ValueError(f"time {text!r} is neither HH:MM (24-hour: 13:00, not 1:00 PM) nor an ISO 8601 date and time")
    if at.tzinfo is not None:
        # An offset on a bare time does not say which day's offset it is (daylight saving): refused, not guessed.
        example = clinic.local(day, dt.time(8)).isoformat()
        raise ValueError(
            f"time {text!r} has an offset but no date; a time without a date is clinic time: write "
            f"08:00, or a full date and time with its offset like {example}"
        )
    return _exists(text, clinic.local(day, at), clinic)


def _exists(text: str, local: dt.datetime, clinic: Clinic) -> dt.datetime:
    """`local`, if the clinic's clocks show it that day (`Clinic.shows`): 02:30 on the morning they go forward is no
    moment (taken, it was booked at 03:30; written with its date too, it still was: a review). One they show twice
    is the first time round, daylight time."""
    if not clinic.shows(local):
        day = local.date()
        raise ValueError(f"time {text!r} does not exist on {day} in {clinic.timezone}: the clocks go forward over it")
    return local
