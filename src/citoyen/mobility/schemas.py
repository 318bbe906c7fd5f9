"""The carpool JSON API's shapes. Field names follow the French "standard covoiturage" (fabmob's interoperability
API between carpool operators and MaaS platforms) where it has one: `departureLat`/`departureLng`,
`arrivalLat`/`arrivalLng`, `departureDate`, `departureTimeOfDay` (RFC 3339 partial-time), `departureWeekdays`
(MON … SUN), `timeDelta` (seconds), `count`, `availableSeats`/`requestedSeats`, `webUrl`,
`departureToPickupWalkingDistance`/`dropoffToArrivalWalkingDistance` (metres). Places are answered as H3 cells of
resolution 9 and quartiers, never as points, and no trip names who posted it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

WEEKDAY_CODES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
Weekday = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
TimeOfDay = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-4]):[0-5]\d(:[0-5]\d)?$")]
Cell = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{15}$")]


class CarpoolErrorBody(BaseModel):
    status: int
    message: str


class CarpoolErrorOut(BaseModel):
    error: CarpoolErrorBody


class QuartierOut(BaseModel):
    id: int
    name: str


class TripOut(BaseModel):
    """A trip as anyone may read it."""

    id: int
    kind: Literal["offer", "seek"] = Field(
        description="offer: a driver with seats (the standard's driver trip); "
        "seek: a resident looking for a seat (its passenger trip)."
    )
    status: Literal["active", "withdrawn", "expired"]
    departureCell: str | None = Field(description="H3 cell (resolution 9, about 350 m across) of the start.")
    arrivalCell: str | None
    departureQuartier: QuartierOut | None
    arrivalQuartier: QuartierOut | None = Field(description="None when the trip ends outside the city.")
    departureWeekdays: list[Weekday] = Field(description="A regular trip's days; empty for a one-off trip.")
    departureDate: date | None = Field(description="A one-off trip's date (local).")
    departureWindowStart: str = Field(
        description="Local time (the city's time zone, `timeZone`) the departure window opens, HH:MM:SS."
    )
    departureWindowEnd: str
    availableSeats: int | None = Field(description="Seats an offer has (None for a seeker).")
    requestedSeats: int | None = Field(description="Seats a seeker wants (None for an offer).")
    simulated: bool = Field(description="A trip of the demo city, not a resident's.")
    expiresAt: datetime
    webUrl: str
    departureToPickupWalkingDistance: int | None = Field(
        None, description="Metres between the searched start's cell and the trip's (a search near a start)."
    )
    dropoffToArrivalWalkingDistance: int | None = None
    departureTimeGap: int | None = Field(
        None, description="Seconds between the searched time of day and the window's start."
    )


class TripList(BaseModel):
    timeZone: str = Field(description="The time zone of every time of day and date: the city's.")
    trips: list[TripOut]


class TripIn(BaseModel):
    """A trip to post. The start is a point (`departureLat`/`departureLng`: only its cell is kept), a quartier
    (`departureQuartier`, its representative point) or a cell (`departureCell`); the same for the end."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["offer", "seek"]
    departureLat: float | None = Field(None, ge=-90, le=90)
    departureLng: float | None = Field(None, ge=-180, le=180)
    departureQuartier: int | None = Field(None, ge=1, le=2_147_483_647)
    departureCell: Cell | None = None
    arrivalLat: float | None = Field(None, ge=-90, le=90)
    arrivalLng: float | None = Field(None, ge=-180, le=180)
    arrivalQuartier: int | None = Field(None, ge=1, le=2_147_483_647)
    arrivalCell: Cell | None = None
    departureWeekdays: list[Weekday] = Field(default_factory=list, max_length=7)
    departureDate: date | None = None
    departureWindowStart: TimeOfDay
    departureWindowEnd: TimeOfDay
    seats: int = Field(1, ge=0, le=99, description="Seats offered (an offer) or wanted (a seeker), 1 to 8.")
