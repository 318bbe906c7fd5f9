"""The carpool board's pages: the board, posting a trip, a trip with its matches and requests, an exchange
between a trip's owner and an asker (answer, withdraw, messages). Plain forms: everything works without
JavaScript. No page shows an e-mail, a phone or a point: places are neighbourhoods, people their display name.
And the flows' pages: the counters' map, a counter's profile, the carpool arcs (`/mobility`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import DbSession
from citoyen.errors import Kind
from citoyen.i18n import N_
from citoyen.mobility import flows, views
from citoyen.mobility import service as mobility
from citoyen.mobility.models import TOKEN_SCOPE
from citoyen.people import service as people
from citoyen.people.service import Person
from citoyen.territory import service as territory
from citoyen.web.forms import field, see_other
from citoyen.web.params import (
    FORBIDDEN_TEXT,
    PathBigId,
    PathId,
    cleaned,
    form_has_forbidden_characters,
    parse_count,
    parse_id,
)
from citoyen.web.security import CurrentPerson, Form, SignedInPerson, TypedForm
from citoyen.web.templating import flash, locale_of, render

router = APIRouter(include_in_schema=False)

FORM_FIELDS = (
    "kind",
    "from_neighbourhood",
    "from_lon",
    "from_lat",
    "to_neighbourhood",
    "to_lon",
    "to_lat",
    "from_address",
    "to_address",
    "schedule",
    "date",
    "start",
    "end",
    "seats",
)


def _index(request: Request) -> territory.TerritoryIndexCache:
    cache: territory.TerritoryIndexCache = request.app.state.territory_index
    return cache


def _minutes(text: str, which: str) -> int:
    """A time of day typed as HH:MM (or H:MM, H.MM), in minutes after midnight; 24:00 ends a day."""
    parts = text.strip().replace(".", ":").replace("h", ":").split(":")
    hours = parse_count(parts[0], 24) if parts and parts[0] else None
    minutes = parse_count(parts[1], 59) if len(parts) == 2 and parts[1] else 0 if len(parts) == 1 else None
    if hours is None or minutes is None or hours * 60 + minutes > 24 * 60:
        raise mobility.CarpoolError(N_("Type the departure times as hours and minutes, e.g. 07:30."), field=which)
    return hours * 60 + minutes


def _number(text: str, which: str) -> float | None:
    if not text:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise mobility.CarpoolError(N_("These coordinates are not valid."), field=which) from None


def _place(form: Any, prefix: str) -> mobility.PlaceInput:
    """A neighbourhood chosen in the list, a point (placed on the map, snapped to its cell's centre by the
    picker's script, or typed), or an address typed."""
    chosen = field(form, f"{prefix}_neighbourhood")
    if chosen:
        neighbourhood_id = parse_id(chosen)
        if neighbourhood_id is None:
            raise mobility.CarpoolError(N_("Unknown neighbourhood."), field=prefix)
        return mobility.PlaceInput(neighbourhood_id=neighbourhood_id)
    which = "start" if prefix == "from" else "end"
    return mobility.PlaceInput(
        _number(field(form, f"{prefix}_lon"), which),
        _number(field(form, f"{prefix}_lat"), which),
        address=field(form, f"{prefix}_address")[:300],
    )


def trip_input(form: Any) -> mobility.TripInput:
    """The posted form as a trip to check (the service decides the rules)."""
    seats = parse_count(field(form, "seats") or "0", 99)
    if seats is None:
        raise mobility.CarpoolError(
            N_("The number of seats must be between %(low)d and %(high)d."),
            field="seats",
            low=mobility.MIN_SEATS,
            high=mobility.MAX_SEATS,
        )
    weekdays: set[int] = set()
    on_date = None
    if field(form, "schedule") == "once":
        try:
            on_date = date.fromisoformat(field(form, "date"))
        except ValueError:
            raise mobility.CarpoolError(N_("Choose the date of the one-off trip."), field="date") from None
    else:
        for value in form.getlist("days"):
            day = parse_count(str(value), 6)
            if day is None:
                raise mobility.CarpoolError(
                    N_("Choose the days of the week, or the date of a one-off trip."), field="days"
                )
            weekdays.add(day)
    return mobility.TripInput(
        kind=field(form, "kind"),
        start=_place(form, "from"),
        end=_place(form, "to"),
        window_start=_minutes(field(form, "start"), "window"),
        window_end=_minutes(field(form, "end"), "window"),
        seats=seats,
        weekdays=frozenset(weekdays),
        on_date=on_date,
    )


async def _new_page(
    request: Request,
    session: AsyncSession,
    values: dict[str, Any],
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "neighbourhoods": await territory.neighbourhood_names(session, _index(request)),
        "values": values,
        "errors": errors or [],
        "day_names": views.DAY_NAMES,
        "max_seats": mobility.MAX_SEATS,
    }
    return render(request, "mobility/new.html", context, status_code)


@router.get("/carpool")
async def board(request: Request, session: DbSession, person: CurrentPerson) -> Response:
    view = await views.board_view(session, _index(request), person)
    return render(request, "mobility/board.html", {"view": view, "day_names": views.DAY_NAMES})


@router.get("/carpool/new")
async def new_trip(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    values = {"kind": "seek", "schedule": "regular", "days": ["0", "1", "2", "3", "4"], "seats": "1"}
    values.update({"start": "07:30", "end": "08:15"})
    return await _new_page(request, session, values)


@router.post("/carpool/trips")
async def post_trip(request: Request, session: DbSession, person: SignedInPerson, form: TypedForm) -> Response:
    values: dict[str, Any] = {name: field(form, name) for name in FORM_FIELDS}
    values["days"] = [str(value) for value in form.getlist("days")]
    try:
        if form_has_forbidden_characters(form):
            raise mobility.CarpoolError(FORBIDDEN_TEXT)
        gazetteer = request.app.state.gazetteer
        trip = await mobility.post_trip(session, _index(request), person, trip_input(form), gazetteer=gazetteer)
    except mobility.CarpoolError as error:
        # Refused before anything was written: the form comes back as typed, with the reason.
        return await _new_page(
            request, session, cleaned(values), [error.problem(locale_of(request))], error.status_code
        )
    flash(request, N_("Your trip is on the board. Here are the neighbours going the same way."))
    return see_other(f"/carpool/trips/{trip.id}")


@router.get("/carpool/trips/{trip_id:int}")
async def trip_page(request: Request, session: DbSession, person: CurrentPerson, trip_id: PathId) -> Response:
    view = await views.trip_view(session, _index(request), person, trip_id)
    return render(request, "mobility/trip.html", {"view": view, "day_names": views.DAY_NAMES})


@router.post("/carpool/trips/{trip_id:int}/withdraw")
async def withdraw_trip(session: DbSession, person: SignedInPerson, trip_id: PathId, form: Form) -> Response:
    await mobility.withdraw_trip(session, person, trip_id)
    return see_other(f"/carpool/trips/{trip_id}")


@router.post("/carpool/trips/{trip_id:int}/requests")
async def ask(request: Request, session: DbSession, person: SignedInPerson, trip_id: PathId, form: Form) -> Response:
    from_trip = field(form, "from_trip")
    from_trip_id = parse_id(from_trip) if from_trip else None
    if from_trip and from_trip_id is None:
        raise mobility.CarpoolError(N_("Unknown trip."), Kind.INVALID, "from_trip")
    asked = await mobility.ask(session, person, trip_id, from_trip_id)
    flash(request, N_("Your request is sent. You can write to each other once it is accepted."))
    return see_other(f"/carpool/requests/{asked.id}")


async def _exchange_page(
    request: Request,
    session: AsyncSession,
    person: Person,
    request_id: int,
    errors: list[dict[str, Any]] | None = None,
    body: str = "",
    status_code: int = 200,
) -> Response:
    view = await views.exchange_view(session, _index(request), person, request_id)
    context = {"view": view, "day_names": views.DAY_NAMES, "errors": errors or [], "body": body}
    return render(request, "mobility/exchange.html", context, status_code)


@router.get("/carpool/requests/{request_id:int}")
async def exchange_page(request: Request, session: DbSession, person: SignedInPerson, request_id: PathId) -> Response:
    return await _exchange_page(request, session, person, request_id)


@router.post("/carpool/requests/{request_id:int}/accept")
async def accept(session: DbSession, person: SignedInPerson, request_id: PathId, form: Form) -> Response:
    await mobility.answer(session, person, request_id, accept=True)
    return see_other(f"/carpool/requests/{request_id}")


@router.post("/carpool/requests/{request_id:int}/decline")
async def decline(session: DbSession, person: SignedInPerson, request_id: PathId, form: Form) -> Response:
    await mobility.answer(session, person, request_id, accept=False)
    return see_other(f"/carpool/requests/{request_id}")


@router.post("/carpool/requests/{request_id:int}/withdraw")
async def withdraw(session: DbSession, person: SignedInPerson, request_id: PathId, form: Form) -> Response:
    await mobility.withdraw(session, person, request_id)
    return see_other(f"/carpool/requests/{request_id}")


@router.post("/carpool/requests/{request_id:int}/messages")
async def write(
    request: Request, session: DbSession, person: SignedInPerson, request_id: PathId, form: TypedForm
) -> Response:
    body = field(form, "body", strip=False)
    try:
        if form_has_forbidden_characters(form):
            raise mobility.CarpoolError(FORBIDDEN_TEXT, field="body")
        await mobility.write(session, person, request_id, body)
    except mobility.CarpoolError as error:
        if error.kind != Kind.INVALID:
            raise  # 403 to anyone but the two people of an accepted request, 404 for an unknown one
        problem = [error.problem(locale_of(request))]
        return await _exchange_page(request, session, person, request_id, problem, cleaned(body), error.status_code)
    return see_other(f"/carpool/requests/{request_id}#messages")


# --- personal API tokens (the JSON API acts for their resident) -----------------------------------------------


async def _tokens_page(
    request: Request,
    session: AsyncSession,
    person: Person,
    secret: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "tokens": await people.tokens_created_by(session, person.id, TOKEN_SCOPE),
        "new_secret": secret,
        "errors": errors or [],
    }
    return render(request, "mobility/tokens.html", context, status_code)


@router.get("/carpool/tokens")
async def tokens(request: Request, session: DbSession, person: SignedInPerson) -> Response:
    """A resident's own API tokens for a carpool app: it posts and withdraws their trips through `/api/carpool`."""
    return await _tokens_page(request, session, person)


@router.post("/carpool/tokens")
async def create_token(request: Request, session: DbSession, person: SignedInPerson, form: TypedForm) -> Response:
    try:
        if form_has_forbidden_characters(form):
            raise mobility.CarpoolError(FORBIDDEN_TEXT, field="name")
        _token, secret = await people.create_api_token(session, field(form, "name"), [TOKEN_SCOPE], person)
    except (people.PeopleError, mobility.CarpoolError) as error:
        return await _tokens_page(request, session, person, None, [error.problem(locale_of(request))], 400)
    return await _tokens_page(request, session, person, secret, status_code=201)


@router.post("/carpool/tokens/{token_id:int}/revoke")
async def revoke_token(
    request: Request, session: DbSession, person: SignedInPerson, token_id: PathId, form: Form
) -> Response:
    owned = {token.id for token in await people.tokens_created_by(session, person.id, TOKEN_SCOPE)}
    if token_id not in owned:
        raise mobility.CarpoolError(N_("Unknown token."), Kind.NOT_FOUND)
    await people.revoke_api_token(session, token_id)
    request.app.state.api_tokens.forget()
    return see_other("/carpool/tokens")


# --- flows ------------------------------------------------------------------------------------------------------


@router.get("/mobility")
async def flows_page(request: Request, session: DbSession) -> Response:
    """The counters on a map sized by today's flow, their last 90 days side by side, the carpool arcs."""
    counters = await flows.counters(session)
    arcs = await flows.arcs(session, _index(request))
    context = {
        "counters": counters,
        "arcs": arcs,
        "counters_json": [
            {"id": c.datastream_id, "name": c.label(locale_of(request)), "lon": c.lon, "lat": c.lat, "today": c.today}
            for c in counters
            if c.lon is not None and c.lat is not None
        ],
        "arcs_json": [
            {"from": a.from_point, "to": a.to_point, "trips": a.trips, "label": f"{a.from_name} → {a.to_name}"}
            for a in arcs
        ],
        "comparison": await flows.comparison(session, locale=locale_of(request)),
        "min_count": mobility.MIN_COUNT,
    }
    return render(request, "mobility/flows.html", context)


@router.get("/mobility/counters/{datastream_id:int}")
async def counter_page(request: Request, session: DbSession, datastream_id: PathBigId) -> Response:
    """A counter's typical weekday and weekend hours, and its daily totals against the year before."""
    cache: flows.ProfileCache = request.app.state.counter_profiles
    return render(request, "mobility/counter.html", {"profile": await cache.get(session, datastream_id)})
