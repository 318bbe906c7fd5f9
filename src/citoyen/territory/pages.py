"""Territory pages: the home map, and the address fragments of the place picker (suggestions as one types, the
address nearest to the pin). (The neighbourhood panel gathers the domains' news of a place: it is served by
citoyen.overviews, above the domains, which the core does not import.)"""

from __future__ import annotations

import math

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


@router.get("/territory/addresses/suggestions")
async def address_suggestions(request: Request, session: DbSession, address: str = "") -> Response:
    """Addresses starting as typed, as the `<option>`s of the address field's datalist (an HTMX fragment)."""
    places = await request.app.state.gazetteer.search(session, address[:200], limit=6, autocomplete=True)
    return render(request, "territory/_address_options.html", {"places": places})


@router.get("/territory/addresses/near")
async def address_near(request: Request, session: DbSession, lon: str = "", lat: str = "") -> Response:
    """The address nearest to the pin ("Near 12 rue …"), for the reporter (an HTMX fragment; empty when none)."""
    try:
        x, y = float(lon.replace(",", ".")), float(lat.replace(",", "."))
    except ValueError:
        x = y = math.nan
    valid = math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90
    place = await request.app.state.gazetteer.reverse(session, x, y) if valid else None
    return render(request, "territory/_address_near.html", {"place": place})
