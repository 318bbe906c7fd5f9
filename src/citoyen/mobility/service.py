"""Mobility: the domain's public front (pages, the API, the app, the demo and tests import from here).

- `trips.py`: posting a trip (places become H3 cells and neighbourhoods), withdrawing it, expiring it;
- `matching.py`: the matches of a trip, ranked by the walk added and the departure gap;
- `requests.py`: asking to share a trip, the owner's answer, withdrawing, messages once accepted;
- `search.py`: searching the board near a start and an end, on some days, around a time (the JSON API);
- `aggregates.py`: trips counted per neighbourhood pair and hour, small counts suppressed;
- `flows.py`: the counters' flows (read through sensing's and indicators' services) and the carpool arcs, imported
  by the domain's pages alone (so that open data, which publishes the trips' counts through this front, does not
  reach indicators through it);
- `personal_data.py`: export and erasure of a resident's trips, requests and messages.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.housekeeping import Housekeeping
from citoyen.mobility.aggregates import MIN_COUNT, FlowCount, board_summary, flows
from citoyen.mobility.errors import CarpoolError
from citoyen.mobility.matching import Match, days_overlap, find_matches
from citoyen.mobility.personal_data import register_personal_data
from citoyen.mobility.requests import (
    Exchange,
    accepted_count,
    answer,
    ask,
    exchange,
    messages_of,
    requests_for_trip,
    requests_sent,
    withdraw,
    write,
)
from citoyen.mobility.search import SEARCH_LIMIT, FoundTrip, TripSearch, cell_of_place, search_trips
from citoyen.mobility.trips import (
    MAX_SEATS,
    MIN_SEATS,
    PlaceInput,
    TripInput,
    city_zone,
    expire_trips,
    get_trip,
    is_open,
    local_today,
    post_trip,
    trips_of,
    use_time_zone,
    weekdays_of,
    withdraw_trip,
)

__all__ = [
    "MAX_SEATS",
    "MIN_COUNT",
    "MIN_SEATS",
    "SEARCH_LIMIT",
    "CarpoolError",
    "Exchange",
    "FlowCount",
    "FoundTrip",
    "Match",
    "PlaceInput",
    "TripInput",
    "TripSearch",
    "accepted_count",
    "answer",
    "ask",
    "board_summary",
    "cell_of_place",
    "city_zone",
    "days_overlap",
    "exchange",
    "expire_trips",
    "find_matches",
    "flows",
    "get_trip",
    "is_open",
    "local_today",
    "messages_of",
    "post_trip",
    "register_housekeeping",
    "register_personal_data",
    "requests_for_trip",
    "requests_sent",
    "search_trips",
    "trips_of",
    "use_time_zone",
    "weekdays_of",
    "withdraw",
    "withdraw_trip",
    "write",
]


async def _expiry_job(session: AsyncSession, now: datetime) -> int:
    return await expire_trips(session, now)


def register_housekeeping(housekeeping: Housekeeping) -> None:
    """Expired trips leave the board and lose their precise cells on every housekeeping round."""
    housekeeping.add("mobility: expired carpool trips lose their cells", _expiry_job)
