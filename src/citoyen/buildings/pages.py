"""The buildings' pages: the list of buildings (to find one's own), a resident's request to be linked to their
building (and withdrawing it), and the buildings department's list of requests to confirm or decline. A
building's own page is the eco-feedback page (`citoyen.indicators.building_pages`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from citoyen.buildings import service as buildings
from citoyen.db import DbSession
from citoyen.territory import service as territory
from citoyen.web.forms import see_other
from citoyen.web.params import PathBigId, PathId
from citoyen.web.security import CurrentPerson, Form, SignedInPerson, StaffPerson
from citoyen.web.templating import render

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
