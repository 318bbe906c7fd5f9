"""Territory pages: the home map and the panel of a neighbourhood."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.territory import service
from citoyen.web.params import PathId
from citoyen.web.security import CurrentPerson
from citoyen.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request, session: DbSession, person: CurrentPerson) -> Response:
    city = await service.get_city(session)
    count = len(await service.list_neighbourhoods(session))
    return render(request, "territory/home.html", {"city": city, "neighbourhood_count": count})


@router.get("/neighbourhoods/{neighbourhood_id}/panel")
async def neighbourhood_panel(request: Request, session: DbSession, neighbourhood_id: PathId) -> Response:
    """What the platform knows about a neighbourhood (an HTMX fragment for the map's side panel)."""
    neighbourhood = await service.get_neighbourhood(session, neighbourhood_id)
    if neighbourhood is None:
        raise HTTPException(404, "Unknown neighbourhood.")
    return render(request, "territory/_panel.html", {"neighbourhood": neighbourhood})
