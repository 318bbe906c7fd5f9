"""Territory pages: the home map. (Its neighbourhood panel gathers the domains' news of a place: it is served by
citoyen.overviews, above the domains, which the core does not import.)"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.territory import service
from citoyen.web.security import CurrentPerson
from citoyen.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request, session: DbSession, person: CurrentPerson) -> Response:
    city = await service.get_city(session)
    count = len(await service.list_neighbourhoods(session))
    return render(request, "territory/home.html", {"city": city, "neighbourhood_count": count})
