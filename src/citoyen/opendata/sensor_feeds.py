"""The city's sensors as open data: `sensors_feed`, the overview (every public or restricted sensor, its
Datastreams, a map), and one dataset per kind of sensor (air quality, water, energy, mobility…) with its sensors,
its Datastreams and the raw readings of its public sensors as daily files.

Daily files, because readings only ever add up: a refresh writes the file of a day only when that day's count of
readings differs from the rows of its current version (today's, or a past day that received late readings), and
past days keep their files and versions. The dataset lists one file per day of the current calendar month and one
file per earlier month (written when its month ends, its days' files then removed): a CKAN user or a harvester
sees a bounded list of stable files named by their period (at most 31 daily files, then one more a month), each a
distribution with its own address and Table Schema, rather than one file republished whole at every refresh or
hundreds of resources. The whole history in one download is the live export (`/data/capteurs/history.csv?kind=…`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opendata.feed_kit import (
    ID,
    LAT,
    LON,
    NEIGHBOURHOOD,
    NEIGHBOURHOOD_ID,
    Batches,
    Feed,
    FeedResource,
    PublishContext,
    Rows,
    col,
)
from citoyen.sensing import service as sensing

# Names and descriptions in French, then in English (empty: the same as the French one), as the platform keeps
# them (docs/languages.md).
NAME_EN = col(
    "name_en", "string", "Nom en anglais", "Name in English", "vide\u00a0: le nom français", "empty: the French name"
)
DESCRIPTION_EN = col(
    "description_en",
    "string",
    "Description en anglais",
    "Description in English",
    "vide\u00a0: la description française",
    "empty: the French description",
)
THING_COLUMNS = (
    ID,
    col("name", "string", "Nom", "Name", required=True),
    col("description", "string", "Description", "Description"),
    NAME_EN,
    DESCRIPTION_EN,
    col("kind", "string", "Type", "Kind", "air, eau, énergie, mobilité, autre", "air, water, energy, mobility, other"),
    col("access", "string", "Accès", "Access", "public : mesures publiées", "public: readings published"),
    NEIGHBOURHOOD_ID,
    NEIGHBOURHOOD,
    LON,
    LAT,
)
DATASTREAM_COLUMNS = (
    ID,
    col("thing_id", "integer", "Capteur", "Sensor (Thing)", required=True),
    col("name", "string", "Nom", "Name", required=True),
    col("description", "string", "Description", "Description"),
    NAME_EN,
    DESCRIPTION_EN,
    col("kind", "string", "Type", "Kind"),
    col("observed_property", "string", "Grandeur mesurée", "Observed property"),
    col("observed_property_en", "string", "Grandeur mesurée (anglais)", "Observed property (English)"),
    col(
        "unit",
        "string",
        "Unité",
        "Unit",
        "nom de l’unité tel que le capteur le déclare (SensorThings)",
        "the unit's name as the sensor declares it (SensorThings)",
    ),
    col("unit_symbol", "string", "Symbole de l’unité", "Unit symbol"),
    col("observation_type", "string", "Type d’observation", "Observation type"),
    col("raw_published", "boolean", "Mesures publiées", "Readings published"),
    col("phenomenon_time_start", "datetime", "Première mesure", "First reading", "UTC", "UTC"),
    col("phenomenon_time_end", "datetime", "Dernière mesure", "Last reading", "UTC", "UTC"),
)
OBSERVATION_COLUMNS = (
    ID,
    col("datastream_id", "integer", "Flux", "Datastream", required=True),
    col("phenomenon_time", "datetime", "Moment de la mesure", "Time of the reading", "UTC", "UTC", required=True),
    col("phenomenon_time_end", "datetime", "Fin de la période mesurée", "End of the measured period", "UTC", "UTC"),
    col("result_time", "datetime", "Moment du résultat", "Result time", "UTC", "UTC"),
    col("result", "number", "Valeur", "Value", "valeurs numériques", "numeric results"),
    col("result_text", "string", "Valeur (texte)", "Value (text)", "autres résultats", "other results"),
)


async def _thing_rows(ctx: PublishContext, kind: str | None = None) -> list[dict[str, Any]]:
    names = await ctx.neighbourhood_names()
    rows = [row for row in await sensing.published_things(ctx.session) if kind is None or row["kind"] == kind]
    for row in rows:
        row["neighbourhood"] = names.get(row["neighbourhood_id"]) if row["neighbourhood_id"] else None
    return rows


async def _datastream_rows(ctx: PublishContext, kind: str | None = None) -> list[dict[str, Any]]:
    return [row for row in await sensing.published_datastreams(ctx.session) if kind is None or row["kind"] == kind]


def _rows(produce: Callable[[PublishContext], Any]) -> Rows:
    """Rows read in one go (a city's sensors and Datastreams: a few hundred)."""

    async def rows(ctx: PublishContext) -> Batches:
        yield await produce(ctx)

    return rows


def _description_resources(kind: str | None, what: str, what_en: str) -> tuple[FeedResource, ...]:
    """The sensors (a table and a map) and their Datastreams, of one kind or every kind."""
    return (
        FeedResource(
            "capteurs",
            "Capteurs",
            "Sensors",
            f"Un capteur (Thing) par ligne{what}.",
            f"One sensor (Thing) per line{what_en}.",
            "csv",
            THING_COLUMNS,
            _rows(lambda ctx: _thing_rows(ctx, kind)),
            ("id",),
        ),
        FeedResource(
            "capteurs-carte",
            "Carte des capteurs",
            "Map of sensors",
            "Les capteurs en points GeoJSON.",
            "The sensors as GeoJSON points.",
            "geojson",
            tuple(c for c in THING_COLUMNS if c.name not in ("lon", "lat")),
            _rows(lambda ctx: _thing_rows(ctx, kind)),
        ),
        FeedResource(
            "flux",
            "Flux de mesures",
            "Datastreams",
            "Un flux (Datastream) par ligne.",
            "One Datastream per line.",
            "csv",
            DATASTREAM_COLUMNS,
            _rows(lambda ctx: _datastream_rows(ctx, kind)),
            ("id",),
        ),
    )


def sensors_feed() -> Feed:
    """Every sensor of the city (public and restricted), its Datastreams and a map: the overview; the readings
    are in each kind's dataset (`kind_feeds`)."""
    return Feed(
        slug="capteurs",
        title="Capteurs urbains",
        title_en="Urban sensors",
        description=(
            "Les capteurs de la ville (qualité de l’air, eau, énergie, mobilité) et leurs flux de mesures. Les "
            "mesures brutes des capteurs publics sont publiées dans un jeu de données par type de capteur, en "
            "fichiers quotidiens. Les compteurs des foyers (données personnelles) ne sont jamais publiés\u202f; les "
            "capteurs à accès restreint ne publient que leur description."
        ),
        description_en=(
            "The city's sensors (air quality, water, energy, mobility) and their Datastreams. The raw readings of "
            "public sensors are published in one dataset per kind of sensor, as daily files. Households' meters "
            "(personal data) are never published; restricted sensors publish their description only."
        ),
        themes=("ENVI", "TECH"),
        frequency="DAILY",
        keywords=("capteurs", "SensorThings", "qualité de l’air", "environnement"),
        resources=_description_resources(None, "", ""),
    )


@dataclass(frozen=True)
class Kind:
    """How a kind of sensor's dataset is named and described."""

    slug: str
    title: str
    title_en: str
    what: str  # "de la qualité de l’air"
    what_en: str  # "air-quality"
    themes: tuple[str, ...]
    keywords: tuple[str, ...]


KINDS = {
    "air": Kind(
        "capteurs-qualite-de-l-air",
        "Qualité de l’air\u00a0: stations et mesures",
        "Air quality: stations and readings",
        "de qualité de l’air",
        "air-quality",
        ("ENVI", "HEAL"),
        ("qualité de l’air", "pollution", "capteurs", "environnement"),
    ),
    "water": Kind(
        "capteurs-eau",
        "Eau\u00a0: compteurs et mesures",
        "Water: meters and readings",
        "de l’eau",
        "water",
        ("ENVI", "ENER"),
        ("eau", "consommation", "capteurs"),
    ),
    "energy": Kind(
        "capteurs-energie",
        "Énergie\u00a0: compteurs des bâtiments publics et mesures",
        "Energy: public buildings' meters and readings",
        "d’énergie",
        "energy",
        ("ENER", "ENVI"),
        ("énergie", "électricité", "consommation", "capteurs"),
    ),
    "mobility": Kind(
        "capteurs-mobilite",
        "Mobilité\u00a0: compteurs et mesures",
        "Mobility: counters and readings",
        "de mobilité",
        "mobility",
        ("TRAN",),
        ("mobilité", "vélo", "comptages", "capteurs"),
    ),
    "other": Kind(
        "capteurs-autres",
        "Autres capteurs et leurs mesures",
        "Other sensors and their readings",
        "des autres capteurs",
        "other",
        ("ENVI", "TECH"),
        ("capteurs",),
    ),
}


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _following(day: date, months: bool) -> date:
    if not months:
        return day + timedelta(days=1)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _readings(datastream_ids: list[int], first: date, months: bool) -> Rows:
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    last = _following(first, months)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC)

    def rows(ctx: PublishContext) -> Batches:
        return sensing.public_observations_of(ctx.session, datastream_ids, start, end)

    return rows


