"""Routes for people and screens: sign-in and out, staff accounts, wall display pairing, audit by person."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Request, Response, Router, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from floor import audit
from floor.bootstrap import Floors
from floor.core.errors import Refusal, Why
from floor.directory.base import Display, StaffMember
from floor.sessions import Caller, DisplayToken, PairingStarted, SignedIn
from floor.web.auth import caller, managers_only, signed_in, throttled_by_address
from floor.web.errors import errors
from floor.wire import (
    AuditTrail,
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


def _manager(does: str) -> dict:
    return {"guards": [managers_only], "opt": {"does": does}}


# -- anyone: sign-in and display pairing --------------------------------------------------------


@post("/sign-in", summary="Sign in on a tablet: a bearer token for this device, valid for a shift",
      responses=errors(400, 401, 423, 429), security=[{}])
async def sign_in(floors: FloorsDep, data: JSONBody[SignIn]) -> Response[SignedIn]:
    signed = await floors.sessions.sign_in(data.staff, data.secret, data.device)
    return Response(signed, status_code=201, headers={"Cache-Control": "no-store"})


@post("/displays/pairings", summary="A new wall display asks for a pairing code to show",
      responses=errors(429), security=[{}])
async def start_pairing(request: Request, floors: FloorsDep) -> Response[PairingStarted]:
    started = await floors.sessions.start_pairing()
    demo_clinic = request.app.state.get("demo_pairing_clinic")
    if demo_clinic:
        # `floor demo` only: its wall pairs itself, so a newcomer sees the floor move at once.
        await floors.sessions.approve_pairing(started.code, demo_clinic, None, "Demo wall", "demo")
    return Response(started, status_code=201, headers={"Cache-Control": "no-store"})


@post("/displays/pairings/claim", summary="The display collects its token once a manager entered its code",
      responses=errors(400, 404, 429), status_code=200, security=[{}])
async def claim_display(floors: FloorsDep, data: JSONBody[ClaimDisplay]) -> Response[DisplayToken | PairingWaiting]:
    token = await floors.sessions.collect(data.claim)
    if token is None:
        return Response(PairingWaiting(), status_code=202)
    return Response(token, status_code=200, headers={"Cache-Control": "no-store"})


# -- signed in ----------------------------------------------------------------------------------


@get("/me", summary="Who this token belongs to", opt={"displays": True}, responses=errors(401))
async def me(who: Who) -> Me:
    return Me(who.kind, who.person, who.device, who.expires_at, who.name, who.role, who.clinic, who.zone,
              who.provider)


@post("/sign-out", summary="Sign out: this token stops working at once, and its sockets close",
      status_code=204, responses=errors(401))
async def sign_out(floors: FloorsDep, who: Who) -> None:
    await floors.sessions.sign_out(who)
    floors.recheck_sessions()


async def _view(floors: Floors, member: StaffMember) -> StaffView:
    failures = await floors.sessions.directory.failures(member.id)
    return StaffView(member.id, member.name, member.role, await floors.sessions.locked(member.id), failures,
                     member.added_at, member.added_by, member.provider)


@get("/staff", summary="Staff accounts (managers)", responses=errors(401, 403), **_manager("list staff"))
async def list_staff(floors: FloorsDep) -> list[StaffView]:
    return [await _view(floors, m) for m in await floors.sessions.directory.all_staff()]


@post("/staff", summary="Add a staff member with a role and a first PIN or password (managers)",
      responses=errors(400, 401, 403, 409, 422, 429), **_manager("add staff"))
async def add_staff(floors: FloorsDep, who: Who, data: JSONBody[NewStaff]) -> Response[StaffView]:
    if data.provider is not None and not any(r.clinic.provider(data.provider) for r in floors.runtimes.values()):
        raise Refusal(Why.invalid, f"No clinic on this server has a provider {data.provider!r}.", field="provider")
    member = await floors.sessions.add_staff(data.id, data.name, data.role, data.secret, who.person, data.provider)
    return Response(await _view(floors, member), status_code=201)


@post("/staff/{staff:str}/unlock", summary="Unlock an account locked by wrong PINs (managers)", status_code=200,
      responses=errors(401, 403, 404, 429), **_manager("unlock accounts"))
async def unlock_staff(floors: FloorsDep, who: Who, staff: FromPath[str]) -> StaffView:
    await floors.sessions.unlock(staff, who.person)
    member = await floors.sessions.directory.staff(staff)
    assert member is not None
    return await _view(floors, member)


@put("/staff/{staff:str}/secret", summary="Set a new PIN or password; unlocks the account (managers)",
     status_code=204, responses=errors(400, 401, 403, 404, 422, 429), **_manager("set PINs"))
async def set_secret(floors: FloorsDep, who: Who, staff: FromPath[str], data: JSONBody[NewSecret]) -> None:
    await floors.sessions.set_secret(staff, data.secret, who.person)


@delete("/staff/{staff:str}", summary="Remove a staff member; their sign-ins end at once (managers)",
        status_code=204, responses=errors(401, 403, 404, 429), **_manager("remove staff"))
async def remove_staff(floors: FloorsDep, who: Who, staff: FromPath[str]) -> None:
    if staff == who.person:
        raise Refusal(Why.invalid, "You cannot remove yourself; ask another manager.")
    await floors.sessions.remove_staff(staff, who.person)
    floors.recheck_sessions()


@get("/staff/{staff:str}/audit", summary="Everything a person tapped on a day, in every clinic (managers)",
     responses=errors(400, 401, 403, 422), **_manager("read the audit trail"))
async def staff_audit(floors: FloorsDep, staff: FromPath[str], day: Day = None) -> AuditTrail:
    entries = []
    for runtime in floors.runtimes.values():
        _, events = await runtime.day_events(day)
        entries += audit.of_person(runtime.id, staff, events)
    return AuditTrail(entries)


@get("/displays", summary="Paired wall displays, revoked ones included (managers)",
     responses=errors(401, 403), **_manager("manage displays"))
async def list_displays(floors: FloorsDep) -> list[Display]:
    return await floors.sessions.directory.all_displays()


@post("/displays", summary="Pair the wall display showing this code, for a clinic and optionally a zone "
      "(managers)", responses=errors(400, 401, 403, 404, 422, 429), **_manager("pair displays"))
async def pair_display(floors: FloorsDep, who: Who, data: JSONBody[PairDisplay]) -> Response[Display]:
    runtime = floors.get(data.clinic)
    zones = sorted({r.zone for r in runtime.clinic.rooms})
    if data.zone is not None and data.zone not in zones:
        raise Refusal(Why.invalid, f"No zone {data.zone!r} in {runtime.clinic.name} (zones: {', '.join(zones)}).",
                      field="zone")
    display = await floors.sessions.approve_pairing(data.code, data.clinic, data.zone, data.label, who.person)
    return Response(display, status_code=201)


@delete("/displays/{display:str}", summary="Revoke a display: its token stops working and its screen is "
        "disconnected at once (managers)", status_code=200, responses=errors(401, 403, 404, 429),
        **_manager("manage displays"))
async def revoke_display(floors: FloorsDep, who: Who, display: FromPath[str]) -> Display:
    revoked = await floors.sessions.revoke_display(display, who.person)
    floors.recheck_sessions()
    return revoked


def people_routers(floors: Floors) -> list[Router]:
    dependencies = {"floors": Provide(lambda: floors, use_cache=True, sync_to_thread=False)}
    public = Router("/api", route_handlers=[sign_in, start_pairing, claim_display], guards=[throttled_by_address],
                    dependencies=dependencies, tags=["sign-in and pairing"])
    private = Router("/api", route_handlers=[me, sign_out, list_staff, add_staff, unlock_staff, set_secret,
                                             remove_staff, staff_audit, list_displays, pair_display, revoke_display],
                     guards=[signed_in], dependencies={**dependencies, "who": Provide(caller, sync_to_thread=False)},
                     tags=["staff and displays"])
    return [public, private]
