"""The city's indicators, defined as code: what each measures, in which unit, from which data, how it is
aggregated and how often, in French and English, so the page, the API and the documentation say the same.

Sensor indicators read the rollups of one *quantity* (what a Datastream observes, recognised from its
ObservedProperty's name by `quantity_of`); the ATMO index is computed from the pollutants' daily sub-indices;
civic indicators (reports, proposals) read the daily counts the civic refresh writes under their own quantity.

Per-resident indicators (water, energy) divide the quartiers' network meters by the quartiers' population
(`citoyen territory import-population`); the civic counts are also given per 1,000 residents where it is known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from citoyen.i18n import localized

Aggregation = Literal["mean", "sum", "atmo"]

# Quantities the civic refresh writes (not sensor readings).
REPORTS = "reports"
PROPOSALS = "proposals"
SUPPORTS = "supports"
# Weekly figures the civic refresh writes, one per quartier and complete UTC week (on its Monday), the city's apart
# under neighbourhood CITY_APART: a median or a number of different people is not the sum of the quartiers'.
CLOSING_DAYS = "reports-closing-days"
PARTICIPANTS = "participants"
WEEKLY_QUANTITIES = frozenset({CLOSING_DAYS, PARTICIPANTS})
CITY_APART = 0
# A week's participants are published only from this many people on (in a quartier and in the city).
LEAST_PARTICIPANTS = 10
# Written by mobility through `area_counts.replace_area_counts` (trips per start quartier and week).
CARPOOL = "carpool"
# Quantities of the quartiers' network meters and of the outdoor temperature (degree-days).
WATER = "water-distributed"
ENERGY = "energy-distributed"
OUTDOOR_TEMPERATURE = "outdoor-temperature"

_QUANTITIES = (
    ("no2", re.compile(r"\bno2\b|nitrogen dioxide|dioxyde d.azote", re.IGNORECASE)),
    ("pm10", re.compile(r"\bpm\s*10\b", re.IGNORECASE)),
    ("pm25", re.compile(r"\bpm\s*2[.,]?5\b", re.IGNORECASE)),
    ("o3", re.compile(r"\bo3\b|\bozone\b", re.IGNORECASE)),
    ("so2", re.compile(r"\bso2\b|sulphur dioxide|sulfur dioxide|dioxyde de soufre", re.IGNORECASE)),
    ("bicycles", re.compile(r"bicycle|\bbikes?\b|\bvélos?\b", re.IGNORECASE)),
    ("pedestrians", re.compile(r"pedestrian|piéton", re.IGNORECASE)),
    # What a quartier's network meters measure (the water network's district meters, the substations' and gas
    # stations' delivery): not a building's own meter ("Consommation d'eau"), which eco-feedback reads.
    (
        WATER,
        re.compile(r"water (distributed|supplied|delivered)|eau (distribuée|livrée|fournie)", re.IGNORECASE),
    ),
    (
        ENERGY,
        re.compile(
            r"(energy|electricity|gas) (distributed|supplied|delivered)|"
            r"(énergie|électricité) (distribuée|livrée|fournie)|gaz (distribué|livré|fourni)",
            re.IGNORECASE,
        ),
    ),
    (
        OUTDOOR_TEMPERATURE,
        re.compile(
            r"^\s*temp[ée]rature\s*$|outdoor temperature|air temperature|temp[ée]rature ext[ée]rieure", re.IGNORECASE
        ),
    ),
)


def quantity_of(observed_property: str) -> str:
    """The quantity an ObservedProperty's name stands for ("no2", "bicycles", ...), or its name in lower case
    (at most 120 characters) when no indicator reads it."""
    for quantity, pattern in _QUANTITIES:
        if pattern.search(observed_property):
            return quantity
    return observed_property.strip().lower()[:120]


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    theme: str  # "air", "mobility", "water", "energy", "reports", "participation"
    name: str
    name_en: str
    definition: str
    definition_en: str
    unit: str
    source: str
    source_en: str
    aggregation: Aggregation
    frequency: str
    frequency_en: str
    # The rollups it reads: one quantity, or the pollutants of the ATMO index.
    quantities: tuple[str, ...]
    # Whether its values come from sensors (the demo's are labelled simulated data).
    from_sensors: bool = True
    # A higher value is worse (air) or better (bicycles): how a trend is coloured.
    higher_is_worse: bool = False
    # Divided by the quartier's residents (the city: of the quartiers with data): a daily figure per resident,
    # and per week or month the mean of the days'.
    per_resident: bool = False
    # Divided again by the day's heating degree-days (base 18 °C, the city's outdoor temperature).
    per_degree_day: bool = False
    # A count also shown per 1,000 residents where the quartiers' population is known.
    per_thousand: bool = False
    # The unit in English when it is a word ("vélos": "bicycles"); empty when the symbol reads the same in both
    # languages ("µg/m³"). Read with `unit_in(locale)`.
    unit_en: str = ""
    # One value per complete UTC week, stored on its Monday, the city's apart (not a sum of the quartiers').
    weekly: bool = False

    def unit_in(self, locale: str) -> str:
        """The unit as the page's language writes it."""
        return localized(locale, self.unit, self.unit_en)

    @property
    def steps(self) -> tuple[str, ...]:
        """The chart steps it can be read at: the ATMO index and the per-resident figures are daily."""
        if self.weekly:
            return ("week",)
        daily = self.aggregation == "atmo" or self.per_resident
        return ("day", "week", "month") if daily else ("hour", "day", "week", "month")


