"""The buildings' pages: the list of buildings (to find one's own), a resident's request to be linked to their
building (and withdrawing it), the buildings department's list of requests to confirm or decline, and its form
to create a building with its meters (`/staff/buildings`). A
building's own page is the eco-feedback page (`citoyen.indicators.building_pages`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from citoyen.addresses import base_url
from citoyen.buildings import service as buildings
from citoyen.db import DbSession
from citoyen.errors import Kind
from citoyen.i18n import N_
from citoyen.sensing import service as sensing
from citoyen.territory import service as territory
from citoyen.web.forms import AppSettings, see_other
from citoyen.web.params import PathBigId, PathId
from citoyen.web.security import CurrentPerson, Form, SignedInPerson, StaffPerson
from citoyen.web.templating import flash, render

router = APIRouter(include_in_schema=False)


@router.get("/buildings")
async def buildings_page(request: Request, session: DbSession, person: CurrentPerson) -> Response:
    listed = await buildings.list_buildings(session)
    mine = await buildings.buildings_of(session, person.id) if person is not None else []
    names = {n.id: n.name for n in await territory.list_neighbourhoods(session)}
    return render(request, "buildings/index.html", {"buildings": listed, "mine": mine, "quartiers": names})


@router.post("/buildings/{building_id}/link")
async def request_link(session: DbSession, person: SignedInPerson, building_id: PathBigId, form: Form) -> Response:
    await buildings.request_link(session, building_id, person)
    return see_other(f"/buildings/{building_id}")


@router.post("/buildings/{building_id}/unlink")
async def remove_link(session: DbSession, person: SignedInPerson, building_id: PathBigId, form: Form) -> Response:
    await buildings.remove_link(session, building_id, person)
    return see_other(f"/buildings/{building_id}")


@router.get("/staff/buildings/links")
async def pending_links(request: Request, session: DbSession, person: StaffPerson) -> Response:
    pending = await buildings.pending_links(session, person)
    return render(request, "buildings/links.html", {"pending": pending})


@router.post("/staff/buildings/links/{link_id}/confirm")
async def confirm_link(session: DbSession, person: StaffPerson, link_id: PathId, form: Form) -> Response:
    await buildings.confirm_link(session, link_id, person)
    return see_other("/staff/buildings/links")


@router.post("/staff/buildings/links/{link_id}/decline")
async def decline_link(session: DbSession, person: StaffPerson, link_id: PathId, form: Form) -> Response:
    await buildings.decline_link(session, link_id, person)
    return see_other("/staff/buildings/links")


@router.get("/staff/buildings")
async def staff_buildings(request: Request, session: DbSession, person: StaffPerson) -> Response:
    if not await buildings.may_decide(session, person):
        raise buildings.BuildingError(
            N_("Only the buildings department's staff create buildings."), Kind.FORBIDDEN, "building"
        )
    return render(request, "buildings/staff.html", {"meters": buildings.METERS})


@router.post("/staff/buildings")
async def create_building(
    request: Request, session: DbSession, person: StaffPerson, form: Form, settings: AppSettings
) -> Response:
    ctx = sensing.Context(
        access=sensing.Access(is_staff=True),
        base_url=base_url(settings, request),
        territory=request.app.state.territory_index,
    )
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    meters = [meter for meter in form.getlist("meters") if isinstance(meter, str)]
    building = await buildings.create_by_staff(session, ctx, person, fields, meters)
    flash(request, N_("The building was created with its meters."))
    return see_other(f"/buildings/{building.thing_id}")
