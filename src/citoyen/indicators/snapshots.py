"""The indicators' pages read precomputed figures.

A quartier's page shows every indicator for the quartier and for the city: computed on each request, that was a
hundred queries (0.9-1.2 s under load). `refresh` computes the figures of the city and of every quartier at once
(`views.quartier_figures`: a few queries per indicator whatever the number of quartiers) and the median times to
close, and stores them as one JSON row per quartier (the city's under 0) in `indicator_page_snapshots`. The pages
read one or two rows (`quartier_page`, `city_page`).

Freshness: every change of the neighbourhoods' rollups adds one to `indicator_rollup_version` (a fold that folded
something, the civic refresh, counts pushed by another domain, a rebuild). A snapshot is used when it was computed
from the current version, or less than FRESH_SECONDS ago (under steady ingest the fold changes the version every
few seconds), and from the same population; otherwise the page computes its figures itself, as before. Refreshed
after each fold that folded something (at most every REFRESH_SECONDS per process: citoyen.indicators.tasks), by
housekeeping when the version moved, and by `rebuild`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.indicators import views
from citoyen.indicators.definitions import BY_ID, INDICATORS
from citoyen.indicators.models import PageSnapshot, RollupVersion
from citoyen.indicators.versions import current_version
from citoyen.territory import service as territory

CITY = 0
FRESH_SECONDS = 120.0
REFRESH_SECONDS = 60.0


def population_stamp(population: territory.Populations | None) -> str:
    if population is None:
        return ""
    text = repr((sorted(population.residents.items()), population.year, population.complete))
    return hashlib.sha256(text.encode()).hexdigest()


# --- JSON -------------------------------------------------------------------------------------------------------


def _figure_json(found: views.Figure) -> dict[str, Any]:
    trend = found.trend
    return {
        "latest_day": found.latest_day.isoformat(),
        "latest_value": found.latest_value,
        "trend": None if trend is None else [trend.basis, trend.current, trend.before, trend.years],
        "sparkline": list(found.sparkline),
        "per_thousand": found.per_thousand,
    }


def _figure_from(indicator_id: str, data: dict[str, Any]) -> views.Figure | None:
    indicator = BY_ID.get(indicator_id)
    if indicator is None:
        return None
    trend = data["trend"]
    return views.Figure(
        indicator,
        datetime.fromisoformat(data["latest_day"]),
        data["latest_value"],
        None if trend is None else views.Trend(trend[0], trend[1], trend[2], trend[3]),
        tuple(data["sparkline"]),
        data["per_thousand"],
    )


def _closing_json(rows: tuple[views.ClosingTime, ...]) -> list[list[Any]]:
    return [
        [row.name, row.name_en, row.closed, row.median_hours, row.city_closed, row.city_median_hours] for row in rows
    ]


# --- Computing and storing ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Computed:
    version: int
    population_stamp: str
    payloads: dict[int, str]


async def compute(session: AsyncSession) -> Computed:
    """Every quartier's figures and the city's, as the rows to store (reads only)."""
    version = await current_version(session)
    population = await territory.populations(session)
    figures: dict[int, dict[str, Any]] = {}
    for indicator in INDICATORS:
        city = await views.figure(session, indicator, None, population)
        if city is None:
            continue  # a quartier's page shows only what the city has data for
        figures.setdefault(CITY, {})[indicator.id] = _figure_json(city)
        for ident, found in (await views.quartier_figures(session, indicator, population)).items():
            figures.setdefault(ident, {})[indicator.id] = _figure_json(found)
    closing = await views.all_closing_times(session)
    # The bicycles' profile and the reports per category, of the quartiers that have either (the others' are empty).
    every_extras = await views.all_extras(session)
    payloads = {CITY: json.dumps({"figures": figures.get(CITY, {})})}
    for ident in await territory.neighbourhood_names(session):
        extras = every_extras.get(ident, views.QuartierExtras())
        payloads[ident] = json.dumps(
            {
                "figures": figures.get(ident, {}),
                "closing": _closing_json(closing.get(ident, ())),
                "extras": [
                    list(extras.bicycle_profile),
                    extras.weekday_mean,
                    extras.weekend_mean,
                    [list(row) for row in extras.report_categories],
                ],
            }
        )
    return Computed(version, population_stamp(population), payloads)


async def store(session: AsyncSession, computed: Computed) -> int:
    """Replaces the stored snapshots; returns the rows written."""
    now = datetime.now(UTC)
    await session.execute(delete(PageSnapshot))
    rows = [
        {
            "neighbourhood_id": ident,
            "version": computed.version,
            "population_stamp": computed.population_stamp,
            "computed_at": now,
            "payload": payload,
        }
        for ident, payload in sorted(computed.payloads.items())
    ]
    for start in range(0, len(rows), 500):
        await session.execute(insert(PageSnapshot), rows[start : start + 500])
    return len(rows)


async def refresh(session: AsyncSession) -> int:
    """Computes and stores every page's figures in the session's transaction."""
    return await store(session, await compute(session))


async def is_stale(session: AsyncSession) -> bool:
    """Whether the rollups changed since the stored snapshots were computed (or none is stored)."""
    stored = (await session.execute(select(func.min(PageSnapshot.version)))).scalar()
    return stored is None or int(stored) != await current_version(session)


# --- Reading -----------------------------------------------------------------------------------------------------


async def _read(session: AsyncSession, neighbourhood_ids: list[int]) -> dict[int, dict[str, Any]] | None:
    """The snapshots of these quartiers (0: the city) when they are all stored and still good; else None."""
    version_now = select(RollupVersion.version).where(RollupVersion.id == 1).scalar_subquery()
    found = await session.execute(
        select(PageSnapshot, version_now).where(PageSnapshot.neighbourhood_id.in_(neighbourhood_ids))
    )
    pairs = found.all()
    if len(pairs) != len(set(neighbourhood_ids)):
        return None
    rows = [row for row, _ in pairs]
    version = int(pairs[0][1] or 0)
    stamp = population_stamp(await territory.populations(session))
    fresh_after = datetime.now(UTC) - timedelta(seconds=FRESH_SECONDS)
    for row in rows:
        if row.population_stamp != stamp or (row.version != version and row.computed_at < fresh_after):
            return None
    return {row.neighbourhood_id: json.loads(row.payload) for row in rows}


def _figures(data: dict[str, Any]) -> dict[str, views.Figure]:
    figures = {}
    for indicator_id, value in data["figures"].items():
        found = _figure_from(indicator_id, value)
        if found is not None:
            figures[indicator_id] = found
    return figures


async def quartier_page(session: AsyncSession, neighbourhood_id: int) -> views.QuartierPage:
    """The quartier's page from its snapshot and the city's when they are good (else computed)."""
    stored = await _read(session, [CITY, neighbourhood_id])
    if stored is None:
        return await views.quartier_page(session, neighbourhood_id)
    own = stored[neighbourhood_id]
    closing = tuple(views.ClosingTime(*row) for row in own["closing"])
    profile, weekday, weekend, categories = own["extras"]
    extras = views.QuartierExtras(tuple(profile), weekday, weekend, tuple(tuple(row) for row in categories))
    return await views.quartier_page(session, neighbourhood_id, _figures(stored[CITY]), _figures(own), closing, extras)


async def city_page(session: AsyncSession) -> views.CityPage:
    """The city's page, its figures from the snapshot when it is good (else computed)."""
    stored = await _read(session, [CITY])
    return await views.city_page(session, None if stored is None else _figures(stored[CITY]))