_PER_RESIDENT_FR = (
    " Aussi rapporté à 1\u00a0000 habitants là où la population des quartiers est importée (la ville : celle des "
    "quartiers qui en ont une)."
)
_PER_RESIDENT_EN = (
    " Also given per 1,000 residents where the quartiers' population is imported (the city: that of the quartiers "
    "which have one)."
)


def _pollutant(quantity: str, label: str, threshold_fr: str, threshold_en: str) -> Indicator:
    return Indicator(
        id=f"air-{quantity}",
        theme="air",
        name=f"{label} (moyenne journalière)",
        name_en=f"{label} (daily mean)",
        definition=(
            f"Concentration de {label} dans l’air, moyenne des mesures horaires des capteurs du quartier (de la "
            f"ville : de tous les quartiers) sur la journée UTC. {threshold_fr}"
        ),
        definition_en=(
            f"{label} concentration in the air, mean of the hourly readings of the quartier's sensors (the city: "
            f"of every quartier) over the UTC day. {threshold_en}"
        ),
        unit="µg/m³",
        source=f"Capteurs de qualité de l’air (flux SensorThings mesurant {label}), publics ou restreints",
        source_en=f"Air-quality sensors (SensorThings Datastreams measuring {label}), public or restricted",
        aggregation="mean",
        frequency="horaire, agrégé par jour",
        frequency_en="hourly, aggregated by day",
        quantities=(quantity,),
        higher_is_worse=True,
    )


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        id="air-atmo",
        theme="air",
        name="Indice ATMO",
        name_en="ATMO index",
        definition=(
            "Indice français de la qualité de l’air (arrêté du 10 juillet 2020) : le plus mauvais des sous-indices "
            "du jour, de 1 (bon) à 6 (extrêmement mauvais), calculés à partir de la plus haute mesure du jour du NO2 "
            "et de l’O3 (les stations publient des moyennes horaires) et de la moyenne journalière des PM10 et PM2,5. "
            "Par semaine ou par mois : l’indice du plus mauvais jour. Calculé avec les seuls polluants mesurés dans le "
            "quartier (la ville : dans tous les quartiers) ; le SO2 n’y entre que s’il est mesuré."
        ),
        definition_en=(
            "The French air-quality index (order of 10 July 2020): the worst of the day's sub-indices, from 1 "
            "(good) to 6 (extremely bad), computed from the day's highest reading of NO2 and O3 (stations publish "
            "hourly means) and the daily mean of PM10 and PM2.5. Per week or month: the worst day's index. Computed "
            "from the pollutants measured in the quartier (the city: in every quartier) only; SO2 counts only where "
            "it is measured."
        ),
        unit="1–6",
        source="Capteurs de qualité de l’air (NO2, O3, PM10, PM2,5, SO2)",
        source_en="Air-quality sensors (NO2, O3, PM10, PM2.5, SO2)",
        aggregation="atmo",
        frequency="journalière",
        frequency_en="daily",
        quantities=("no2", "o3", "pm10", "pm25", "so2"),
        higher_is_worse=True,
    ),
    _pollutant(
        "no2",
        "NO2",
        "Sous-indice ATMO « dégradé » au-delà de 90 µg/m³ en maximum horaire.",
        "ATMO sub-index 'degraded' above an hourly maximum of 90 µg/m³.",
    ),
    _pollutant(
        "pm10",
        "PM10",
        "Sous-indice ATMO « dégradé » au-delà de 40 µg/m³ en moyenne journalière.",
        "ATMO sub-index 'degraded' above a daily mean of 40 µg/m³.",
    ),
    _pollutant(
        "pm25",
        "PM2,5",
        "Sous-indice ATMO « dégradé » au-delà de 20 µg/m³ en moyenne journalière.",
        "ATMO sub-index 'degraded' above a daily mean of 20 µg/m³.",
    ),
    _pollutant(
        "o3",
        "O3",
        "Sous-indice ATMO « dégradé » au-delà de 100 µg/m³ en maximum horaire.",
        "ATMO sub-index 'degraded' above an hourly maximum of 100 µg/m³.",
    ),
    Indicator(
        id="mobility-bicycles",
        theme="mobility",
        name="Vélos comptés par jour",
        name_en="Bicycles counted per day",
        definition=(
            "Nombre de vélos passés devant les compteurs du quartier (de la ville : de tous les quartiers), "
            "additionné sur la journée UTC. La page d’un quartier montre aussi le profil horaire moyen et la "
            "moyenne des jours de semaine et du week-end."
        ),
        definition_en=(
            "Bicycles passing the quartier's counters (the city: every quartier's), summed over the UTC day. A "
            "quartier's page also shows the mean hourly profile and the weekday and weekend means."
        ),
        unit="vélos",
        unit_en="bicycles",
        source="Compteurs vélo (flux SensorThings « vélos »)",
        source_en="Bicycle counters (SensorThings Datastreams counting bicycles)",
        aggregation="sum",
        frequency="horaire, agrégé par jour",
        frequency_en="hourly, aggregated by day",
        quantities=("bicycles",),
    ),
    Indicator(
        id="mobility-pedestrians",
        theme="mobility",
        name="Piétons comptés par jour",
        name_en="Pedestrians counted per day",
        definition="Nombre de piétons comptés dans le quartier, additionné sur la journée UTC.",
        definition_en="Pedestrians counted in the quartier, summed over the UTC day.",
        unit="piétons",
        unit_en="pedestrians",
        source="Compteurs de piétons (flux SensorThings « piétons »)",
        source_en="Pedestrian counters (SensorThings Datastreams counting pedestrians)",
        aggregation="sum",
        frequency="horaire, agrégé par jour",
        frequency_en="hourly, aggregated by day",
        quantities=("pedestrians",),
    ),
    Indicator(
        id="mobility-carpool",
        theme="mobility",
        name="Trajets de covoiturage publiés par semaine",
        name_en="Carpool trips posted per week",
        definition=(
            "Nombre de trajets publiés sur le tableau de covoiturage dans la semaine (du lundi au dimanche, heure "
            "de Paris) qui partent du quartier, trajets retirés exclus ; daté du lundi de la semaine. Une semaine "
            "de moins de 10 trajets dans un quartier n’est pas montrée (règle des 10, comme les données ouvertes "
            "du covoiturage) ; la ville : la somme des quartiers montrés."
        ),
        definition_en=(
            "Carpool trips posted on the board during the week (Monday to Sunday, Paris time) that start in the "
            "quartier, withdrawn trips left out; dated on the week's Monday. A quartier's week with fewer than 10 "
            "trips is not shown (the rule of 10, as the carpool open data); the city: the sum of the quartiers shown."
        ),
        unit="trajets",
        unit_en="trips",
        source="Tableau de covoiturage de la plateforme (/carpool)",
        source_en="The platform's carpool board (/carpool)",
        aggregation="sum",
        frequency="hebdomadaire",
        frequency_en="weekly",
        quantities=(CARPOOL,),
        from_sensors=False,
    ),
    Indicator(
        id="water-per-resident",
        theme="water",
        name="Eau distribuée par habitant",
        name_en="Water supplied per resident",
        definition=(
            "Volume d’eau potable distribué dans le quartier par jour UTC (compteurs de sectorisation du réseau), "
            "divisé par ses habitants ; la ville : les quartiers mesurés ensemble, divisés par leurs habitants. "
            "Par semaine ou par mois : la moyenne des jours. Demande la population des quartiers."
        ),
        definition_en=(
            "Drinking water supplied to the quartier per UTC day (the network's district meters), divided by its "
            "residents; the city: the measured quartiers together, divided by their residents. Per week or month: "
            "the mean of the days. Needs the quartiers' population."
        ),
        unit="m³/hab./j",
        unit_en="m³/resident/day",
        source="Compteurs de sectorisation du réseau d’eau (flux SensorThings « eau distribuée ») et population",
        source_en="The water network's district meters (SensorThings Datastreams 'water supplied') and population",
        aggregation="mean",
        frequency="journalière",
        frequency_en="daily",
        quantities=(WATER,),
        higher_is_worse=True,
        per_resident=True,
    ),
    Indicator(
        id="energy-per-resident",
        theme="energy",
        name="Énergie livrée par habitant",
        name_en="Energy supplied per resident",
        definition=(
            "Électricité et gaz livrés dans le quartier par jour UTC (compteurs des postes de distribution), en "
            "kWh, divisés par ses habitants ; par semaine ou par mois : la moyenne des jours. Demande la "
            "population des quartiers."
        ),
        definition_en=(
            "Electricity and gas delivered to the quartier per UTC day (the distribution substations' meters), in "
            "kWh, divided by its residents; per week or month: the mean of the days. Needs the quartiers' "
            "population."
        ),
        unit="kWh/hab./j",
        unit_en="kWh/resident/day",
        source="Compteurs des postes de distribution (flux SensorThings « énergie livrée ») et population",
        source_en="Distribution substations' meters (SensorThings Datastreams 'energy delivered') and population",
        aggregation="mean",
        frequency="journalière",
        frequency_en="daily",
        quantities=(ENERGY,),
        higher_is_worse=True,
        per_resident=True,
    ),
    Indicator(
        id="energy-per-degree-day",
        theme="energy",
        name="Énergie par habitant et par degré-jour",
        name_en="Energy per resident and degree-day",
        definition=(
            "L’énergie livrée par habitant du jour divisée par ses degrés-jours de chauffage (base 18 °C : 18 moins "
            "la température extérieure moyenne de la ville, rien au-dessus de 18), pour qu’un mois froid ne se lise "
            "pas comme un gaspillage. Les jours de moins d’un degré-jour sont laissés de côté ; par semaine ou par "
            "mois : la moyenne des jours."
        ),
        definition_en=(
            "The day's energy delivered per resident divided by its heating degree-days (base 18 °C: 18 minus the "
            "city's mean outdoor temperature, none above 18), so that a cold month is not read as waste. Days of "
            "less than one degree-day are left out; per week or month: the mean of the days."
        ),
        unit="kWh/hab./DJU",
        unit_en="kWh/resident/HDD",
        source=(
            "Compteurs des postes de distribution, population, et capteurs de température extérieure (flux "
            "SensorThings)"
        ),
        source_en="Distribution substations' meters, population, and outdoor temperature sensors (SensorThings)",
        aggregation="mean",
        frequency="journalière",
        frequency_en="daily",
        quantities=(ENERGY,),
        higher_is_worse=True,
        per_resident=True,
        per_degree_day=True,
    ),
    Indicator(
        id="reports-filed",
        theme="reports",
        name="Signalements déposés",
        name_en="Reports filed",
        definition=(
            "Nombre de signalements déposés dans le quartier (la ville : dans tous les quartiers) par jour de "
            "dépôt, toutes catégories ; la page d’un quartier les détaille par catégorie." + _PER_RESIDENT_FR
        ),
        definition_en=(
            "Reports filed in the quartier (the city: in every quartier) per day filed, all categories; a "
            "quartier's page breaks them down by category." + _PER_RESIDENT_EN
        ),
        unit="signalements",
        unit_en="reports",
        source="Signalements publiés (Open311)",
        source_en="Published reports (Open311)",
        aggregation="sum",
        frequency="recalculé toutes les quelques minutes, par jour",
        frequency_en="recomputed every few minutes, per day",
        quantities=(REPORTS,),
        from_sensors=False,
        higher_is_worse=True,
        per_thousand=True,
    ),
    Indicator(
        id="reports-closing-time",
        theme="reports",
        name="Délai médian de clôture des signalements",
        name_en="Median time to close a report",
        definition=(
            "Pour les signalements clos pendant la semaine (du lundi au dimanche, UTC), le délai médian entre "
            "leur dépôt et leur clôture, en jours : la moitié ont été clos plus vite, la moitié plus lentement. "
            "Les signalements clos comme doublons ne comptent pas. La ville : la médiane de tous ses "
            "signalements clos (pas une moyenne des quartiers)."
        ),
        definition_en=(
            "For the reports closed during the week (Monday to Sunday, UTC), the median time from filing to "
            "closing, in days: half were closed faster, half slower. Reports closed as duplicates do not count. "
            "The city: the median of all its closed reports (not a mean of the quartiers')."
        ),
        unit="jours",
        unit_en="days",
        source="Signalements clos (Open311)",
        source_en="Closed reports (Open311)",
        aggregation="mean",
        frequency="recalculé toutes les quelques minutes, par semaine complète",
        frequency_en="recomputed every few minutes, per complete week",
        quantities=(CLOSING_DAYS,),
        from_sensors=False,
        higher_is_worse=True,
        weekly=True,
    ),
    Indicator(
        id="participation-proposals",
        theme="participation",
        name="Propositions publiées",
        name_en="Proposals published",
        definition=(
            "Nombre de propositions citoyennes publiées et situées dans le quartier, par jour de publication."
            + _PER_RESIDENT_FR
        ),
        definition_en=(
            "Citizens' proposals published and placed in the quartier, per day published." + _PER_RESIDENT_EN
        ),
        unit="propositions",
        unit_en="proposals",
        source="Propositions publiées (participation)",
        source_en="Published proposals (participation)",
        aggregation="sum",
        frequency="recalculé toutes les quelques minutes, par jour",
        frequency_en="recomputed every few minutes, per day",
        quantities=(PROPOSALS,),
        from_sensors=False,
        per_thousand=True,
    ),
    Indicator(
        id="participation-supports",
        theme="participation",
        name="Soutiens aux propositions",
        name_en="Supports of proposals",
        definition=(
            "Nombre de soutiens reçus à ce jour par les propositions du quartier, comptés au jour de publication "
            "de chaque proposition." + _PER_RESIDENT_FR
        ),
        definition_en=(
            "Supports received to date by the quartier's proposals, counted on the day each proposal was "
            "published." + _PER_RESIDENT_EN
        ),
        unit="soutiens",
        unit_en="supports",
        source="Propositions publiées et leurs soutiens (participation)",
        source_en="Published proposals and their supports (participation)",
        aggregation="sum",
        frequency="recalculé toutes les quelques minutes, par jour",
        frequency_en="recomputed every few minutes, per day",
        quantities=(SUPPORTS,),
        from_sensors=False,
        per_thousand=True,
    ),
    Indicator(
        id="participation-participants",
        theme="participation",
        name="Participants",
        name_en="Participants",
        definition=(
            "Nombre de personnes différentes qui ont, pendant la semaine (du lundi au dimanche, UTC), publié une "
            "proposition, soutenu une proposition, commenté ou voté sur un commentaire : dans le quartier, sur ses "
            "propositions ; dans la ville, sur toutes (chaque personne une fois, même active dans plusieurs "
            "quartiers). Seuls des nombres sont publiés, et seulement à partir de 10 personnes : une semaine qui "
            "en compte moins n’est pas montrée." + _PER_RESIDENT_FR
        ),
        definition_en=(
            "How many different people, during the week (Monday to Sunday, UTC), published a proposal, supported "
            "one, commented or voted on a comment: in the quartier, on its proposals; in the city, on all of them "
            "(each person once, even when active in several quartiers). Only numbers are published, and only from "
            "10 people on: a week with fewer is not shown." + _PER_RESIDENT_EN
        ),
        unit="participants",
        unit_en="participants",
        source="Propositions, soutiens, commentaires et votes (participation), sans nom ni identifiant",
        source_en="Proposals, supports, comments and votes (participation), without names or identifiers",
        aggregation="sum",
        frequency="recalculé toutes les quelques minutes, par semaine complète",
        frequency_en="recomputed every few minutes, per complete week",
        quantities=(PARTICIPANTS,),
        from_sensors=False,
        per_thousand=True,
        weekly=True,
    ),
)


