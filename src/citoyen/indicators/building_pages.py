"""A building's eco-feedback page (`/buildings/{id}`): its consumption beside similar buildings'. The links
between residents and buildings have their own pages in `citoyen.buildings.pages`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.indicators import building_views
from citoyen.web.params import PathBigId
from citoyen.web.security import CurrentPerson
from citoyen.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/buildings/{building_id}")
async def building_page(
    request: Request, session: DbSession, person: CurrentPerson, building_id: PathBigId
) -> Response:
    page = await building_views.building_page(session, building_id, person)
    return render(request, "indicators/building.html", {"page": page})
