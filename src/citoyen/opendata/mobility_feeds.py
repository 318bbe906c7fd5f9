"""The carpool board's flows as open data: trips posted per pair of quartiers and local hour of departure, a pair
and hour under `mobility.MIN_COUNT` trips (10) left out, so that no one's trip can be told from the table (the
minimum cell size of the privacy rules; no trip, cell or person appears)."""

from __future__ import annotations

from typing import Any

from citoyen.mobility import service as mobility
from citoyen.opendata.feed_kit import Feed, FeedResource, PublishContext, col, rows_at_once
from citoyen.territory import service as territory

FLOW_COLUMNS = (
    col("from_neighbourhood_id", "integer", "Quartier de départ (identifiant)", "Start quartier (id)", required=True),
    col("from_neighbourhood", "string", "Quartier de départ", "Start quartier"),
    col("to_neighbourhood_id", "integer", "Quartier d’arrivée (identifiant)", "End quartier (id)", required=True),
    col("to_neighbourhood", "string", "Quartier d’arrivée", "End quartier"),
    col(
        "hour",
        "integer",
        "Heure de départ",
        "Departure hour",
        "heure locale (Europe/Paris) du début de la plage de départ",
        "local hour (Europe/Paris) of the start of the departure window",
        required=True,
    ),
    col("trips", "integer", "Trajets", "Trips", "au moins 10", "at least 10"),
    col("simulated", "boolean", "Simulés", "Simulated", "données de démonstration", "demonstration data"),
)


async def _flow_rows(ctx: PublishContext) -> list[dict[str, Any]]:
    names = await territory.neighbourhood_names(ctx.session)
    return [
        {
            "from_neighbourhood_id": flow.from_neighbourhood_id,
            "from_neighbourhood": names.get(flow.from_neighbourhood_id, ""),
            "to_neighbourhood_id": flow.to_neighbourhood_id,
            "to_neighbourhood": names.get(flow.to_neighbourhood_id, ""),
            "hour": flow.hour,
            "trips": flow.trips,
            "simulated": flow.simulated,
        }
        for flow in sorted(
            await mobility.flows(ctx.session, by_hour=True),
            key=lambda flow: (flow.from_neighbourhood_id, flow.to_neighbourhood_id, flow.hour or 0),
        )
    ]


def carpool_flows_feed() -> Feed:
    return Feed(
        slug="covoiturage-flux-entre-quartiers",
        title="Covoiturage\u00a0: trajets entre quartiers par heure de départ",
        title_en="Carpooling: trips between quartiers per departure hour",
        description=(
            "Trajets publiés sur le covoiturage entre voisins, comptés par quartier de départ, quartier d’arrivée "
            "et heure de départ\u00a0; les cases de moins de 10 trajets sont supprimées. Aucun trajet, lieu précis "
            "ni habitant n’y figure."
        ),
        description_en=(
            "Trips posted on the neighbours' carpool board, counted per start quartier, end quartier and departure "
            "hour; cells under 10 trips are suppressed. No trip, precise place or resident appears."
        ),
        themes=("TRAN", "REGI"),
        frequency="DAILY",
        keywords=("covoiturage", "mobilité", "flux", "statistiques"),
        resources=(
            FeedResource(
                "flux",
                "Trajets par paire de quartiers et heure",
                "Trips per pair of quartiers and hour",
                "Une paire de quartiers et une heure par ligne.",
                "One pair of quartiers and hour per line.",
                "csv",
                FLOW_COLUMNS,
                rows_at_once(_flow_rows),
                ("from_neighbourhood_id", "to_neighbourhood_id", "hour"),
            ),
        ),
    )
