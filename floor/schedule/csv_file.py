"""The schedule as CSV: one row per appointment, a header row naming the columns (in any order).

    external_id,time,provider,visit_type,patient_name,notes,status
    A-1001,09:00,kim,new,Maria Lopez,Interpreter: Spanish,
    A-1002,09:20,kim,follow_up,Sam Chen,,cancelled

`time` is the clinic's local time on the imported day (HH:MM), or a full ISO 8601 date and time (with an
offset, or without one for clinic time). `notes` (for the team) and `status` (default `booked`; the FHIR
appointment statuses, see floor.core.schedule.STATUSES) may be left out. Problems name the file's line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from floor.config import Clinic
from floor.core.schedule import Appointment, Problem

REQUIRED = ("external_id", "time", "provider", "visit_type", "patient_name")
OPTIONAL = ("notes", "status")
#: Spellings a spreadsheet is likely to carry for the FHIR codes.
STATUS_ALIASES = {"": "booked", "no_show": "noshow", "no-show": "noshow", "canceled": "cancelled",
                  "checked_in": "checked-in", "entered_in_error": "entered-in-error"}


def _column(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def read_csv(body: bytes, clinic: Clinic, day: dt.date) -> tuple[list[Appointment], list[Problem]]:
    try:
        text = body.decode("utf-8-sig")  # a spreadsheet's export often starts with a byte-order mark
    except UnicodeDecodeError as e:
        return [], [Problem("file", f"not UTF-8 text (byte {e.start})")]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as e:
        return [], [Problem("line 1", f"not readable as CSV: {e}", line=1)]
    if header is None:
        return [], [Problem("file", "the file is empty: it needs a header row (" + ",".join(REQUIRED) + ")")]
    columns = [_column(c) for c in header]
    problems = [Problem("line 1", f"unknown column {name!r} (known: {', '.join(REQUIRED + OPTIONAL)})", name,
                        line=1) for name in columns if name not in REQUIRED + OPTIONAL]
    problems += [Problem("line 1", f"the header has no {name!r} column", name, line=1)
                 for name in REQUIRED if name not in columns]
    problems += [Problem("line 1", f"column {name!r} appears twice", name, line=1)
                 for i, name in enumerate(columns) if name in columns[:i]]
    if problems:
        return [], problems
    appointments: list[Appointment] = []
    line = reader.line_num
    try:
        for cells in reader:
            line, first = reader.line_num, line + 1
            if not any(c.strip() for c in cells):
                continue  # a blank line
            where = f"line {first}"
            if len(cells) != len(columns):
                problems.append(Problem(where, f"{len(cells)} fields where the header has {len(columns)}",
                                        line=first))
                continue
            row = {name: cell.strip() for name, cell in zip(columns, cells, strict=True)}
            status = row.get("status", "").lower()
            start = _time(row["time"], clinic, day)
            if start is None and row["time"]:
                problems.append(Problem(where, f"time {row['time']!r} is neither HH:MM nor an ISO 8601 date and "
                                        "time", "time", line=first))
                continue
            appointments.append(Appointment(where, row["external_id"], STATUS_ALIASES.get(status, status), start,
                                            row["provider"], row["visit_type"], row["patient_name"],
                                            row.get("notes", ""), line=first))
    except csv.Error as e:
        problems.append(Problem(f"line {line + 1}", f"not readable as CSV: {e}", line=line + 1))
    return appointments, problems


def _time(text: str, clinic: Clinic, day: dt.date) -> dt.datetime | None:
    if not text:
        return None
    try:
        if len(text) <= 8 and ":" in text:
            # Spreadsheets write 9:05 as often as 09:05 (and Python 3.11's fromisoformat takes only the latter).
            hours, _, rest = text.partition(":")
            return clinic.local(day, dt.time.fromisoformat(f"{hours.zfill(2)}:{rest}"))
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None
