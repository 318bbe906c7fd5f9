"""Participation read-only JSON API: processes (with phases and what citizens may do now), proposals
(filtered, sorted, paginated), the map layer and a GeoJSON export. Who supports a proposal is never shown."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from citoyen.db import DbSession
from citoyen.fastjson import FastJSONResponse
from citoyen.participation import service as participation
from citoyen.participation.models import ProposalStatus
from citoyen.participation.schemas import (
    ParticipationErrorOut,
    ProcessOut,
    ProposalCollection,
    ProposalMapLayer,
    ProposalOut,
    ProposalPage,
    ProposalStatusValue,
)
from citoyen.web.maps import MapBox, MapZoom
from citoyen.web.params import Offset, PathId, QueryId, QueryText
from citoyen.web.templating import locale_of

router = APIRouter(prefix="/api/participation", tags=["participation"])
BAD_REQUEST: dict[int | str, dict[str, Any]] = {400: {"model": ParticipationErrorOut, "description": "Bad parameters."}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ParticipationErrorOut, "description": "Unknown."}}
GEOJSON_LIMIT = 5000


def proposal_filters(
    process: Annotated[QueryId, Query(description="A process id.")] = None,
    neighbourhood: Annotated[QueryId, Query(description="A neighbourhood id.")] = None,
    category: Annotated[QueryId, Query(description="A category id (of the process).")] = None,
    status: Annotated[list[ProposalStatusValue] | None, Query(description="Statuses (repeatable).")] = None,
    q: Annotated[QueryText, Query(max_length=200, description="Words in the title or text.")] = "",
    bbox: MapBox = None,
) -> participation.ProposalFilters:
    """The filters shared by the list, the map and the GeoJSON; 400 on a malformed value."""
    return participation.ProposalFilters(
        process_id=process,
        neighbourhood_id=neighbourhood,
        category_id=category,
        statuses=[ProposalStatus(value) for value in status] if status else None,
        text=q,
        bbox=bbox,
    )


Filters = Annotated[participation.ProposalFilters, Depends(proposal_filters)]
Sort = Literal["relevance", "recent", "supports", "comments", "random"]


@router.get("/processes", response_model=list[ProcessOut])
async def list_processes(request: Request, session: DbSession) -> list[ProcessOut]:
    """Published processes, with their phases and the phase running now."""
    locale = locale_of(request)
    found = await participation.overview(session, await participation.list_processes(session))
    return [
        ProcessOut.of(o.process, locale, o.phases, o.abilities.phase, o.categories, o.scope, o.proposal_count)
        for o in found
    ]


@router.get("/processes/{process_id}", response_model=ProcessOut, responses=NOT_FOUND)
async def get_process(request: Request, session: DbSession, process_id: PathId) -> ProcessOut:
    process = await participation.get_process(session, process_id)  # an unknown one: the refusal handler's 404
    (o,) = await participation.overview(session, [process])
    return ProcessOut.of(
        o.process, locale_of(request), o.phases, o.abilities.phase, o.categories, o.scope, o.proposal_count
    )


@router.get("/proposals", response_model=ProposalPage, responses=BAD_REQUEST)
async def list_proposals(
    session: DbSession,
    filters: Filters,
    sort: Annotated[
        Sort, Query(description="relevance: best match of the words `q` first (without words: the most recent).")
    ] = "relevance",
    seed: Annotated[int, Query(ge=0, le=2**31 - 1, description="For sort=random: the same seed, the same order.")] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> ProposalPage:
    """Visible proposals (not withdrawn, not hidden), filtered and sorted, a page at a time."""
    found = await participation.search_proposals(session, filters, sort, seed, limit, offset)
    total = await participation.count_proposals(session, filters)
    authors = await participation.author_names(session, [p.author_id for p in found])
    items = [ProposalOut.of(p, authors.get(p.author_id) if p.author_id else None) for p in found]
    return ProposalPage(total=total, limit=limit, offset=offset, proposals=items)


@router.get("/proposals.geojson", response_model=ProposalCollection, responses=BAD_REQUEST)
async def proposals_geojson(
    session: DbSession,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=GEOJSON_LIMIT)] = 1000,
    offset: Offset = 0,
) -> JSONResponse:
    """Placed proposals as an RFC 7946 FeatureCollection (newest first), for GIS tools."""
    found = await participation.search_proposals(session, filters, "recent", 0, limit, offset, placed_only=True)
    authors = await participation.author_names(session, [p.author_id for p in found])
    features = []
    for proposal in found:
        properties = ProposalOut.of(proposal, authors.get(proposal.author_id) if proposal.author_id else None)
        features.append(
            {
                "type": "Feature",
                "id": proposal.id,
                "geometry": {"type": "Point", "coordinates": [proposal.lon, proposal.lat]},
                "properties": properties.model_dump(mode="json", exclude={"lon", "lat"}),
            }
        )
    return JSONResponse({"type": "FeatureCollection", "features": features}, media_type="application/geo+json")


@router.get("/proposals/{proposal_id}", response_model=ProposalOut, responses=NOT_FOUND)
async def get_proposal(session: DbSession, proposal_id: PathId) -> ProposalOut:
    proposal = await participation.get_proposal(session, proposal_id)  # an unknown one: the refusal handler's 404
    authors = await participation.author_names(session, [proposal.author_id])
    return ProposalOut.of(proposal, authors.get(proposal.author_id) if proposal.author_id else None)


@router.get("/map", response_model=ProposalMapLayer, responses=BAD_REQUEST)
async def map_layer(
    session: DbSession,
    filters: Filters,
    zoom: MapZoom,
) -> FastJSONResponse:
    """What the map draws for a view: proposal counts per H3 cell at low zoom, points when close."""
    return FastJSONResponse(await participation.map_layer(session, filters, zoom))