def reading_files(datastream_ids: list[int], days: dict[date, int], today: date) -> tuple[FeedResource, ...]:
    """The readings' files: one per day of the current month (UTC), one per earlier month, each knowing its
    row count (`days`: readings per day) so that an unchanged one is not written again."""
    window = _month_start(today)
    months: dict[date, int] = {}
    daily: list[FeedResource] = []
    for day in sorted(days):
        if day < window:
            months[_month_start(day)] = months.get(_month_start(day), 0) + days[day]
            continue
        label = day.isoformat()
        daily.append(
            FeedResource(
                f"mesures-{label}",
                f"Mesures du {label}",
                f"Readings of {label}",
                f"Les mesures brutes du {label} (UTC), flux par flux.",
                f"The raw readings of {label} (UTC), Datastream by Datastream.",
                "csv",
                OBSERVATION_COLUMNS,
                _readings(datastream_ids, day, months=False),
                ("id",),
                known_rows=days[day],
            )
        )
    monthly = [
        FeedResource(
            f"mesures-{month:%Y-%m}",
            f"Mesures de {month:%Y-%m}",
            f"Readings of {month:%Y-%m}",
            f"Les mesures brutes du mois {month:%Y-%m} (UTC), flux par flux.",
            f"The raw readings of the month {month:%Y-%m} (UTC), Datastream by Datastream.",
            "csv",
            OBSERVATION_COLUMNS,
            _readings(datastream_ids, month, months=True),
            ("id",),
            known_rows=count,
        )
        for month, count in sorted(months.items())
    ]
    return (*monthly, *daily)


