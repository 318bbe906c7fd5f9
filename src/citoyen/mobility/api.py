"""The carpool board's JSON API (`/api/carpool`), for a carpool app or a regional platform.

Reading is open to all: the trips on the board, searched near a start and an end, on a date or weekdays, around
a time of day. Places are answered as H3 cells (resolution 9, about 350 m across) and quartiers, never as points,
and no trip says who posted it. Posting and withdrawing one's own trips needs a personal API token with the
`carpool` scope (a resident creates it on `/carpool/tokens`; it acts for them), sent as `Authorization: Bearer
TOKEN`. Errors are the platform's JSON errors: `{"error": {"status", "message"}}`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from citoyen.addresses import base_url
from citoyen.db import DbSession
from citoyen.errors import Kind
from citoyen.i18n import N_
from citoyen.mobility import cells
from citoyen.mobility import service as mobility
from citoyen.mobility.models import TOKEN_SCOPE, CarpoolTrip, TripKind
from citoyen.mobility.schemas import WEEKDAY_CODES, CarpoolErrorOut, QuartierOut, TripIn, TripList, TripOut
from citoyen.people import service as people
from citoyen.people.service import Person
from citoyen.territory import service as territory
from citoyen.web.params import Offset, PathId, QueryId

router = APIRouter(prefix="/api/carpool", tags=["carpool"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": CarpoolErrorOut, "description": text}
    for status, text in (
        (400, "Bad parameters, or a trip the board's rules refuse (nothing stored)."),
        (401, "No API token, or an unknown or revoked one."),
        (403, "A token without the carpool scope, or someone else's trip."),
        (404, "Unknown trip, or no longer on the board."),
        (409, "The trip is no longer on the board."),
    )
}


def _index(request: Request) -> territory.TerritoryIndexCache:
    cache: territory.TerritoryIndexCache = request.app.state.territory_index
    return cache


async def resident(request: Request, session: DbSession) -> Person:
    """The resident a personal `carpool` token acts for."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise mobility.CarpoolError(
            N_("Send a personal API token with the carpool scope as Authorization: Bearer TOKEN."), Kind.SIGNED_OUT
        )
    token = await people.verify_api_token(session, secret.strip(), TOKEN_SCOPE)
    if token is None:
        for scope in people.API_SCOPES:
            if await people.verify_api_token(session, secret.strip(), scope) is not None:
                raise mobility.CarpoolError(N_("This API token does not have the carpool scope."), Kind.FORBIDDEN)
        raise mobility.CarpoolError(N_("This API token is unknown or revoked."), Kind.SIGNED_OUT)
    person = await people.get_person(session, token.created_by_id) if token.created_by_id else None
    if person is None or not person.is_active:
        raise mobility.CarpoolError(N_("This API token acts for no active resident."), Kind.FORBIDDEN)
    return person


Resident = Annotated[Person, Depends(resident)]


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")[:2]
    return int(hours) * 60 + int(minutes)


def trip_out(
    trip: CarpoolTrip, names: dict[int, str], base: str, found: mobility.FoundTrip | None = None
) -> dict[str, Any]:
    def quartier(neighbourhood_id: int | None) -> QuartierOut | None:
        return QuartierOut(id=neighbourhood_id, name=names.get(neighbourhood_id, "")) if neighbourhood_id else None

    offer = trip.kind == TripKind.OFFER.value
    out = TripOut(
        id=trip.id,
        kind=trip.kind,
        status=trip.status,
        departureCell=trip.from_cell,
        arrivalCell=trip.to_cell,
        departureQuartier=quartier(trip.from_neighbourhood_id),
        arrivalQuartier=quartier(trip.to_neighbourhood_id),
        departureWeekdays=[WEEKDAY_CODES[day] for day in mobility.weekdays_of(trip.days)],
        departureDate=trip.on_date,
        departureWindowStart=_clock(trip.window_start),
        departureWindowEnd=_clock(trip.window_end),
        availableSeats=trip.seats if offer else None,
        requestedSeats=None if offer else trip.seats,
        simulated=trip.simulated,
        expiresAt=trip.expires_at,
        webUrl=f"{base}/carpool/trips/{trip.id}",
    )
    if found is not None:
        out.departureToPickupWalkingDistance = round(found.walk_start_m) if found.walk_start_m is not None else None
        out.dropoffToArrivalWalkingDistance = round(found.walk_end_m) if found.walk_end_m is not None else None
        out.departureTimeGap = found.gap_minutes * 60 if found.gap_minutes is not None else None
    return out.model_dump(mode="json")


