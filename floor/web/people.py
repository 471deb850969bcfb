"""Routes for people and screens: sign-in and out, staff accounts, wall display pairing, audit by person."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Request, Response, Router, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.exceptions import TooManyRequestsException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from floor import audit
from floor.config import Clinic
from floor.core.access import ALL_CLINICS, Act, clinics_of, in_clinic, other_clinic_text, within
from floor.core.errors import Refusal, Why
from floor.directory.base import Display, StaffMember, TooManyPairings
from floor.floors import Floors
from floor.sessions import Caller, DisplayToken, PairingStarted, SignedIn
from floor.web.auth import Rule, allowed, caller, client_address, throttled_by_address
from floor.web.errors import errors
from floor.wire import (
    AuditTrail,
    ChangeDisplay,
    ClaimDisplay,
    Me,
    NewSecret,
    NewStaff,
    PairDisplay,
    PairingWaiting,
    SignIn,
    StaffView,
)

Who = NamedDependency[Caller]
FloorsDep = NamedDependency[Floors]
Day = Annotated[dt.date | None, QueryParameter(description="A clinic day, YYYY-MM-DD (default: today)")]


WAITING = ResponseSpec(
    PairingWaiting, description="No manager has entered the code yet: ask again shortly.", generate_examples=False
)


# -- anyone: sign-in and display pairing --------------------------------------------------------


@post(
    "/sign-in",
    summary="Sign in on a tablet: a bearer token for this device, valid for a shift",
    responses=errors(400, 401, 403, 429),
    security=[{}],
)
async def sign_in(request: Request, floors: FloorsDep, data: JSONBody[SignIn]) -> Response[SignedIn]:
    signed = await floors.sessions.sign_in(
        data.staff, data.secret, data.device, client_address(request), device_key=data.device_key
    )
    return Response(signed, status_code=201, headers={"Cache-Control": "no-store"})


@post(
    "/displays/pairings",
    summary="A new wall display asks for a pairing code to show",
    responses=errors(403, 429),
    security=[{}],
)
async def start_pairing(request: Request, floors: FloorsDep) -> Response[PairingStarted]:
    try:
        started = await floors.sessions.start_pairing(client_address(request))
    except TooManyPairings as e:
        wait = floors.sessions.pairing_term.total_seconds()
        where = "from this address" if e.from_address else "on this server"
        raise TooManyRequestsException(
            f"Too many displays are waiting for a code to be entered {where}: enter or close their codes, or wait "
            f"{int(wait // 60)} minutes for them to expire.",
            headers={"Retry-After": str(int(wait))},
        ) from None
    demo_clinic = request.app.state.get("demo_pairing_clinic")
    if demo_clinic:
        # `floor demo` only: its wall pairs itself, so a newcomer sees the floor move at once.
        await floors.sessions.approve_pairing(started.code, demo_clinic, None, "Demo wall", "demo")
    return Response(started, status_code=201, headers={"Cache-Control": "no-store"})


@post(
    "/displays/pairings/claim",
    summary="The display collects its token once a manager entered its code",
    responses={**errors(400, 403, 404, 429), 202: WAITING},
    status_code=200,
    security=[{}],
)
async def claim_display(floors: FloorsDep, data: JSONBody[ClaimDisplay]) -> Response[DisplayToken]:
    token = await floors.sessions.collect(data.claim)
    if token is None:
        return Response(PairingWaiting(), status_code=202)
    return Response(token, status_code=200, headers={"Cache-Control": "no-store"})


# -- signed in ----------------------------------------------------------------------------------


@get("/me", summary="Who this token belongs to", opt={"act": Rule.signed_in, "displays": True}, responses=errors(401))
async def me(who: Who) -> Me:
    return Me(
        who.kind,
        who.person,
        who.device,
        who.expires_at,
        who.name,
        who.role,
        who.clinic,
        who.zone,
        list(who.clinics),
        who.provider,
    )


@post(
    "/sign-out",
    summary="Sign out: this token stops working at once, and its sockets close",
    status_code=204,
    responses=errors(401, 403, 429),
    opt={"act": Rule.signed_in},
)
async def sign_out(floors: FloorsDep, who: Who) -> None:
    await floors.sessions.sign_out(who)
    floors.recheck_sessions()


async def _view(floors: Floors, member: StaffMember) -> StaffView:
    held = await floors.sessions.strikes(member.id)
    waits = held is not None and held.waits(floors.sessions.clock.now())
    return StaffView(
        member.id,
        member.name,
        member.role,
        waits,
        held.count if held else 0,
        member.added_at,
        member.added_by,
        list(clinics_of(member.clinics)),
        held.until if held and waits else None,
        member.provider,
    )


async def _yours(floors: Floors, who: Caller, staff: str) -> None:
    """A manager manages only the staff of their own clinics (floor.core.access.within)."""
    member = await floors.sessions.directory.staff(staff)
    if member is not None and not within(clinics_of(member.clinics), who.clinics):
        raise Refusal(
            Why.forbidden,
            # Not which: the other clinics are for their managers to know.
            f"{staff} works in clinics you do not manage; a manager of theirs can.",
        )


def _your_clinic(who: Caller, clinic: str) -> None:
    if not in_clinic(who.clinics, clinic):
        raise Refusal(Why.forbidden, other_clinic_text(clinic[:40]))


def _new_clinics(floors: Floors, who: Caller, asked: list[str] | None) -> tuple[str, ...]:
    """The clinics a new account gets: as asked, else the server's only clinic, else the manager's own."""
    if asked is None:
        if len(floors.runtimes) == 1:
            return tuple(floors.runtimes)
        if ALL_CLINICS in who.clinics:
            raise Refusal(
                Why.invalid,
                'Say which clinics they work in (clinic ids, or "*" for every clinic): '
                f"this server runs {', '.join(sorted(floors.runtimes))}.",
                field="clinics",
            )
        return who.clinics
    clinics = tuple(dict.fromkeys(asked))
    # Refused first for a clinic that is not the manager's, whether the server runs it or not: which other clinics
    # it runs is for a manager of them (a hostile review). A manager of every clinic is told which there are.
    if not within(clinics, who.clinics):
        raise Refusal(Why.forbidden, "You can give a new account only clinics you manage yourself.")
    unknown = [c for c in clinics if c != ALL_CLINICS and c not in floors.runtimes]
    if unknown:
        raise Refusal(
            Why.invalid,
            f"No clinic {unknown[0]!r} on this server (clinics: {', '.join(sorted(floors.runtimes))}).",
            field="clinics",
        )
    return clinics


@get(
    "/staff",
    summary="Staff accounts of the caller's clinics (managers)",
    responses=errors(401, 403),
    opt={"act": Act.manage_staff},
)
async def list_staff(floors: FloorsDep, who: Who) -> list[StaffView]:
    return [
        await _view(floors, m)
        for m in await floors.sessions.directory.all_staff()
        if within(clinics_of(m.clinics), who.clinics)
    ]


@post(
    "/staff",
    summary="Add a staff member with a role, a first PIN or password and their clinics (managers)",
    responses=errors(400, 401, 403, 409, 422, 429),
    opt={"act": Act.manage_staff},
)
async def add_staff(floors: FloorsDep, who: Who, data: JSONBody[NewStaff]) -> Response[StaffView]:
    if data.provider is not None and not any(r.clinic.provider(data.provider) for r in floors.runtimes.values()):
        raise Refusal(Why.invalid, f"No clinic on this server has a provider {data.provider!r}.", field="provider")
    clinics = _new_clinics(floors, who, data.clinics)
    member = await floors.sessions.add_staff(
        data.id, data.name, data.role, data.secret, who.person, clinics, provider=data.provider, by_account=True
    )
    return Response(await _view(floors, member), status_code=201)


@post(
    "/staff/{staff:str}/unlock",
    summary="Unlock an account waiting after wrong PINs (managers)",
    status_code=200,
    responses=errors(401, 403, 404, 429),
    opt={"act": Act.manage_staff},
)
async def unlock_staff(floors: FloorsDep, who: Who, staff: FromPath[str]) -> StaffView:
    await _yours(floors, who, staff)
    await floors.sessions.unlock(staff, who.person)
    member = await floors.sessions.directory.staff(staff)
    if member is None:  # another manager removed them as they were unlocked: said, not a 500
        raise Refusal(Why.not_found, f"No staff member {staff!r}: removed meanwhile.")
    return await _view(floors, member)


@put(
    "/staff/{staff:str}/secret",
    summary="Set a new PIN or password; unlocks the account and ends its sign-ins (managers)",
    status_code=204,
    responses=errors(400, 401, 403, 404, 422, 429),
    opt={"act": Act.manage_staff},
)
async def set_secret(floors: FloorsDep, who: Who, staff: FromPath[str], data: JSONBody[NewSecret]) -> None:
    await _yours(floors, who, staff)
    await floors.sessions.set_secret(staff, data.secret, who.person, who.session, by_account=True)
    floors.recheck_sessions()


@delete(
    "/staff/{staff:str}",
    summary="Remove a staff member; their sign-ins end at once (managers)",
    description="Refused 401 when the caller's own account was removed meanwhile (another manager removing them "
    "at the same moment), and 409 for a clinic's last manager (add another first).",
    status_code=204,
    responses=errors(401, 403, 404, 409, 422, 429),
    opt={"act": Act.manage_staff},
)
async def remove_staff(floors: FloorsDep, who: Who, staff: FromPath[str]) -> None:
    if staff == who.person:
        raise Refusal(Why.invalid, "You cannot remove yourself; ask another manager.")
    await _yours(floors, who, staff)
    await floors.sessions.remove_staff(staff, who.person, by_account=True)
    floors.recheck_sessions()


@get(
    "/staff/{staff:str}/audit",
    summary="Everything a person tapped on a day, in each clinic of the caller's (managers)",
    responses=errors(400, 401, 403, 404, 422),
    opt={"act": Act.read_audit},
)
async def staff_audit(floors: FloorsDep, who: Who, staff: FromPath[str], day: Day = None) -> AuditTrail:
    entries = []
    searched, unheld = False, None
    for runtime in floors.runtimes.values():
        if not in_clinic(who.clinics, runtime.id):
            continue
        try:
            _, events = await runtime.day_events(day)
        except Refusal as refused:
            if refused.why is not Why.not_found:
                raise
            unheld = refused  # a clinic whose log does not go back to that day: the others' may
            continue
        searched = True
        entries += audit.of_person(runtime.id, staff, events)
    if unheld is not None and not searched:
        raise unheld
    return AuditTrail(entries)


@get(
    "/displays",
    summary="The caller's clinics' paired wall displays, revoked ones included (managers)",
    responses=errors(401, 403),
    opt={"act": Act.manage_displays},
)
async def list_displays(floors: FloorsDep, who: Who) -> list[Display]:
    return [d for d in await floors.sessions.directory.all_displays() if in_clinic(who.clinics, d.clinic)]


@post(
    "/displays",
    summary="Pair the wall display showing this code, for a clinic and optionally a zone (managers)",
    responses=errors(400, 401, 403, 404, 422, 429),
    opt={"act": Act.manage_displays},
)
async def pair_display(floors: FloorsDep, who: Who, data: JSONBody[PairDisplay]) -> Response[Display]:
    _your_clinic(who, data.clinic)  # before asking whether the server runs it (`_new_clinics`)
    runtime = floors.get(data.clinic)
    _a_zone_of(runtime.clinic, data.zone)
    display = await floors.sessions.approve_pairing(data.code, data.clinic, data.zone, data.label, who.person)
    return Response(display, status_code=201)


def _a_zone_of(clinic: Clinic, zone: str | None) -> None:
    zones = sorted({r.zone for r in clinic.rooms})
    if zone is not None and zone not in zones:
        raise Refusal(Why.invalid, f"No zone {zone!r} in {clinic.name} (zones: {', '.join(zones)}).", field="zone")


@put(
    "/displays/{display:str}",
    summary="Rename a paired wall display, or move it to another zone (null: the whole clinic), without pairing it "
    "again: its screen gets the new zone's feed at once (managers)",
    responses=errors(400, 401, 403, 404, 409, 422, 429),
    opt={"act": Act.manage_displays},
)
async def change_display(floors: FloorsDep, who: Who, display: FromPath[str], data: JSONBody[ChangeDisplay]) -> Display:
    paired = await floors.sessions.directory.display(display)
    if paired is None:
        raise Refusal(Why.not_found, f"No display {display[:40]!r}.")
    _your_clinic(who, paired.clinic)
    runtime = floors.runtimes.get(paired.clinic)
    if runtime is not None:
        _a_zone_of(runtime.clinic, data.zone)
    elif data.zone is not None:
        raise Refusal(Why.invalid, f"{paired.clinic!r} is not run here: its zones are not known.", field="zone")
    changed = await floors.sessions.change_display(display, data.label, data.zone, who.person)
    floors.recheck_sessions()
    return changed


@delete(
    "/displays/{display:str}",
    summary="Revoke a display: its token stops working and its screen is disconnected at once (managers)",
    status_code=200,
    responses=errors(401, 403, 404, 429),
    opt={"act": Act.manage_displays},
)
async def revoke_display(floors: FloorsDep, who: Who, display: FromPath[str]) -> Display:
    paired = await floors.sessions.directory.display(display)
    if paired is not None:
        _your_clinic(who, paired.clinic)
    revoked = await floors.sessions.revoke_display(display, who.person)
    floors.recheck_sessions()
    return revoked


def people_routers(floors: Floors) -> list[Router]:
    dependencies = {"floors": Provide(lambda: floors, use_cache=True, sync_to_thread=False)}
    public = Router(
        "/api",
        route_handlers=[sign_in, start_pairing, claim_display],
        guards=[throttled_by_address],
        opt={"act": Rule.anyone},
        dependencies=dependencies,
        tags=["sign-in and pairing"],
    )
    private = Router(
        "/api",
        route_handlers=[
            me,
            sign_out,
            list_staff,
            add_staff,
            unlock_staff,
            set_secret,
            remove_staff,
            staff_audit,
            list_displays,
            pair_display,
            change_display,
            revoke_display,
        ],
        guards=[allowed],
        dependencies={**dependencies, "who": Provide(caller, sync_to_thread=False)},
        tags=["staff and displays"],
    )
    return [public, private]
