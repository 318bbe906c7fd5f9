"""Indicators: the domain's public front (pages, the API, the CLI, the app and tests import from here).

- `definitions.py`: the indicators as code (names, definitions, units, sources, aggregation, frequency);
- `rollups.py`: hourly and daily rollups, noted as readings arrive (`register_subscribers`) and folded in a few
  seconds later (`fold`, `tasks.py`), rebuilt on demand;
- `series.py`: an indicator's values over a period, per quartier or for the city, and per quartier on a window;
- `changes.py`: a quartier's weekly figure that left its usual range, judged once a week on the housekeeping round
  and announced (`IndicatorChanged`, which the quartier's feed records);
- `area_counts.py`: daily counts per quartier that a domain above indicators pushes (mobility's carpool trips);
- `views.py`: the pages' typed views (latest value, trend, sparkline, choropleth, quartier beside city).

Indicators read sensing, reports and participation only through their services; no other domain imports them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.errors import Kind
from citoyen.events import EventHub, ReadingsChanged
from citoyen.housekeeping import Housekeeping
from citoyen.i18n import N_
from citoyen.indicators import rollups
from citoyen.indicators.area_counts import replace_area_counts
from citoyen.indicators.changes import Change, Judged, detect_changes, get_change, judged_week
from citoyen.indicators.definitions import BY_ID, INDICATORS, Indicator, quantity_of
from citoyen.indicators.rollups import Folded, Progress, Rebuilt, fold, note_changes, pending_since, refresh_civic
from citoyen.indicators.series import (
    STEPS,
    IndicatorError,
    Point,
    Timeline,
    check_period,
    latest_day,
    series,
    values,
)
from citoyen.indicators.streams import Bucket, stream_buckets
from citoyen.territory import service as territory
from citoyen.territory.models import Neighbourhood

__all__ = [
    "BY_ID",
    "INDICATORS",
    "STEPS",
    "Bucket",
    "Change",
    "Folded",
    "Indicator",
    "IndicatorError",
    "Judged",
    "Point",
    "Rebuilt",
    "Timeline",
    "check_period",
    "detect_changes",
    "fold",
    "get_change",
    "get_indicator",
    "get_neighbourhood",
    "judged_week",
    "latest_day",
    "pending_since",
    "quantity_of",
    "read_series",
    "rebuild",
    "refresh_civic",
    "register_housekeeping",
    "register_subscribers",
    "replace_area_counts",
    "series",
    "stream_buckets",
    "values",
]


def register_subscribers(hub: EventHub) -> None:
    """What each write changed is noted in its transaction (citoyen.app.build_event_hub), for the fold."""
    hub.subscribe_in_transaction(ReadingsChanged, note_changes)


async def _civic_job(session: AsyncSession, now: datetime) -> int:
    return await refresh_civic(session, now)


async def _fold_job(session: AsyncSession, now: datetime) -> int:
    folded = await fold(session, wait=False)
    return folded.spans if folded is not None else 0


async def _pages_job(session: AsyncSession, now: datetime) -> int:
    from citoyen.indicators import snapshots  # snapshots reads the views, which read this module

    return await snapshots.refresh(session) if await snapshots.is_stale(session) else 0


def register_housekeeping(housekeeping: Housekeeping, simulated: bool = False) -> None:
    """The reports' and proposals' daily counts and weekly figures are recomputed on the housekeeping round, the
    readings noted since the last fold are folded in (the served app also folds every few seconds:
    citoyen.indicators.tasks; `citoyen housekeeping` run by a scheduler folds on its round), and the pages'
    figures are computed again if the rollups changed (citoyen.indicators.snapshots); then, once a week is over,
    its figures are judged (`changes.detect_changes`; `simulated`: the demonstration city's data)."""
    housekeeping.add("indicators: reports and proposals per quartier and day", _civic_job)
    housekeeping.add("indicators: readings folded into the rollups", _fold_job)
    housekeeping.add("indicators: the pages' figures", _pages_job)

    async def changes_job(session: AsyncSession, now: datetime) -> int:
        return await detect_changes(session, now, simulated=simulated)

    housekeeping.add("indicators: the week's changes per quartier", changes_job)


async def rebuild(session: AsyncSession, progress: Progress | None = None) -> Rebuilt:
    """Every rollup recomputed from the raw data (`rollups.rebuild`), then the pages' figures from them, in the
    session's transaction."""
    from citoyen.indicators import snapshots  # snapshots reads the views, which read this module

    done = await rollups.rebuild(session, progress)
    await snapshots.refresh(session)
    return done


def get_indicator(indicator_id: str) -> Indicator:
    """The indicator with this id; 404 otherwise."""
    indicator = BY_ID.get(indicator_id)
    if indicator is None:
        raise IndicatorError(N_("Unknown indicator."), Kind.NOT_FOUND, "indicator")
    return indicator


async def get_neighbourhood(session: AsyncSession, neighbourhood_id: int) -> Neighbourhood:
    """The quartier with this id; 404 otherwise."""
    neighbourhood = await territory.get_neighbourhood(session, neighbourhood_id)
    if neighbourhood is None:
        raise IndicatorError(N_("Unknown neighbourhood."), Kind.NOT_FOUND, "neighbourhood")
    return neighbourhood


async def read_series(
    session: AsyncSession,
    indicator_id: str,
    step: str,
    start: datetime | None,
    end: datetime | None,
    neighbourhood_id: int | None = None,
) -> tuple[Indicator, datetime, datetime, Timeline]:
    """An indicator's series as a chart or the API asks for it: 404 for an unknown indicator or quartier, 400 for
    a step it has not or a period out of range; without bounds, the step's default span up to the latest data."""
    indicator = get_indicator(indicator_id)
    if neighbourhood_id is not None:
        await get_neighbourhood(session, neighbourhood_id)
    latest = await latest_day(session, indicator, neighbourhood_id) if start is None or end is None else None
    start, end = check_period(indicator, step, start, end, latest)
    return indicator, start, end, await series(session, indicator, step, start, end, neighbourhood_id)