def _typeset(indicator: Indicator) -> Indicator:
    """French typography in the French texts: a no-break space before : ; ? and !."""

    def french(text: str) -> str:
        for mark in ":;?!":
            text = text.replace(f" {mark}", f"\u00a0{mark}")
        return text

    return replace(
        indicator,
        name=french(indicator.name),
        definition=french(indicator.definition),
        source=french(indicator.source),
        frequency=french(indicator.frequency),
    )


INDICATORS = tuple(_typeset(indicator) for indicator in INDICATORS)
BY_ID = {indicator.id: indicator for indicator in INDICATORS}

# ATMO 2021 sub-index thresholds (order of 10 July 2020, annex), µg/m³: the upper bound of classes 1 to 5; above
# the last one, class 6. NO2, O3 and SO2 are read on the day's highest (hourly) reading, PM10 and PM2.5 on its mean.
ATMO_THRESHOLDS: dict[str, tuple[float, ...]] = {
    "pm25": (10, 20, 25, 50, 75),
    "pm10": (20, 40, 50, 100, 150),
    "no2": (40, 90, 120, 230, 340),
    "o3": (50, 100, 130, 240, 380),
    "so2": (100, 200, 350, 500, 750),
}
ATMO_ON_MAXIMUM = frozenset({"no2", "o3", "so2"})
ATMO_LABELS = (
    ("Bon", "Good"),
    ("Moyen", "Fair"),
    ("Dégradé", "Degraded"),
    ("Mauvais", "Poor"),
    ("Très mauvais", "Very poor"),
    ("Extrêmement mauvais", "Extremely poor"),
)


def atmo_sub_index(quantity: str, concentration: float) -> int:
    """The ATMO 2021 class (1 to 6) of a pollutant's daily figure (its hourly maximum or its mean)."""
    for number, bound in enumerate(ATMO_THRESHOLDS[quantity], start=1):
        if concentration <= bound:
            return number
    return 6