async def kind_feeds(session: AsyncSession, now: datetime) -> list[Feed]:
    """One dataset per kind of sensor that has a public or restricted sensor: its sensors, Datastreams and
    the daily (then monthly) files of its public sensors' readings."""
    streams = await sensing.published_datastreams(session)
    kinds = sorted({row["kind"] for row in await sensing.published_things(session)}, key=list(KINDS).index)
    feeds = []
    for kind in kinds:
        described = KINDS[kind]
        public = [row["id"] for row in streams if row["kind"] == kind and row["raw_published"]]
        days = await sensing.observation_days(session, public)
        what = f" ({described.what})"
        feeds.append(
            Feed(
                slug=described.slug,
                title=described.title,
                title_en=described.title_en,
                description=(
                    f"Les capteurs {described.what} de la ville, leurs flux de mesures et les mesures brutes de ses "
                    "capteurs publics\u00a0: un fichier par jour (UTC) pour le mois en cours, un par mois avant. Un "
                    "fichier passé ne change que si des mesures en retard arrivent. L’historique "
                    f"complet se télécharge d’un bloc\u00a0: /data/capteurs/history.csv?kind={kind}."
                ),
                description_en=(
                    f"The city's {described.what_en} sensors, their Datastreams and the raw readings of its public "
                    "sensors: one file per day (UTC) for the current month, one per month before. "
                    "A past file only changes when late readings arrive. The whole history downloads in one go: "
                    f"/data/capteurs/history.csv?kind={kind}."
                ),
                themes=described.themes,
                frequency="DAILY",
                keywords=described.keywords,
                resources=(
                    *_description_resources(kind, what, f" ({described.what_en})"),
                    *reading_files(public, days, now.astimezone(UTC).date()),
                ),
                temporal=(min(days), max(days)) if days else None,
            )
        )
    return feeds
