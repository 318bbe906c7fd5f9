"""Statistics the platform derives from what it already publishes row by row, for who wants the figures without
the rows: how fast the city handles reports (per month and category) and the daily summaries of the public
sensors' readings (per Datastream and day). Both are computed from public rows only (published reports, public
sensors' readings), so they tell nothing more about anyone than those rows do, and need no privacy layer."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any

from citoyen.opendata.feed_kit import Feed, FeedResource, PublishContext, col, rows_at_once
from citoyen.reports import service as reports
from citoyen.sensing import service as sensing

HANDLING_COLUMNS = (
    col(
        "month",
        "string",
        "Mois",
        "Month",
        "mois du signalement (AAAA-MM, UTC)",
        "month reported (YYYY-MM, UTC)",
        required=True,
    ),
    col("category", "string", "Catégorie", "Category", required=True),
    col("category_name", "string", "Nom de la catégorie", "Category name"),
    col("reports", "integer", "Signalements", "Reports", "signalés ce mois-là", "reported that month"),
    col("closed", "integer", "Clos", "Closed", "parmi eux, clos à ce jour", "of which closed to date"),
    col("open", "integer", "Ouverts", "Open", "parmi eux, encore ouverts", "of which still open"),
    col(
        "median_days_to_close",
        "number",
        "Délai médian de clôture (jours)",
        "Median days to close",
        "des signalements clos",
        "of the closed reports",
    ),
)


async def _handling_rows(ctx: PublishContext) -> list[dict[str, Any]]:
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    async for batch in reports.public_reports(ctx.session):
        for row in batch:
            requested: datetime = row["requested_at"]
            key = (f"{requested.astimezone(UTC):%Y-%m}", row["category"])
            cell = cells.setdefault(key, {"name": row["category_name"], "reports": 0, "durations": []})
            cell["reports"] += 1
            if row["closed_at"] is not None:
                cell["durations"].append((row["closed_at"] - requested).total_seconds() / 86400)
    return [
        {
            "month": month,
            "category": category,
            "category_name": cell["name"],
            "reports": cell["reports"],
            "closed": len(cell["durations"]),
            "open": cell["reports"] - len(cell["durations"]),
            "median_days_to_close": round(statistics.median(cell["durations"]), 2) if cell["durations"] else None,
        }
        for (month, category), cell in sorted(cells.items())
    ]


def report_handling_feed() -> Feed:
    return Feed(
        slug="signalements-delais-de-traitement",
        title="Signalements\u00a0: volumes et délais de traitement",
        title_en="Reports: volumes and handling times",
        description=(
            "Pour chaque mois et catégorie\u00a0: le nombre de signalements, combien sont clos et combien restent "
            "ouverts, et le délai médian entre le signalement et sa clôture. Calculé à partir des signalements "
            "publiés dans le jeu « Signalements dans l’espace public »."
        ),
        description_en=(
            "For each month and category: how many reports, how many are closed and how many still open, and the "
            "median time from report to closing. Computed from the reports published in the dataset “Reports of "
            "problems in public space”."
        ),
        themes=("GOVE", "REGI"),
        frequency="DAILY",
        keywords=("signalements", "statistiques", "délais", "qualité de service"),
        resources=(
            FeedResource(
                "delais",
                "Volumes et délais par mois et catégorie",
                "Volumes and handling times per month and category",
                "Un mois et une catégorie par ligne.",
                "One month and category per line.",
                "csv",
                HANDLING_COLUMNS,
                rows_at_once(_handling_rows),
                ("month", "category"),
            ),
        ),
    )


SUMMARY_COLUMNS = (
    col("datastream_id", "integer", "Flux", "Datastream", required=True),
    col("datastream", "string", "Nom du flux", "Datastream name"),
    col("datastream_en", "string", "Nom du flux (anglais)", "Datastream name (English)"),
    col("kind", "string", "Type de capteur", "Kind of sensor"),
    col("observed_property", "string", "Grandeur mesurée", "Observed property"),
    col("observed_property_en", "string", "Grandeur mesurée (anglais)", "Observed property (English)"),
    col("unit_symbol", "string", "Unité", "Unit"),
    col("day", "date", "Jour", "Day", "UTC", "UTC", required=True),
    col("readings", "integer", "Mesures", "Readings", "mesures numériques du jour", "numeric readings of the day"),
    col("minimum", "number", "Minimum", "Minimum"),
    col("mean", "number", "Moyenne", "Mean"),
    col("maximum", "number", "Maximum", "Maximum"),
)


async def _summary_rows(ctx: PublishContext) -> list[dict[str, Any]]:
    streams = {row["id"]: row for row in await sensing.published_datastreams(ctx.session) if row["raw_published"]}
    rows = await sensing.daily_statistics(ctx.session, list(streams))
    for row in rows:
        stream = streams[row["datastream_id"]]
        row |= {
            "datastream": stream["name"],
            "datastream_en": stream["name_en"],
            "kind": stream["kind"],
            "observed_property": stream["observed_property"],
            "observed_property_en": stream["observed_property_en"],
            "unit_symbol": stream["unit_symbol"] or stream["unit"],
            "mean": round(row["mean"], 4) if row["mean"] is not None else None,
        }
    return rows


def sensor_summaries_feed() -> Feed:
    return Feed(
        slug="capteurs-moyennes-journalieres",
        title="Capteurs\u00a0: minimum, moyenne et maximum de chaque jour",
        title_en="Sensors: each day's minimum, mean and maximum",
        description=(
            "Pour chaque flux de mesures d’un capteur public et chaque jour (UTC)\u00a0: le nombre de mesures "
            "numériques, leur minimum, leur moyenne et leur maximum. Les mesures brutes sont dans le jeu de "
            "données de chaque type de capteur."
        ),
        description_en=(
            "For each Datastream of a public sensor and each day (UTC): how many numeric readings, their minimum, "
            "mean and maximum. The raw readings are in each kind of sensor's dataset."
        ),
        themes=("ENVI", "TECH"),
        frequency="DAILY",
        keywords=("capteurs", "statistiques", "moyennes journalières", "environnement"),
        resources=(
            FeedResource(
                "moyennes-journalieres",
                "Résumé quotidien par flux",
                "Daily summary per Datastream",
                "Un flux et un jour par ligne.",
                "One Datastream and day per line.",
                "csv",
                SUMMARY_COLUMNS,
                rows_at_once(_summary_rows),
                ("datastream_id", "day"),
            ),
        ),
    )
