"""Citizens' sensor pages: the sensors layer of the city map, a sensor's page with its charts, and the live
stream of new readings (server-sent events) that keeps those charts moving."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from citoyen.db import DbSession
from citoyen.events import EventHub, ObservationsStored
from citoyen.i18n import N_
from citoyen.people import service as people
from citoyen.sensing import portal
from citoyen.sensing.models import ThingAccess
from citoyen.web.params import PathBigId
from citoyen.web.security import CurrentPerson
from citoyen.web.templating import gettext_for, locale_of, render

router = APIRouter(include_in_schema=False)


def _refuse(request: Request, error: portal.PortalError) -> HTTPException:
    return HTTPException(error.status, gettext_for(request)(error.message))


@router.get("/api/sensing/things.geojson")
async def map_layer(request: Request, session: DbSession) -> Response:
    """The sensors of the map (public and restricted ones), with their kind, named in the reader's language."""
    features = await portal.map_features(session, locale_of(request))
    return JSONResponse(features, media_type="application/geo+json", headers={"Vary": "Cookie, Accept-Language"})


@router.get("/sensing/things/{thing_id}")
async def thing_page(request: Request, session: DbSession, person: CurrentPerson, thing_id: PathBigId) -> Response:
    try:
        page = await portal.thing_page(session, thing_id, person)
        first = page.datastreams[0] if page.datastreams else None
        table = await portal.series(session, first.id, portal.Span.DAY, person, log_reading=False) if first else None
    except portal.PortalError as error:
        raise _refuse(request, error) from None
    context = {
        "page": page,
        "table": table,
        "kind_labels": portal.KIND_LABELS,
        "access_labels": portal.ACCESS_LABELS,
        "spans": list(portal.Span),
        "live": page.raw_allowed,
    }
    return render(request, "sensing/thing.html", context)


@router.get("/api/sensing/datastreams/{datastream_id}/series")
async def datastream_series(
    request: Request,
    session: DbSession,
    person: CurrentPerson,
    datastream_id: PathBigId,
    span: portal.Span = portal.Span.DAY,
) -> Response:
    """The chart's points, downsampled on the server (JSON: `points` are `[unix seconds, value]`)."""
    try:
        result = await portal.series(session, datastream_id, span, person)
    except portal.PortalError as error:
        raise _refuse(request, error) from None
    return JSONResponse(result.as_json(), headers={"Cache-Control": "no-store"})


@router.get("/api/sensing/datastreams/{datastream_id}/live")
async def datastream_live(
    request: Request, session: DbSession, person: CurrentPerson, datastream_id: PathBigId
) -> Response:
    """New readings of one Datastream as server-sent events (`event: observation`, data `{"time", "result"}`).

    Only for viewers allowed raw readings: a restricted sensor publishes hourly means, not a live feed."""
    try:
        thing = await portal.datastream_thing(session, datastream_id, person)
    except portal.PortalError as error:
        raise _refuse(request, error) from None
    if not portal.may_see_raw(thing, person):
        raise HTTPException(
            403, gettext_for(request)(N_("This sensor publishes hourly means only, not live readings."))
        )
    if thing.access == ThingAccess.PERSONAL and person is not None and thing.owner_person_id != person.id:
        await people.log_access(session, person, thing.owner_person_id or person.id, "sensing_live", thing.name)
    heartbeat = request.app.state.settings.sensing_live_heartbeat_seconds
    return StreamingResponse(
        _observation_events(request, datastream_id, heartbeat),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _observation_events(request: Request, datastream_id: int, heartbeat: float) -> AsyncIterator[str]:
    # Readings stored by any worker reach every worker's hub (citoyen.events): this one's stream hears them.
    hub: EventHub = request.app.state.events
    listening = await hub.listen_everywhere(ObservationsStored, maxsize=1000)
    try:
        # Tells the browser how long to wait before reconnecting, and that the stream is open.
        yield "retry: 5000\n: connected\n\n"
        while True:
            try:
                stored = await asyncio.wait_for(listening.get(), timeout=heartbeat)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": heartbeat\n\n"
                continue
            messages = _observation_messages(stored) if stored.datastream_id == datastream_id else ""
            if messages:
                yield messages
    finally:
        listening.close()


def _observation_messages(stored: ObservationsStored) -> str:
    """One `observation` event per numeric reading (the charts draw numbers; others are skipped)."""
    messages = []
    for observation_id, time, result in zip(
        stored.observation_ids, stored.phenomenon_times, stored.results, strict=True
    ):
        if result is not None:
            data = {"id": observation_id, "time": time, "result": result}
            messages.append(f"event: observation\nid: {observation_id}\ndata: {json.dumps(data)}\n\n")
    return "".join(messages)
