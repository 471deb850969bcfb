"""Importing a full day's schedule: how long a real `floor serve` (embedded log) takes to take a day's file, and how
much the server stalls while it does.

For each size (a busy clinic, and a large file near the 4 MiB body limit) and each format (a FHIR R4 Bundle of
Appointment + Patient + Practitioner + Location entries, as an EHR sends it, and the equivalent CSV), a clinic of
its own is imported three times through `POST /api/clinics/{clinic}/schedule?date=<today, clinic time>`:

1. first import: every appointment is new (all `added`);
2. the same file again (all `unchanged`, nothing stored);
3. the file with about one appointment in ten moved by 10 minutes (those `updated`).

While each import runs, a prober calls `GET /healthz` every few milliseconds (no sign-in, no lock: its latency
is the server's event-loop stall) and a second sign-in taps a room of the importing clinic (`blocked` /
`unblocked`) a few times a second (its latency includes waiting for the clinic's lock, which an import holds
while it stores). Probing goes on for a short while after the answer, to catch the alert review the import
triggers.

The clinic's time zone is chosen so that it is early morning there now (an `Etc/GMT` zone: the import happens
before the session, as an EHR's morning export would), so appointments are in the future and no lateness alert
is raised mid-measurement; `--timezone` overrides it. Figures only, no asserts; loopback only; every request has
a timeout.

`--sizes max` adds the worst case a server takes: a CSV of as many appointments as one file may hold
(floor.schedule.MAX_APPOINTMENTS, 5,000). A CSV filled to the body limit would be about 72,000 rows; it is
refused (422) as more than one clinic's day.

Caveats: the data directory is under the system temp directory (its fsync cost is this machine's); probes and
the server share the machine's cores; `/healthz` latency stands in for a WebSocket heartbeat (not measured).

    .venv/bin/python loadtests/import_day.py
    .venv/bin/python loadtests/import_day.py --sizes busy --formats fhir
    .venv/bin/python loadtests/import_day.py --sizes max --formats csv
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rig import FloorServer, add_staff, pct, sign_in

from floor.schedule import MAX_APPOINTMENTS

STAFF, PIN = "bench-manager", "bench-manager-pin"
MAX_BODY = 4 * 1024 * 1024  # floor/web/schedule.py MAX_SCHEDULE_BYTES
VISIT_TYPES = [
    ("new", "New patient", 40),
    ("follow", "Follow-up", 20),
    ("annual", "Annual physical", 30),
    ("procedure", "Procedure", 45),
]
GIVEN = [
    "Maria",
    "Sam",
    "Liam",
    "Priya",
    "Grace",
    "Tom",
    "Ana",
    "Kofi",
    "Mei",
    "Olga",
    "Jamal",
    "Sofia",
    "Noah",
    "Aisha",
    "Lucas",
    "Hana",
    "Omar",
    "Elena",
    "Ravi",
    "Zoe",
]
FAMILY = [
    "Lopez",
    "Chen",
    "O'Brien",
    "Natarajan",
    "Park",
    "Weber",
    "Flores",
    "Mensah",
    "Wong",
    "Ivanova",
    "Brown",
    "Rossi",
    "Kim",
    "Haddad",
    "Silva",
    "Sato",
    "Nasser",
    "Popescu",
    "Iyer",
    "Muller",
]


# -- the clinic and its files ------------------------------------------------------------------------


def morning_zone(hour: int = 6) -> str:
    """An IANA `Etc/GMT` zone where it is now between `hour`:00 and `hour`+1:00 (or as near as the zones go)."""
    now = dt.datetime.now(dt.UTC)
    offset = (hour - now.hour) % 24
    if offset > 14:
        offset -= 24
    offset = max(-12, min(14, offset))
    # Etc/GMT signs are POSIX's: Etc/GMT-5 is five hours ahead of UTC.
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def clinic_toml(clinic: str, providers: int, rooms: int, timezone: str) -> str:
    lines = [
        f'id = "{clinic}"',
        f'name = "Bench {clinic}"',
        f'timezone = "{timezone}"',
        "",
        "[session]",
        "opens = 07:00:00",
        "closes = 19:00:00",
        "",
    ]
    for n in range(rooms):
        lines += ["[[rooms]]", f'id = "r{n:02d}"', f'label = "Room {n + 1}"', f'zone = "z{n % 4}"']
    for n in range(providers):
        initials = chr(65 + n % 26) + chr(65 + (n // 26) % 26)
        lines += ["[[providers]]", f'id = "p{n:02d}"', f'name = "Dr. Bench {n:02d}"', f'initials = "{initials}"']
    for code, label, slot in VISIT_TYPES:
        lines += [
            "[[visit_types]]",
            f'code = "{code}"',
            f'label = "{label}"',
            f"slot_minutes = {slot}",
            "stage_minutes = { arrived = 8, roomed = 8, prep_done = 3, provider_in = 15, teach_back_done = 3 }",
        ]
    return "\n".join(lines) + "\n"


@dataclass
class Appt:
    external_id: str
    start: dt.datetime
    minutes: int
    provider: str
    visit_type: str
    given: str
    family: str
    mrn: str
    notes: str


def day_appointments(day: dt.date, tz: ZoneInfo, providers: int, per_provider: int, seed: int = 7) -> list[Appt]:
    """`per_provider` back-to-back slots per provider from 07:00 clinic time (squeezed to fit the day)."""
    import random

    rng = random.Random(seed)
    # At most 960 a provider stay on the day (one a minute from 07:00 to 23:00).
    slot = min(20, max(1, (16 * 60) // max(1, per_provider)))
    appts = []
    for p in range(providers):
        for n in range(per_provider):
            code, _, minutes = VISIT_TYPES[rng.randrange(len(VISIT_TYPES))]
            start = dt.datetime.combine(day, dt.time(7), tzinfo=tz) + dt.timedelta(minutes=n * slot)
            i = len(appts)
            appts.append(
                Appt(
                    f"EHR-{100000 + i}",
                    start,
                    min(minutes, slot),
                    f"p{p:02d}",
                    code,
                    rng.choice(GIVEN),
                    rng.choice(FAMILY),
                    f"MRN{700000 + i}",
                    rng.choice(["", "", "", "Interpreter: Spanish", "Bring the consent form"]),
                )
            )
    return appts


def moved(appts: list[Appt], every: int = 10) -> list[Appt]:
    """About one appointment in `every` moved 10 minutes later (the same ids: a reschedule, not a new booking)."""
    out = []
    for i, a in enumerate(appts):
        if i % every == every // 2:
            a = Appt(**{**a.__dict__, "start": a.start + dt.timedelta(minutes=10)})
        out.append(a)
    return out


def fhir_bundle(appts: list[Appt], providers: int, clinic: str) -> bytes:
    """A `collection` Bundle as an EHR exports a day: Practitioners and a Location once, then for each appointment
    its Patient (a `urn:uuid` entry) and the Appointment referring to both (and the Location)."""
    base = "https://ehr.example.org/fhir"
    entries: list[dict] = [
        {
            "fullUrl": f"{base}/Location/{clinic}",
            "resource": {"resourceType": "Location", "id": clinic, "status": "active", "name": f"Bench {clinic}"},
        }
    ]
    for p in range(providers):
        entries.append(
            {
                "fullUrl": f"{base}/Practitioner/pr-{p:04d}",
                "resource": {
                    "resourceType": "Practitioner",
                    "id": f"pr-{p:04d}",
                    "identifier": [
                        {"system": "http://hl7.org/fhir/sid/us-npi", "value": f"{1000000000 + p}"},
                        {"system": "https://clinic.example.org/floor-provider", "value": f"p{p:02d}"},
                    ],
                    "name": [{"use": "official", "family": f"Bench{p:02d}", "given": ["Dr"], "prefix": ["Dr."]}],
                },
            }
        )
    for a in appts:
        patient_url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, a.mrn)}"
        entries.append(
            {
                "fullUrl": patient_url,
                "resource": {
                    "resourceType": "Patient",
                    "id": a.mrn.lower(),
                    "identifier": [{"system": "https://ehr.example.org/mrn", "value": a.mrn}],
                    "name": [{"use": "official", "family": a.family, "given": [a.given]}],
                    "gender": "unknown",
                    "birthDate": "1980-01-01",
                },
            }
        )
        appointment = {
            "resourceType": "Appointment",
            "id": a.external_id.lower(),
            "identifier": [{"system": "https://ehr.example.org/appointments", "value": a.external_id}],
            "status": "booked",
            "serviceType": [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/service-type", "code": "124"}]}
            ],
            "appointmentType": {"coding": [{"system": "https://clinic.example.org/visit-type", "code": a.visit_type}]},
            "start": a.start.isoformat(),
            "end": (a.start + dt.timedelta(minutes=a.minutes)).isoformat(),
            "minutesDuration": a.minutes,
            "participant": [
                {"actor": {"reference": patient_url, "display": f"{a.given} {a.family}"}, "status": "accepted"},
                {"actor": {"reference": f"Practitioner/pr-{int(a.provider[1:]):04d}"}, "status": "accepted"},
                {"actor": {"reference": f"Location/{clinic}"}, "status": "accepted"},
            ],
        }
        if a.notes:
            appointment["comment"] = a.notes
        entries.append({"fullUrl": f"{base}/Appointment/{a.external_id.lower()}", "resource": appointment})
    return json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": entries}, separators=(",", ":")
    ).encode()


def csv_file(appts: list[Appt]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")  # as a spreadsheet writes it
    w.writerow(["external_id", "time", "provider", "visit_type", "patient_name", "notes", "status"])
    for a in appts:
        w.writerow(
            [
                a.external_id,
                a.start.strftime("%H:%M"),
                a.provider,
                a.visit_type,
                f"{a.given} {a.family}",
                a.notes,
                "booked",
            ]
        )
    return out.getvalue().encode()


def fill_to(limit: int, providers: int, day: dt.date, tz: ZoneInfo, clinic: str) -> int:
    """The most appointments per provider whose Bundle stays under `limit` bytes (by its size per appointment)."""
    probe = fhir_bundle(day_appointments(day, tz, providers, 10), providers, clinic)
    fixed = len(fhir_bundle([], providers, clinic))
    each = (len(probe) - fixed) / (providers * 10)
    per = int((limit - fixed) / (each * providers))
    while per > 1 and len(fhir_bundle(day_appointments(day, tz, providers, per), providers, clinic)) > limit:
        per -= 1
    return per


# -- measuring ---------------------------------------------------------------------------------------


@dataclass
class Probes:
    health: list[float] = field(default_factory=list)  # GET /healthz round trips, s
    health_errors: int = 0
    answered: list[float] = field(default_factory=list)  # perf_counter when each /healthz answer came
    began: float = 0.0
    ended: float = 0.0

    def longest_gap(self) -> float:
        """The longest time without a /healthz answer while probing (a probe is out every few ms)."""
        marks = [self.began, *self.answered, self.ended]
        return max((b - a for a, b in itertools.pairwise(marks)), default=0.0)

    taps: list[float] = field(default_factory=list)  # room taps on the importing clinic, s
    tap_errors: list[str] = field(default_factory=list)


async def probe_health(client: httpx.AsyncClient, stop: asyncio.Event, out: Probes, every: float) -> None:
    out.began = time.perf_counter()
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            r = await client.get("/healthz", timeout=30)
            r.raise_for_status()
            out.health.append(time.perf_counter() - t0)
            out.answered.append(time.perf_counter())
        except httpx.HTTPError:
            out.health_errors += 1
        await asyncio.sleep(every)
    out.ended = time.perf_counter()


async def probe_taps(
    client: httpx.AsyncClient, headers: dict[str, str], clinic: str, stop: asyncio.Event, out: Probes, every: float
) -> None:
    blocked = False
    while not stop.is_set():
        action = "unblocked" if blocked else "blocked"
        t0 = time.perf_counter()
        try:
            r = await client.post(
                f"/api/clinics/{clinic}/rooms/r00/events", json={"type": action}, headers=headers, timeout=120
            )
            if r.status_code in (201, 409):
                # A 409 (the room was left the other way by the run before) is decided under the lock all the same.
                out.taps.append(time.perf_counter() - t0)
                blocked = not blocked if r.status_code == 201 else action == "unblocked"
            else:
                out.tap_errors.append(str(r.status_code))
        except httpx.HTTPError as e:
            out.tap_errors.append(type(e).__name__)
        await asyncio.sleep(every)


@dataclass
class Result:
    label: str
    seconds: float
    status: int
    counts: dict[str, int]
    probes: Probes
    after: Probes


async def timed_import(
    base: str,
    headers: dict[str, str],
    tap_headers: dict[str, str],
    clinic: str,
    day: dt.date,
    body: bytes,
    media: str,
    label: str,
    args: argparse.Namespace,
) -> Result:
    async with (
        httpx.AsyncClient(base_url=base) as importer,
        httpx.AsyncClient(base_url=base) as prober,
        httpx.AsyncClient(base_url=base) as tapper,
    ):
        during, after = Probes(), Probes()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(probe_health(prober, stop, during, args.probe_every))]
        if args.tap_every > 0:
            tasks.append(asyncio.create_task(probe_taps(tapper, tap_headers, clinic, stop, during, args.tap_every)))
        await asyncio.sleep(0.05)
        t0 = time.perf_counter()
        r = await importer.post(
            f"/api/clinics/{clinic}/schedule",
            params={"date": day.isoformat()},
            content=body,
            headers={**headers, "Content-Type": media},
            timeout=args.timeout,
        )
        seconds = time.perf_counter() - t0
        stop.set()
        await asyncio.gather(*tasks)
        # The alert review the import scheduled runs just after the answer (writer.py REVIEW_DELAY, 0.2 s).
        stop2 = asyncio.Event()
        tasks = [asyncio.create_task(probe_health(prober, stop2, after, args.probe_every))]
        await asyncio.sleep(args.after)
        stop2.set()
        await asyncio.gather(*tasks)
    counts = {}
    if r.status_code == 200:
        j = r.json()
        counts = {k: j[k] for k in ("added", "updated", "cancelled", "no_show", "unchanged", "not_applied")}
    else:
        counts = {"error": r.status_code}
        print(f"  {label}: HTTP {r.status_code}: {r.text[:300]}", file=sys.stderr)
    return Result(label, seconds, r.status_code, counts, during, after)


def baseline(base: str, args: argparse.Namespace) -> Probes:
    async def run() -> Probes:
        out = Probes()
        stop = asyncio.Event()
        async with httpx.AsyncClient(base_url=base) as client:
            task = asyncio.create_task(probe_health(client, stop, out, args.probe_every))
            await asyncio.sleep(1.0)
            stop.set()
            await task
        return out

    return asyncio.run(run())


def fmt_ms(values: list[float], p: float | None = None) -> str:
    if not values:
        return "n/a"
    v = max(values) if p is None else pct(values, p)
    return f"{v * 1000:.1f}"


def report(r: Result, args_after: float) -> str:
    counts = " ".join(f"{k}={v}" for k, v in r.counts.items() if v)
    h, t = r.probes.health, r.probes.taps
    stall = (
        f"healthz n={len(h)} p50 {fmt_ms(h, 50)} p99 {fmt_ms(h, 99)} max {fmt_ms(h)} ms"
        + (f" (+{r.probes.health_errors} timed out)" if r.probes.health_errors else "")
        + f"; longest gap without an answer {r.probes.longest_gap() * 1000:.0f} ms"
    )
    taps = (
        f"same-clinic room taps n={len(t)} max {fmt_ms(t)} ms"
        if t
        else "same-clinic room taps: none answered during the import"
    )
    if r.probes.tap_errors:
        taps += f" (not 201/409: {', '.join(sorted(set(r.probes.tap_errors)))})"
    a = r.after.health
    after = (
        f"after the answer ({len(a)} healthz in {args_after:.1f} s): max {fmt_ms(a)} ms, longest gap "
        f"{r.after.longest_gap() * 1000:.0f} ms"
    )
    return (
        f"  {r.label:<10} {r.seconds * 1000:9.0f} ms  HTTP {r.status}  {counts}\n"
        f"  {'':<10} stall during: {stall}; {taps}\n"
        f"  {'':<10} {after}"
    )


# -- the run -----------------------------------------------------------------------------------------


@dataclass
class Case:
    clinic: str
    size: str
    fmt: str
    providers: int
    per_provider: int


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Prints figures; asserts nothing about time. Loopback only.",
    )
    parser.add_argument(
        "--sizes",
        default="busy,large",
        help="busy, large and/or max (default: busy,large). max is a CSV of as many appointments "
        "as one file may hold (5,000 over --max-providers), CSV only",
    )
    parser.add_argument("--max-providers", type=int, default=100, help="providers of the max clinic (default 100)")
    parser.add_argument("--formats", default="fhir,csv", help="fhir and/or csv (default: both)")
    parser.add_argument("--providers", type=int, default=6, help="providers of the busy clinic (default 6)")
    parser.add_argument("--per-provider", type=int, default=28, help="appointments per provider, busy (default 28)")
    parser.add_argument(
        "--large-providers",
        type=int,
        default=40,
        help="providers of the large clinic; appointments per provider are chosen so that its FHIR "
        "Bundle stays just under the 4 MiB body limit (default 40)",
    )
    parser.add_argument(
        "--large-bytes",
        type=int,
        default=MAX_BODY - 64 * 1024,
        help="target size of the large FHIR Bundle (default 4 MiB less 64 KiB); the large CSV holds "
        "the same appointments",
    )
    parser.add_argument(
        "--timezone", default=None, help="the clinics' IANA time zone (default: one where it is 6 in the morning now)"
    )
    parser.add_argument("--probe-every", type=float, default=0.005, help="seconds between /healthz probes")
    parser.add_argument(
        "--tap-every",
        type=float,
        default=0.25,
        help="seconds between room taps on the importing clinic (0: none; a sign-in may tap 5/s)",
    )
    parser.add_argument("--after", type=float, default=1.5, help="seconds of probing after each answer")
    parser.add_argument("--timeout", type=float, default=300, help="seconds an import may take before giving up")
    args = parser.parse_args()
    sizes = [s for s in args.sizes.split(",") if s]
    formats = [f for f in args.formats.split(",") if f]
    if not set(sizes) <= {"busy", "large", "max"} or not set(formats) <= {"fhir", "csv"}:
        parser.error("--sizes takes busy,large and --formats takes fhir,csv")

    timezone = args.timezone or morning_zone()
    tz = ZoneInfo(timezone)
    day = dt.datetime.now(tz).date()
    print(f"clinic time zone {timezone}: it is {dt.datetime.now(tz):%Y-%m-%d %H:%M} there; importing for {day}")

    cases: list[Case] = []
    for size in sizes:
        for fmt in formats:
            clinic = f"{size}-{fmt}"
            if size == "max":
                if fmt == "csv":
                    per = MAX_APPOINTMENTS // args.max_providers
                    cases.append(Case(clinic, size, fmt, args.max_providers, per))
                continue
            if size == "busy":
                cases.append(Case(clinic, size, fmt, args.providers, args.per_provider))
            else:
                per = fill_to(args.large_bytes, args.large_providers, day, tz, clinic)
                cases.append(Case(clinic, size, fmt, args.large_providers, per))

    with tempfile.TemporaryDirectory(prefix="floor-import-bench-") as tmp:
        folder = Path(tmp)
        files = []
        for case in cases:
            path = folder / f"{case.clinic}.toml"
            path.write_text(clinic_toml(case.clinic, case.providers, 12, timezone))
            files.append(str(path))
        data_dir = str(folder / "data")
        add_staff(data_dir, STAFF, PIN, "manager")
        server = FloorServer(data_dir, files)
        started = server.start()
        print(f"floor serve up in {started:.1f} s on {server.base} (embedded log in {data_dir})")
        try:

            async def signed() -> tuple[dict[str, str], dict[str, str]]:
                async with httpx.AsyncClient(base_url=server.base, timeout=30) as c:
                    return (
                        await sign_in(c, STAFF, PIN, "bench-importer"),
                        await sign_in(c, STAFF, PIN, "bench-tapper"),
                    )

            headers, tap_headers = asyncio.run(signed())
            idle = baseline(server.base, args)
            print(
                f"idle /healthz: n={len(idle.health)} p50 {fmt_ms(idle.health, 50)} p99 {fmt_ms(idle.health, 99)} "
                f"max {fmt_ms(idle.health)} ms; longest gap without an answer {idle.longest_gap() * 1000:.0f} ms"
            )
            cpu0 = server.process.cpu()
            for case in cases:
                appts = day_appointments(day, tz, case.providers, case.per_provider)
                changed = moved(appts)
                if case.fmt == "fhir":
                    first, second = fhir_bundle(appts, case.providers, case.clinic), None
                    third, media = fhir_bundle(changed, case.providers, case.clinic), "application/fhir+json"
                else:
                    first, second = csv_file(appts), None
                    third, media = csv_file(changed), "text/csv"
                second = first
                n_changed = sum(1 for a, b in zip(appts, changed, strict=True) if a.start != b.start)
                print(
                    f"\n{case.clinic}: {case.fmt.upper()} {len(first):,} bytes ({len(first) / 1024:.0f} KiB), "
                    f"{len(appts)} appointments ({case.providers} providers x {case.per_provider})"
                    + (
                        f", {len(appts) + case.providers + 1} Bundle entries incl. Practitioners/Location and "
                        f"{len(appts)} Patients"
                        if case.fmt == "fhir"
                        else ""
                    )
                )
                if len(first) > MAX_BODY:
                    print(f"  over the {MAX_BODY:,}-byte limit: skipped")
                    continue
                runs = (("first", first), ("again", second), (f"{n_changed} moved", third))
                for label, body in runs:
                    cpu = server.process.cpu()
                    result = asyncio.run(
                        timed_import(server.base, headers, tap_headers, case.clinic, day, body, media, label, args)
                    )
                    print(
                        report(result, args.after) + f"\n  {'':<10} server CPU {server.process.cpu() - cpu:.2f} s "
                        f"(including the {args.after:.1f} s after)"
                    )
            print(
                f"\nserver CPU over all imports {server.process.cpu() - cpu0:.1f} s; peak RSS "
                f"{server.process.memory('VmHWM') / 2**20:.0f} MiB"
            )
        finally:
            code = server.stop()
            print(f"server stopped (exit {code})")


if __name__ == "__main__":
    main()