def _place(
    which: str, lat: float | None, lng: float | None, quartier: int | None, cell: str | None
) -> mobility.PlaceInput | None:
    """One way of giving a place: a point, a quartier or a cell (its centre); None when none is given."""
    given = [lat is not None or lng is not None, quartier is not None, cell is not None]
    if sum(given) > 1:
        raise mobility.CarpoolError(N_("Give each place one way: a point, a quartier or a cell."), Kind.INVALID, which)
    if cell is not None:
        if not cells.is_cell(cell):
            raise mobility.CarpoolError(N_("This is not an H3 cell of resolution 9."), Kind.INVALID, which)
        lon, centre_lat = cells.centre(cell)
        return mobility.PlaceInput(lon, centre_lat)
    if quartier is not None:
        return mobility.PlaceInput(neighbourhood_id=quartier)
    if given[0]:
        return mobility.PlaceInput(lng, lat)
    return None


async def _names(request: Request, session: DbSession) -> dict[int, str]:
    return await territory.neighbourhood_names(session, _index(request))


@router.get("/trips", response_model=TripList, responses=ERRORS)
async def search(
    request: Request,
    session: DbSession,
    departureLat: Annotated[float | None, Query(ge=-90, le=90, description="Start (only its cell is used).")] = None,
    departureLng: Annotated[float | None, Query(ge=-180, le=180)] = None,
    departureQuartier: Annotated[QueryId, Query(description="Start: a quartier's id.")] = None,
    departureCell: Annotated[str | None, Query(max_length=15, description="Start: an H3 cell (resolution 9).")] = None,
    arrivalLat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    arrivalLng: Annotated[float | None, Query(ge=-180, le=180)] = None,
    arrivalQuartier: QueryId = None,
    arrivalCell: Annotated[str | None, Query(max_length=15)] = None,
    kind: Annotated[str | None, Query(pattern="^(offer|seek)$", description="offer or seek")] = None,
    departureDate: Annotated[date | None, Query(description="Trips running on this local date.")] = None,
    departureWeekdays: Annotated[
        str | None, Query(max_length=27, description="Trips running on one of these days: MON,TUE,…")
    ] = None,
    departureTimeOfDay: Annotated[
        str | None, Query(pattern=r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$", description="Local time, HH:MM[:SS].")
    ] = None,
    timeDelta: Annotated[int, Query(ge=0, le=4 * 3600, description="Seconds either side of the time.")] = 900,
    count: Annotated[int, Query(ge=1, le=mobility.SEARCH_LIMIT)] = 20,
    offset: Offset = 0,
) -> JSONResponse:
    """Trips on the board. Near a start and an end (within 800 m of both, as the board's matching), they come
    best first (the walk added at both ends, then the gap to `departureTimeOfDay`); otherwise the newest first."""
    weekdays: set[int] = set()
    for code in (departureWeekdays or "").split(","):
        if code.strip():
            if code.strip().upper() not in WEEKDAY_CODES:
                raise mobility.CarpoolError(N_("Days are written MON, TUE, WED, THU, FRI, SAT, SUN."), Kind.INVALID)
            weekdays.add(WEEKDAY_CODES.index(code.strip().upper()))
    start = _place("departure", departureLat, departureLng, departureQuartier, departureCell)
    end = _place("arrival", arrivalLat, arrivalLng, arrivalQuartier, arrivalCell)
    index = _index(request)
    query = mobility.TripSearch(
        from_cell=await mobility.cell_of_place(session, index, start, "start") if start else None,
        to_cell=await mobility.cell_of_place(session, index, end, "end") if end else None,
        kind=kind,
        on_date=departureDate,
        weekdays=frozenset(weekdays),
        time_of_day=_minutes(departureTimeOfDay) if departureTimeOfDay else None,
        delta_minutes=timeDelta // 60,
        count=count,
        offset=offset,
    )
    names = await _names(request, session)
    base = base_url(request.app.state.settings, request)
    found = await mobility.search_trips(session, query)
    body = {"timeZone": str(mobility.city_zone()), "trips": [trip_out(f.trip, names, base, f) for f in found]}
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=30"})


@router.get("/cells", responses=ERRORS)
async def cell(
    request: Request,
    session: DbSession,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lng: Annotated[float, Query(ge=-180, le=180)],
) -> JSONResponse:
    """The cell a point falls in, as a trip would keep it: its id, centre and hexagon (GeoJSON), and the quartier
    of its centre (null outside the city). The trip form's map snaps its pins with it; nothing is stored."""
    found = cells.cell_of(lng, lat)
    lon, centre_lat = cells.centre(found)
    neighbourhood_id = await territory.locate_id(session, _index(request), lon, centre_lat)
    names = await _names(request, session) if neighbourhood_id else {}
    body = {
        "cell": found,
        "centre": [round(lon, 6), round(centre_lat, 6)],
        "geometry": {"type": "Polygon", "coordinates": [cells.boundary(found)]},
        "quartier": {"id": neighbourhood_id, "name": names.get(neighbourhood_id, "")} if neighbourhood_id else None,
    }
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/trips/{trip_id:int}", response_model=TripOut, responses=ERRORS)
async def one(request: Request, session: DbSession, trip_id: PathId) -> JSONResponse:
    """A trip on the board (404 once it is withdrawn or expired)."""
    trip = await mobility.get_trip(session, trip_id)
    if trip is None or not mobility.is_open(trip):
        raise mobility.CarpoolError(N_("Unknown trip."), Kind.NOT_FOUND)
    base = base_url(request.app.state.settings, request)
    return JSONResponse(trip_out(trip, await _names(request, session), base))


@router.get("/me/trips", response_model=TripList, responses=ERRORS)
async def mine(request: Request, session: DbSession, person: Resident) -> JSONResponse:
    """The token's resident's own trips (on the board or not), newest first."""
    names = await _names(request, session)
    base = base_url(request.app.state.settings, request)
    trips = [trip_out(trip, names, base) for trip in await mobility.trips_of(session, person.id)]
    return JSONResponse({"timeZone": str(mobility.city_zone()), "trips": trips})


@router.post("/trips", status_code=201, response_model=TripOut, responses=ERRORS)
async def post(request: Request, session: DbSession, person: Resident, body: TripIn) -> JSONResponse:
    """Put one of the token's resident's trips on the board, under the board's rules (a 400 stores nothing)."""
    start = _place("start", body.departureLat, body.departureLng, body.departureQuartier, body.departureCell)
    end = _place("end", body.arrivalLat, body.arrivalLng, body.arrivalQuartier, body.arrivalCell)
    if start is None or (start.neighbourhood_id is None and (start.lon is None or start.lat is None)):
        raise mobility.CarpoolError(N_("Choose where the trip starts."), Kind.INVALID, "start")
    if end is None or (end.neighbourhood_id is None and (end.lon is None or end.lat is None)):
        raise mobility.CarpoolError(N_("Choose where the trip ends."), Kind.INVALID, "end")
    data = mobility.TripInput(
        kind=body.kind,
        start=start,
        end=end,
        window_start=_minutes(body.departureWindowStart),
        window_end=_minutes(body.departureWindowEnd),
        seats=body.seats,
        weekdays=frozenset(WEEKDAY_CODES.index(code) for code in body.departureWeekdays),
        on_date=body.departureDate,
    )
    trip = await mobility.post_trip(session, _index(request), person, data)
    base = base_url(request.app.state.settings, request)
    out = trip_out(trip, await _names(request, session), base)
    return JSONResponse(out, status_code=201, headers={"Location": f"{base}/api/carpool/trips/{trip.id}"})


@router.delete("/trips/{trip_id:int}", response_model=TripOut, responses=ERRORS)
async def withdraw(request: Request, session: DbSession, person: Resident, trip_id: PathId) -> JSONResponse:
    """Take one of the token's resident's trips off the board: its requests close and its cells are deleted."""
    trip = await mobility.withdraw_trip(session, person, trip_id)
    base = base_url(request.app.state.settings, request)
    return JSONResponse(trip_out(trip, await _names(request, session), base))
