"""What a platform feed is, apart from how each one is produced: the `Feed` (one dataset), its `FeedResource`s
(one file each, with its Table Schema and the function that produces its rows), the `PublishContext` of a
publication run, and the column helper and the columns most feeds share. `feeds`, `aggregates` and
`reference_feeds` build their feeds from these; `feeds` lists and writes them all."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.opendata.privacy import LedgerEntry
from citoyen.opendata.tabular import Column, table_schema
from citoyen.territory import service as territory

DEFAULT_LICENCE = "etalab-2.0"
Batches = AsyncIterator[list[dict[str, Any]]]


@dataclass
class PublishContext:
    """One publication run: the session it reads through, the moment it stands for, and the privacy ledger
    entries its releases spent (for the catalogue to store as `PrivacyRelease` rows)."""

    session: AsyncSession
    now: datetime = field(default_factory=utcnow)
    ledger: list[LedgerEntry] = field(default_factory=list)
    _neighbourhoods: dict[int, str] | None = None

    async def neighbourhood_names(self) -> dict[int, str]:
        if self._neighbourhoods is None:
            self._neighbourhoods = await territory.neighbourhood_names(self.session)
        return self._neighbourhoods


Rows = Callable[[PublishContext], Batches]


def rows_at_once(produce: Callable[[PublishContext], Awaitable[list[dict[str, Any]]]]) -> Rows:
    """Rows read in one go (small tables: a few hundred departments, budgets' projects, monthly figures...)."""

    async def rows(ctx: PublishContext) -> Batches:
        yield await produce(ctx)

    return rows


@dataclass(frozen=True)
class FeedResource:
    """One file of a dataset: a CSV table with its Table Schema, or a GeoJSON layer of the same rows
    (geometry from a row's `geometry`, or its `lon`/`lat`)."""

    name: str
    title: str
    title_en: str
    description: str
    description_en: str
    format: Literal["csv", "geojson"]
    columns: tuple[Column, ...]
    rows: Rows
    primary_key: tuple[str, ...] = ()
    # Released through the privacy layer (counts about people).
    aggregate: bool = False
    # How many rows the file has now, when the feed can tell without writing it (a day of sensor readings,
    # counted): a file whose current version has as many rows is not written again, and keeps its version.
    known_rows: int | None = None

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.format}"

    @property
    def mediatype(self) -> str:
        return "text/csv" if self.format == "csv" else "application/geo+json"

    def schema(self) -> dict[str, Any]:
        return table_schema(self.columns, self.primary_key)


@dataclass(frozen=True)
class Feed:
    """One dataset the platform publishes and refreshes itself."""

    slug: str
    title: str
    title_en: str
    description: str
    description_en: str
    themes: tuple[str, ...]
    frequency: str
    keywords: tuple[str, ...]
    resources: tuple[FeedResource, ...]
    publisher: str | None = None  # a department's code; None: the city as a whole
    licence: str = DEFAULT_LICENCE
    # Counts about people: the period their release covers ("2026-W49"), released once (see aggregates).
    period: str | None = None
    # The first and last day the data covers, when the feed knows it (else read from its written tables).
    temporal: tuple[date, date] | None = None


def col(name: str, kind: Any, title: str, title_en: str, *explained: str, **options: Any) -> Column:
    description, description_en = explained if explained else ("", "")
    return Column(name, kind, title, title_en, description, description_en, **options)


ID = col("id", "integer", "Identifiant", "Identifier", required=True)
NEIGHBOURHOOD_ID = col("neighbourhood_id", "integer", "Identifiant du quartier", "Neighbourhood identifier")
NEIGHBOURHOOD = col("neighbourhood", "string", "Quartier", "Neighbourhood")
LON = col("lon", "number", "Longitude", "Longitude", "WGS84, degrés", "WGS84, degrees")
LAT = col("lat", "number", "Latitude", "Latitude", "WGS84, degrés", "WGS84, degrees")
