"""Pages that gather several domains: the home map's neighbourhood panel, and what a person follows."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.overviews import views
from citoyen.participation import service as participation
from citoyen.reports import service as reports
from citoyen.web.forms import found
from citoyen.web.params import PathId
from citoyen.web.security import SignedInPerson
from citoyen.web.templating import locale_of, render

router = APIRouter(include_in_schema=False)


@router.get("/neighbourhoods/{neighbourhood_id}/panel")
async def neighbourhood_panel(request: Request, session: DbSession, neighbourhood_id: PathId) -> Response:
    """What the platform knows about a neighbourhood (an HTMX fragment for the home map's side panel)."""
    panel = found(await views.neighbourhood_panel(session, neighbourhood_id), "Unknown neighbourhood.")
    context = {
        "panel": panel,
        "neighbourhood": panel.neighbourhood,
        "proposal_status_labels": participation.STATUS_LABELS,
    }
    return render(request, "territory/_panel.html", context)


@router.get("/account/follows")
async def my_follows(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    """The proposals, processes, neighbourhoods and reports the person follows, with where e-mail digests stand."""
    page = await views.follows_page(session, person, locale_of(request))
    context = {
        "followed": page.followed,
        "followed_reports": page.reports,
        "neighbourhoods": page.unfollowed_neighbourhoods,
        "email_digest": page.email_digest,
        "proposal_status_labels": participation.STATUS_LABELS,
        "report_status_labels": reports.STATUS_LABELS,
    }
    return render(request, "follows/list.html", context)
