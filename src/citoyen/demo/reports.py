"""Demo reports: the categories a French city offers (with their questions), routing rules to the demo
departments, and a year of reports across Paris's quartiers, written as residents write them.

Categories and routing rules go through the reports service. Every report is planned first (place,
words, answers, reporter, and a timeline of what staff did), then inserted in batches with what
`create_report` would store: the answers pass the service's `validate_answers`, the neighbourhood comes
from the territory index and the department from `route`. The staff workflow (`update_report`) is not
used for the timeline: it stamps events with the current time and mails followers, neither of which
suits a year of past activity. Nothing goes to the mail outbox.

Deterministic from `settings.demo_seed`; dates are relative to the hour the demo is built."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.demo.common import DEMO_ACCOUNTS, DEMO_DOMAIN, ProgressCallback
from citoyen.i18n import get_translations
from citoyen.notifications.models import Notification
from citoyen.people import service as people
from citoyen.people.models import Department, Person
from citoyen.reports import service as reports
from citoyen.reports.models import (
    AttributeType,
    Category,
    CloseReason,
    EventKind,
    Report,
    ReportContact,
    ReportEvent,
    ReportFollower,
    ReportStatus,
    ReportSupport,
)
from citoyen.territory import service as territory
from citoyen.territory.models import Neighbourhood

STEP = "reports"
BATCH = 500
ENGLISH_SHARE = 0.15
DAYS = 365


def _values(*items: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"key": key, "name": name, "name_en": name_en} for key, name, name_en in items]


def _question(
    code: str,
    datatype: AttributeType,
    fr: str,
    en: str,
    values: list[dict[str, str]] | None = None,
    required: bool = False,
    hint: str = "",
) -> reports.AttributeInput:
    return reports.AttributeInput(
        code=code,
        datatype=datatype,
        description=fr,
        description_en=en,
        required=required,
        datatype_description=hint,
        values=values or [],
    )


SINGLE, MULTI, NUMBER = AttributeType.SINGLE, AttributeType.MULTI, AttributeType.NUMBER

CATEGORIES = [
    reports.CategoryInput(
        code="nid-de-poule",
        name="Nid-de-poule",
        name_en="Pothole",
        description="Trou ou affaissement dans la chaussée, une piste cyclable ou un trottoir.",
        description_en="A hole or sunken patch in the road, a cycle lane or the pavement.",
        group="Voirie",
        keywords="trou, chaussée, route, enrobé, affaissement, pothole",
        attributes=[
            _question(
                "size",
                SINGLE,
                "Quelle est la taille du trou ?",
                "How big is the hole?",
                _values(
                    ("small", "Petit (moins de 20 cm)", "Small (under 20 cm)"),
                    ("medium", "Moyen (20 à 50 cm)", "Medium (20 to 50 cm)"),
                    ("large", "Grand (plus de 50 cm)", "Large (over 50 cm)"),
                ),
                required=True,
            ),
            _question(
                "hazards",
                MULTI,
                "Qui est mis en danger ?",
                "Who is at risk?",
                _values(
                    ("bikes", "Cyclistes", "Cyclists"),
                    ("pedestrians", "Piétons", "Pedestrians"),
                    ("cars", "Voitures", "Cars"),
                    ("motorbikes", "Deux-roues motorisés", "Motorbikes and scooters"),
                ),
            ),
        ],
    ),
    reports.CategoryInput(
        code="eclairage-panne",
        name="Éclairage public en panne",
        name_en="Street light out",
        description="Lampadaire éteint, qui clignote ou qui reste allumé le jour.",
        description_en="A street light that is off, flickers or stays on during the day.",
        group="Éclairage",
        keywords="lampadaire, réverbère, lumière, noir, street light",
        attributes=[
            _question(
                "lights_out",
                NUMBER,
                "Combien de lampadaires sont concernés ?",
                "How many lights are affected?",
                required=True,
                hint="un nombre, 1 s'il n'y en a qu'un",
            ),
            _question(
                "state",
                SINGLE,
                "Que se passe-t-il ?",
                "What is happening?",
                _values(
                    ("off", "Il reste éteint", "It stays off"),
                    ("flickering", "Il clignote", "It flickers"),
                    ("day", "Il reste allumé le jour", "It stays on during the day"),
                ),
            ),
        ],
    ),
    reports.CategoryInput(
        code="depot-sauvage",
        name="Dépôt sauvage",
        name_en="Illegal dumping",
        description="Déchets, encombrants ou gravats abandonnés sur la voie publique.",
        description_en="Rubbish, bulky items or rubble left in the street.",
        group="Propreté",
        keywords="encombrants, déchets, ordures, matelas, gravats, dumping",
        attributes=[
            _question(
                "volume",
                SINGLE,
                "Quel volume environ ?",
                "Roughly how much?",
                _values(
                    ("bags", "Quelques sacs", "A few bags"),
                    ("bulky", "Un ou deux encombrants", "One or two bulky items"),
                    ("pile", "Un tas (moins de 1 m³)", "A pile (under 1 m³)"),
                    ("van", "Plus de 1 m³ (une camionnette)", "More than 1 m³ (a van load)"),
                ),
                required=True,
            ),
            _question(
                "waste_types",
                MULTI,
                "Quels types de déchets ?",
                "What kind of waste?",
                _values(
                    ("furniture", "Meubles, matelas", "Furniture, mattresses"),
                    ("rubble", "Gravats, déchets de chantier", "Rubble, building waste"),
                    ("appliances", "Électroménager", "Appliances"),
                    ("household", "Sacs d'ordures ménagères", "Household rubbish bags"),
                    ("cardboard", "Cartons", "Cardboard"),
                    ("green", "Déchets verts", "Garden waste"),
                    ("tyres", "Pneus", "Tyres"),
                ),
            ),
        ],
    ),
    reports.CategoryInput(
        code="graffiti",
        name="Graffiti",
        name_en="Graffiti",
        description="Tags et graffitis sur un mur, une devanture ou du mobilier urbain.",
        description_en="Tags and graffiti on a wall, a shop front or street furniture.",
        group="Propreté",
        keywords="tag, tags, peinture, mur, inscription",
        attributes=[
            _question(
                "surface",
                SINGLE,
                "Sur quoi ?",
                "On what?",
                _values(
                    ("facade", "Façade d'immeuble", "Building front"),
                    ("shop", "Devanture de commerce", "Shop front"),
                    ("furniture", "Mobilier urbain", "Street furniture"),
                    ("public_building", "Bâtiment public ou monument", "Public building or monument"),
                ),
            ),
            _question(
                "offensive",
                SINGLE,
                "Le contenu est-il injurieux ou discriminatoire ?",
                "Is the content offensive or discriminatory?",
                _values(("yes", "Oui", "Yes"), ("no", "Non", "No")),
            ),
        ],
    ),
    reports.CategoryInput(
        code="fuite-eau",
        name="Fuite d'eau",
        name_en="Water leak",
        description="Eau qui sort de la chaussée ou du trottoir, bouche d'arrosage ouverte.",
        description_en="Water coming out of the road or pavement, a street tap left open.",
        group="Propreté",
        keywords="eau, fuite, inondation, canalisation, bouche d'incendie, leak",
        attributes=[
            _question(
                "where",
                SINGLE,
                "La fuite est-elle sur la chaussée ou sur le trottoir ?",
                "Is the leak on the road or on the pavement?",
                _values(
                    ("road", "Sur la chaussée", "On the road"),
                    ("pavement", "Sur le trottoir", "On the pavement"),
                    ("hydrant", "Bouche d'incendie ou d'arrosage", "Fire hydrant or street tap"),
                ),
                required=True,
            )
        ],
    ),
    reports.CategoryInput(
        code="mobilier-urbain",
        name="Mobilier urbain dégradé",
        name_en="Damaged street furniture",
        description="Banc, potelet, corbeille, arceau vélo ou panneau cassé ou arraché.",
        description_en="A broken or torn-off bench, bollard, litter bin, bike rack or sign.",
        group="Voirie",
        keywords="banc, potelet, poubelle, corbeille, arceau, panneau, abribus",
        attributes=[
            _question(
                "item",
                SINGLE,
                "Quel équipement ?",
                "Which item?",
                _values(
                    ("bench", "Banc", "Bench"),
                    ("bollard", "Potelet ou barrière", "Bollard or barrier"),
                    ("bin", "Corbeille de rue", "Litter bin"),
                    ("bike_rack", "Arceau vélo", "Bike rack"),
                    ("sign", "Panneau de signalisation", "Road sign"),
                    ("shelter", "Abribus", "Bus shelter"),
                ),
                required=True,
            )
        ],
    ),
    reports.CategoryInput(
        code="arbre-dangereux",
        name="Arbre dangereux",
        name_en="Dangerous tree",
        description="Branche menaçante, arbre qui penche ou tombé, racines qui soulèvent le trottoir.",
        description_en="A hanging branch, a leaning or fallen tree, roots lifting the pavement.",
        group="Espaces verts",
        keywords="arbre, branche, racines, élagage, tempête, tree",
        attributes=[
            _question(
                "problem",
                SINGLE,
                "Quel est le problème ?",
                "What is the problem?",
                _values(
                    ("branch", "Branche cassée ou menaçante", "Broken or hanging branch"),
                    ("leaning", "Arbre qui penche", "Leaning tree"),
                    ("roots", "Racines qui soulèvent le trottoir", "Roots lifting the pavement"),
                    ("fallen", "Arbre tombé", "Fallen tree"),
                ),
                required=True,
            )
        ],
    ),
    reports.CategoryInput(
        code="stationnement-genant",
        name="Stationnement gênant",
        name_en="Obstructive parking",
        description="Véhicule garé sur un trottoir, une piste cyclable, un passage piéton ou en double file.",
        description_en="A vehicle parked on the pavement, a cycle lane, a crossing, or double-parked.",
        group="Voirie",
        keywords="voiture, trottoir, piste cyclable, double file, livraison, trottinette, parking",
        attributes=[
            _question(
                "where",
                SINGLE,
                "Où le véhicule est-il garé ?",
                "Where is the vehicle parked?",
                _values(
                    ("pavement", "Sur le trottoir", "On the pavement"),
                    ("cycle_lane", "Sur une piste cyclable", "In a cycle lane"),
                    ("crossing", "Sur un passage piéton", "On a pedestrian crossing"),
                    ("delivery_bay", "Sur une aire de livraison", "In a delivery bay"),
                    ("disabled_bay", "Sur une place réservée handicapé", "In a disabled parking space"),
                    ("double", "En double file", "Double-parked"),
                ),
                required=True,
            ),
            _question(
                "vehicle",
                SINGLE,
                "Quel véhicule ?",
                "What vehicle?",
                _values(
                    ("car", "Voiture", "Car"),
                    ("van", "Camionnette ou camion", "Van or lorry"),
                    ("motorbike", "Deux-roues motorisé", "Motorbike or scooter"),
                    ("shared", "Trottinettes ou vélos en libre-service", "Shared e-scooters or bikes"),
                ),
            ),
        ],
    ),
]


@dataclass(frozen=True)
class Behaviour:
    """How a category's reports come in and are handled."""

    department: str
    weight: float
    # Monthly multipliers, January first.
    season: tuple[float, ...]
    # Median delays in days: to acknowledge, to start work, to finish it.
    delays: tuple[float, float, float]
    # Close reasons and their weights (duplicates are drawn apart).
    reasons: tuple[tuple[CloseReason, float], ...]
    # Share of reports closed straight from "open" (quick jobs), and of in-progress ones given a date.
    direct_close: float = 0.0
    expected: float = 0.3
    # Per-arrondissement multipliers for where the reports come from.
    where: dict[int, float] = field(default_factory=dict)


FLAT = (1.0,) * 12
FIXED, NOT_FOUND, NOT_RESPONSIBLE, NO_ACTION, DUPLICATE = (
    CloseReason.FIXED,
    CloseReason.NOT_FOUND,
    CloseReason.NOT_RESPONSIBLE,
    CloseReason.NO_ACTION,
    CloseReason.DUPLICATE,
)
BEHAVIOURS: dict[str, Behaviour] = {
    "nid-de-poule": Behaviour(
        "voirie",
        0.16,
        (1.5, 1.6, 1.4, 1.1, 0.9, 0.8, 0.7, 0.7, 0.8, 0.9, 1.0, 1.2),
        (1.5, 4, 6),
        ((FIXED, 0.82), (NOT_FOUND, 0.05), (NO_ACTION, 0.08), (NOT_RESPONSIBLE, 0.05)),
        expected=0.6,
        where={13: 1.2, 15: 1.2, 19: 1.2, 12: 1.2},
    ),
    "eclairage-panne": Behaviour(
        "eclairage",
        0.10,
        (1.6, 1.4, 1.1, 0.8, 0.6, 0.5, 0.5, 0.6, 0.8, 1.1, 1.4, 1.7),
        (1, 3, 3),
        ((FIXED, 0.9), (NOT_FOUND, 0.07), (NOT_RESPONSIBLE, 0.03)),
        expected=0.5,
    ),
    "depot-sauvage": Behaviour(
        "proprete",
        0.24,
        (0.9, 0.9, 1.0, 1.0, 1.1, 1.2, 1.3, 1.0, 1.2, 1.0, 0.9, 0.9),
        (0.5, 0.5, 1),
        ((FIXED, 0.88), (NOT_FOUND, 0.1), (NOT_RESPONSIBLE, 0.02)),
        direct_close=0.45,
        expected=0.1,
        where={18: 2.0, 19: 1.8, 20: 1.6, 10: 1.5, 11: 1.2, 13: 1.2, 1: 0.7, 6: 0.6, 7: 0.5, 8: 0.6, 16: 0.6},
    ),
    "graffiti": Behaviour(
        "proprete",
        0.12,
        (0.9, 0.9, 1.0, 1.1, 1.1, 1.1, 1.0, 0.9, 1.0, 1.0, 1.0, 0.9),
        (1.5, 4, 4),
        ((FIXED, 0.78), (NOT_RESPONSIBLE, 0.15), (NO_ACTION, 0.07)),
        expected=0.4,
        where={11: 1.8, 20: 1.8, 10: 1.6, 13: 1.5, 19: 1.4, 3: 1.3, 18: 1.3, 7: 0.5, 8: 0.5, 16: 0.4},
    ),
    "fuite-eau": Behaviour(
        "proprete",
        0.06,
        (1.3, 1.2, 1.0, 0.9, 0.9, 1.1, 1.2, 1.1, 0.9, 0.9, 1.0, 1.2),
        (0.2, 0.3, 1.5),
        ((FIXED, 0.6), (NOT_RESPONSIBLE, 0.35), (NOT_FOUND, 0.05)),
        expected=0.2,
    ),
    "mobilier-urbain": Behaviour(
        "voirie",
        0.10,
        FLAT,
        (2, 7, 12),
        ((FIXED, 0.8), (NOT_RESPONSIBLE, 0.12), (NO_ACTION, 0.08)),
        expected=0.6,
    ),
    "arbre-dangereux": Behaviour(
        "espaces-verts",
        0.08,
        (1.2, 1.3, 1.0, 0.8, 0.8, 0.9, 1.0, 0.9, 1.0, 1.5, 1.6, 1.2),
        (1, 2, 10),
        ((FIXED, 0.75), (NOT_RESPONSIBLE, 0.15), (NO_ACTION, 0.1)),
        expected=0.6,
        where={12: 2.0, 16: 2.0, 14: 1.3, 19: 1.3, 20: 1.2},
    ),
    "stationnement-genant": Behaviour(
        "voirie",
        0.14,
        (0.9, 1.0, 1.0, 1.0, 1.1, 1.1, 0.8, 0.6, 1.1, 1.1, 1.1, 1.2),
        (0.3, 0.2, 0.3),
        ((FIXED, 0.35), (NOT_FOUND, 0.35), (NO_ACTION, 0.3)),
        direct_close=0.5,
        expected=0.0,
        where={8: 1.6, 16: 1.5, 17: 1.4, 15: 1.3, 9: 1.3},
    ),
}
# Neighbourhood rules win over a category's rule: parking around the Champs-Élysées goes to mobility.
NEIGHBOURHOOD_RULES = [
    ("stationnement-genant", "Champs-Elysées", "mobilite"),
    ("stationnement-genant", "Faubourg-du-Roule", "mobilite"),
]

# Roughly how much each arrondissement reports (population, activity), before each quartier's own mood.
ARRONDISSEMENT_WEIGHTS = {
    1: 0.6,
    2: 0.7,
    3: 0.9,
    4: 0.8,
    5: 1.0,
    6: 0.8,
    7: 0.8,
    8: 0.8,
    9: 1.1,
    10: 1.5,
    11: 1.9,
    12: 1.4,
    13: 1.6,
    14: 1.3,
    15: 1.7,
    16: 1.2,
    17: 1.5,
    18: 2.0,
    19: 1.8,
    20: 1.9,
}
# A few real streets of each arrondissement, for the places residents describe.
STREETS = {
    1: ["rue de Rivoli", "rue Saint-Honoré", "rue du Louvre", "rue des Halles", "rue Montorgueil"],
    2: ["rue Réaumur", "rue du Sentier", "rue Montmartre", "rue Saint-Denis", "rue de Cléry"],
    3: ["rue de Bretagne", "rue de Turbigo", "rue Charlot", "rue des Archives", "rue Vieille-du-Temple"],
    4: ["rue Saint-Antoine", "rue des Rosiers", "rue du Temple", "rue de Rivoli", "quai de l'Hôtel-de-Ville"],
    5: ["rue Mouffetard", "boulevard Saint-Michel", "rue Monge", "rue Saint-Jacques", "rue Gay-Lussac"],
    6: ["rue de Rennes", "rue de Vaugirard", "boulevard Saint-Germain", "rue du Four", "rue d'Assas"],
    7: ["rue de Grenelle", "rue Cler", "avenue Bosquet", "rue du Bac", "rue Saint-Dominique"],
    8: ["rue du Faubourg-Saint-Honoré", "avenue de Friedland", "rue de Miromesnil", "boulevard Malesherbes"],
    9: ["rue des Martyrs", "rue La Fayette", "rue de Châteaudun", "rue Notre-Dame-de-Lorette"],
    10: ["rue du Faubourg-Saint-Denis", "rue de Lancry", "quai de Valmy", "boulevard de Magenta", "rue de Paradis"],
    11: ["rue Oberkampf", "rue de la Roquette", "boulevard Voltaire", "rue de Charonne", "avenue Parmentier"],
    12: ["avenue Daumesnil", "rue de Charenton", "boulevard Diderot", "rue de Picpus", "cours de Vincennes"],
    13: ["avenue d'Italie", "boulevard Vincent-Auriol", "rue de Tolbiac", "avenue de Choisy", "rue Bobillot"],
    14: ["avenue du Général-Leclerc", "rue d'Alésia", "rue Raymond-Losserand", "rue Daguerre", "boulevard Brune"],
    15: ["rue de la Convention", "rue du Commerce", "rue Lecourbe", "avenue Émile-Zola", "rue de Vaugirard"],
    16: ["avenue de Versailles", "rue de Passy", "avenue Mozart", "rue de la Pompe", "avenue Victor-Hugo"],
    17: ["avenue de Clichy", "rue de Lévis", "rue des Batignolles", "avenue de Wagram", "rue Legendre"],
    18: ["rue Ordener", "boulevard Barbès", "rue Marcadet", "rue Caulaincourt", "rue de la Chapelle", "rue Myrha"],
    19: ["avenue Jean-Jaurès", "rue de Belleville", "rue de Crimée", "quai de la Loire", "rue de Meaux"],
    20: ["rue des Pyrénées", "rue de Ménilmontant", "rue de Bagnolet", "boulevard de Belleville", "rue d'Avron"],
}
FRENCH_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
# When people report, by hour of the day in Paris (UTC+1 in winter: close enough for a demo).
HOUR_WEIGHTS = [0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.8, 1.6, 2.2, 1.8, 1.4, 1.3, 1.6, 1.5, 1.2, 1.1, 1.2, 1.6, 2.0, 1.9, 1.5]
HOUR_WEIGHTS += [1.1, 0.7, 0.4]


# --- where: places in the street ---------------------------------------------------------------


def _of(street: str) -> str:
    """'rue X' -> 'de la rue X', 'boulevard X' -> 'du boulevard X', 'avenue X' -> "de l'avenue X"."""
    kind = street.split(" ", 1)[0]
    prefix = {"rue": "de la ", "boulevard": "du ", "quai": "du ", "cours": "du ", "avenue": "de l'"}
    return prefix.get(kind, "de ") + street


PLACES_FR = [
    "devant le n° {n} {street}",
    "devant le {n} {street}",
    "au niveau du {n} {street}",
    "en face du {n} {street}",
    "à l'angle {of} et {of2}",
    "{street}, à hauteur du n° {n}",
    "{street}, côté pair",
    "{street}, côté impair",
    "au pied de mon immeuble, {n} {street}",
    "devant l'école {of}",
    "à l'arrêt de bus {of}",
    "à la sortie du métro, {street}",
    "devant la boulangerie {of}",
    "en face de la pharmacie, {street}",
    "à côté de la station Vélib' {of}",
    "le long du square, {street}",
    "près du marché {of}",
    "devant le kiosque à journaux {of}",
    "juste après le passage piéton {of}",
    "entre le {n} et le {n2} {street}",
]
PLACES_EN = [
    "in front of no. {n} {street}",
    "outside {n} {street}",
    "opposite no. {n} {street}",
    "at the corner of {street} and {street2}",
    "by the bus stop on {street}",
    "near the metro exit on {street}",
    "outside the bakery on {street}",
    "next to the Vélib' station on {street}",
    "on {street}, near the school",
    "on {street}, between no. {n} and no. {n2}",
]
WHEN_FR = [
    "depuis ce matin",
    "depuis hier soir",
    "depuis hier",
    "depuis deux jours",
    "depuis trois jours",
    "depuis plus d'une semaine",
    "depuis des semaines",
    "depuis le week-end",
]
MOMENTS_FR = ["ce matin vers 8 h", "hier soir vers 22 h", "cette nuit", "ce midi"]
WHEN_EN = [
    "since this morning",
    "since yesterday",
    "for a few days now",
    "for over a week",
    "for weeks",
    "since the weekend",
    "since last night",
]
CLOSERS_FR = [
    "Merci !",
    "Merci d'avance.",
    "Merci de faire le nécessaire.",
    "Cordialement.",
    "Merci pour votre intervention.",
    "C'est urgent !",
    "Merci de passer vite.",
]
CLOSERS_EN = ["Thanks!", "Thank you.", "Please sort it out.", "Many thanks.", "It's urgent!"]
ALREADY_FR = [
    "Déjà signalé il y a un mois, toujours rien.",
    "C'est la deuxième fois que je le signale.",
    "Ça revient régulièrement à cet endroit.",
]
ALREADY_EN = ["Already reported a month ago, still nothing.", "Second time I'm reporting this."]


# --- what: each category's answers and the words that go with them ----------------------------

Answers = dict[str, list[str]]
Words = dict[str, dict[str, list[str]]]  # answer key -> language -> phrases


def _weighted(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    return rng.choices([key for key, _ in options], [weight for _, weight in options])[0]


def _some(rng: random.Random, options: Sequence[tuple[str, float]], most: int) -> list[str]:
    """Up to `most` distinct keys, drawn by weight."""
    chosen: list[str] = []
    for _ in range(rng.randint(1, most)):
        key = _weighted(rng, options)
        if key not in chosen:
            chosen.append(key)
    return chosen


def _join(items: list[str], lang: str) -> str:
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + (" et " if lang == "fr" else " and ") + items[-1]


@dataclass
class Problem:
    """A category's answers and the sentences a resident would write about them."""

    answers: Answers
    lead: str  # a template with {place}
    extras: list[str] = field(default_factory=list)  # candidate second sentences
    moments: bool = True  # whether "seen last night" makes sense (not for a light on in daylight)


def _pick(rng: random.Random, options: list[str]) -> str:
    return rng.choice(options)


def _pothole(rng: random.Random, lang: str) -> Problem:
    size = _weighted(rng, [("small", 0.35), ("medium", 0.45), ("large", 0.2)])
    hazards = _some(rng, [("bikes", 3), ("pedestrians", 2), ("cars", 2), ("motorbikes", 1)], 2)
    answers: Answers = {"size": [size]}
    if rng.random() < 0.6:
        answers["hazards"] = hazards
    leads = {
        "fr": {
            "small": [
                "Petit nid-de-poule {place}",
                "Un trou commence à se former {place}",
                "Trou dans le bitume {place}, pas très grand mais profond",
            ],
            "medium": [
                "Nid-de-poule {place}",
                "Trou dans la chaussée {place}",
                "Nid de poule assez profond {place}",
                "La chaussée est défoncée {place}",
            ],
            "large": [
                "Énorme nid-de-poule {place}",
                "Gros trou dans la chaussée {place}, on pourrait y perdre une roue",
                "La chaussée s'est affaissée {place} sur presque un mètre",
            ],
        },
        "en": {
            "small": ["Small pothole {place}", "A hole is starting to form {place}"],
            "medium": ["Pothole {place}", "Hole in the road {place}", "Deep pothole {place}"],
            "large": ["Huge pothole {place}", "Massive hole in the road {place}, you could lose a wheel in it"],
        },
    }
    extras = {
        "fr": {
            "bikes": ["Les cyclistes doivent faire un écart pour l'éviter.", "J'ai failli tomber à vélo."],
            "pedestrians": ["Les piétons se tordent la cheville en traversant.", "Une dame âgée a trébuché dedans."],
            "cars": ["Les voitures freinent brusquement pour l'éviter.", "Ma voiture a tapé dedans hier soir."],
            "motorbikes": ["Très dangereux pour les scooters, surtout sous la pluie."],
            "": [
                "L'eau s'accumule dedans quand il pleut.",
                "Il s'agrandit de semaine en semaine.",
                "Les bus tapent dedans, ça fait un bruit énorme.",
            ],
        },
        "en": {
            "bikes": ["Cyclists have to swerve around it.", "I nearly came off my bike."],
            "pedestrians": ["People trip on it when crossing."],
            "cars": ["Cars brake hard to avoid it."],
            "motorbikes": ["Really dangerous for scooters when it rains."],
            "": ["It fills with water when it rains.", "It gets bigger every week."],
        },
    }
    pool = [phrase for key in [*answers.get("hazards", []), ""] for phrase in extras[lang][key]]
    return Problem(answers, _pick(rng, leads[lang][size]), pool)


def _light(rng: random.Random, lang: str) -> Problem:
    count = int(_weighted(rng, [("1", 0.55), ("2", 0.2), ("3", 0.12), ("4", 0.06), ("5", 0.04), ("8", 0.03)]))
    state = _weighted(rng, [("off", 0.75), ("flickering", 0.15), ("day", 0.1)])
    answers: Answers = {"lights_out": [str(count)]}
    if rng.random() < 0.7:
        answers["state"] = [state]
    if lang == "fr":
        leads = {
            "off": ["Lampadaire éteint {place}", "Le réverbère ne s'allume plus {place}", "Plus d'éclairage {place}"]
            if count == 1
            else [
                f"{count} lampadaires éteints {{place}}",
                f"Toute la rue est dans le noir {{place}}, {count} lampadaires ne marchent plus",
            ],
            "flickering": ["Le lampadaire clignote sans arrêt {place}", "Lampadaire qui s'allume et s'éteint {place}"],
            "day": ["Lampadaire allumé en plein jour {place}", "L'éclairage reste allumé toute la journée {place}"],
        }
        extras = {
            "off": [
                "On ne voit rien le soir, ce n'est pas rassurant.",
                "Le passage piéton n'est plus éclairé.",
                "Les enfants rentrent du sport dans le noir.",
                "Ça fait peur en rentrant tard.",
            ],
            "flickering": ["C'est pénible, ça éclaire les chambres en face.", "Ça donne mal à la tête le soir."],
            "day": ["Quel gaspillage d'énergie.", "Ça dure depuis plusieurs jours."],
        }
    else:
        leads = {
            "off": ["Street light out {place}", "The street light doesn't come on any more {place}"]
            if count == 1
            else [f"{count} street lights out {{place}}", "The whole street is dark {place}"],
            "flickering": ["The street light keeps flickering {place}"],
            "day": ["Street light on in broad daylight {place}"],
        }
        extras = {
            "off": [
                "It's pitch dark in the evening.",
                "The crossing isn't lit any more.",
                "Feels unsafe walking home at night.",
            ],
            "flickering": ["It flashes into the flats opposite all night."],
            "day": ["What a waste of energy."],
        }
    return Problem(answers, _pick(rng, leads[state]), extras[state], moments=state != "day")


DUMPED_ITEMS = {
    "fr": {
        "furniture": ["un matelas", "un canapé", "une armoire démontée", "des chaises cassées", "un sommier"],
        "rubble": ["des sacs de gravats", "des plaques de plâtre", "des déchets de chantier"],
        "appliances": ["un frigo", "une machine à laver", "un vieux four", "une télé"],
        "household": ["des sacs poubelle", "des sacs d'ordures éventrés"],
        "cardboard": ["des cartons", "des cartons de déménagement"],
        "green": ["des branchages", "des sacs de déchets verts"],
        "tyres": ["des pneus", "quatre pneus"],
    },
    "en": {
        "furniture": ["a mattress", "a sofa", "broken chairs", "a bed base"],
        "rubble": ["bags of rubble", "plasterboard"],
        "appliances": ["a fridge", "a washing machine", "an old TV"],
        "household": ["rubbish bags", "torn bin bags"],
        "cardboard": ["cardboard boxes"],
        "green": ["garden waste"],
        "tyres": ["old tyres"],
    },
}


def _dumping(rng: random.Random, lang: str) -> Problem:
    volume = _weighted(rng, [("bags", 0.3), ("bulky", 0.35), ("pile", 0.25), ("van", 0.1)])
    kinds = [("furniture", 0.35), ("rubble", 0.15), ("appliances", 0.15), ("household", 0.3), ("cardboard", 0.25)]
    types = _some(rng, [*kinds, ("green", 0.08), ("tyres", 0.04)], 3)
    if volume == "bags":
        types = ["household"]
    answers: Answers = {"volume": [volume]}
    if rng.random() < 0.75:
        answers["waste_types"] = types
    items = _join([rng.choice(DUMPED_ITEMS[lang][kind]) for kind in types], lang)
    if lang == "fr":
        leads = [
            f"Dépôt sauvage {{place}}\u00a0: {items}",
            f"Encore des encombrants {{place}}\u00a0: {items}",
            f"Quelqu'un a déposé {items} {{place}}",
            f"Tas de déchets {{place}} ({items})",
        ]
        if volume == "van":
            leads = [
                f"Un camion a tout déchargé {{place}}\u00a0: {items}",
                f"Énorme dépôt {{place}}, au moins un mètre cube\u00a0: {items}",
            ]
        extras = [
            "Ça attire les rats.",
            "Avec la chaleur ça sent très mauvais.",
            "Impossible de passer avec une poussette.",
            "Ce n'est pas la première fois à cet endroit.",
            "Les gens en rajoutent chaque jour.",
            "Le trottoir est complètement bloqué.",
        ]
    else:
        leads = [
            f"Fly-tipping {{place}}: {items}",
            f"Someone dumped {items} {{place}}",
            f"Pile of rubbish {{place}} ({items})",
        ]
        extras = [
            "It's attracting rats.",
            "It smells awful in this heat.",
            "Can't get past with a pushchair.",
            "Not the first time here.",
        ]
    return Problem(answers, _pick(rng, leads), extras)


def _graffiti(rng: random.Random, lang: str) -> Problem:
    surface = _weighted(rng, [("facade", 0.45), ("shop", 0.25), ("furniture", 0.2), ("public_building", 0.1)])
    offensive = rng.random() < 0.12
    answers: Answers = {}
    if rng.random() < 0.8:
        answers["surface"] = [surface]
    if offensive or rng.random() < 0.5:
        answers["offensive"] = ["yes" if offensive else "no"]
    leads = {
        "fr": {
            "facade": [
                "Tags sur la façade {place}",
                "Graffitis sur le mur de l'immeuble {place}",
                "Le mur vient d'être repeint et il est déjà tagué {place}",
            ],
            "shop": [
                "Tags sur le rideau de fer d'un commerce {place}",
                "La devanture d'un magasin a été taguée {place}",
            ],
            "furniture": [
                "Tags sur l'abribus {place}",
                "Graffitis sur le banc et l'armoire électrique {place}",
                "Le panneau d'information est recouvert de tags {place}",
            ],
            "public_building": [
                "Tags sur le mur de l'église {place}",
                "Graffitis sur la façade de l'école {place}",
                "Tags sur la fontaine {place}",
            ],
        },
        "en": {
            "facade": ["Tags on the building front {place}", "Graffiti all over the wall {place}"],
            "shop": ["Graffiti on a shop shutter {place}"],
            "furniture": ["Graffiti on the bus shelter {place}", "Tags on the electrical cabinet {place}"],
            "public_building": ["Graffiti on the school wall {place}", "Tags on the church wall {place}"],
        },
    }
    if offensive:
        extras = {
            "fr": [
                "Les inscriptions sont injurieuses, merci de les effacer vite.",
                "Il y a des insultes racistes, les enfants passent devant tous les jours.",
            ],
            "en": ["The words are offensive, please remove them quickly."],
        }[lang]
    else:
        extras = {
            "fr": [
                "Merci de les effacer.",
                "Ça revient chaque semaine.",
                "Le syndic est d'accord pour le nettoyage.",
                "C'est dommage, la rue est jolie.",
            ],
            "en": ["Please have them removed.", "They come back every week."],
        }[lang]
    return Problem(answers, _pick(rng, leads[lang][surface]), extras)


def _water(rng: random.Random, lang: str) -> Problem:
    where = _weighted(rng, [("road", 0.45), ("pavement", 0.4), ("hydrant", 0.15)])
    leads = {
        "fr": {
            "road": [
                "Fuite d'eau sur la chaussée {place}",
                "De l'eau sort de la chaussée {place}, ça coule vers le caniveau",
            ],
            "pavement": [
                "Fuite d'eau sur le trottoir {place}",
                "Le trottoir est inondé {place}, l'eau remonte entre les pavés",
            ],
            "hydrant": ["La bouche d'arrosage est restée ouverte {place}", "Bouche d'incendie qui fuit {place}"],
        },
        "en": {
            "road": ["Water leak in the road {place}", "Water bubbling up from the road {place}"],
            "pavement": ["Water leaking on the pavement {place}"],
            "hydrant": ["Fire hydrant leaking {place}", "Street tap left running {place}"],
        },
    }
    extras = {
        "fr": [
            "Ça coule en continu.",
            "Grande flaque, on est obligé de marcher sur la route.",
            "S'il gèle cette nuit ça va être une patinoire.",
            "Quel gâchis d'eau potable.",
        ],
        "en": [
            "It's running non-stop.",
            "Big puddle, people have to walk in the road.",
            "Such a waste of drinking water.",
        ],
    }
    return Problem({"where": [where]}, _pick(rng, leads[lang][where]), extras[lang])


def _furniture(rng: random.Random, lang: str) -> Problem:
    item = _weighted(
        rng, [("bench", 0.2), ("bollard", 0.25), ("bin", 0.2), ("bike_rack", 0.15), ("sign", 0.12), ("shelter", 0.08)]
    )
    leads = {
        "fr": {
            "bench": ["Banc cassé {place}, il manque une planche", "Le banc est descellé {place}"],
            "bollard": [
                "Potelet arraché {place}, il est couché sur le trottoir",
                "Plusieurs potelets tordus {place}",
                "Barrière de protection arrachée {place}",
            ],
            "bin": ["La corbeille de rue a été arrachée {place}", "Poubelle de rue brûlée {place}"],
            "bike_rack": [
                "Arceaux vélo tordus {place}, on ne peut plus attacher son vélo",
                "Un arceau vélo a été arraché {place}",
            ],
            "sign": [
                "Panneau stop tordu {place}",
                "Le panneau sens interdit est tombé {place}",
                "Panneau de signalisation tourné dans le mauvais sens {place}",
            ],
            "shelter": [
                "Vitre de l'abribus brisée {place}, il y a du verre partout",
                "L'abribus n'a plus de vitre {place}",
            ],
        },
        "en": {
            "bench": ["Broken bench {place}, a slat is missing"],
            "bollard": ["Bollard knocked over {place}", "Several bent bollards {place}"],
            "bin": ["Litter bin torn off {place}"],
            "bike_rack": ["Bike racks bent {place}, you can't lock a bike any more"],
            "sign": ["Road sign bent {place}", "No-entry sign has fallen down {place}"],
            "shelter": ["Bus shelter glass smashed {place}, glass everywhere"],
        },
    }
    extras = {
        "fr": {
            "bench": ["Les personnes âgées n'ont plus où s'asseoir.", "Il y a des vis qui dépassent."],
            "bollard": ["Les tiges en métal qui dépassent sont dangereuses.", "Les voitures montent sur le trottoir."],
            "bin": ["Les déchets s'entassent par terre.", "Il n'y a pas d'autre poubelle dans la rue."],
            "bike_rack": ["Du coup les vélos sont attachés aux grilles des arbres."],
            "sign": ["Les automobilistes ne le voient plus.", "Des voitures prennent la rue à contresens."],
            "shelter": ["Les éclats de verre sont dangereux pour les enfants."],
            "": ["Ça fait plusieurs semaines que c'est comme ça."],
        },
        "en": {
            "bench": ["Older people have nowhere to sit now."],
            "bollard": ["The metal sticking out is dangerous."],
            "bin": ["Rubbish is piling up on the ground."],
            "bike_rack": ["People lock their bikes to the tree guards instead."],
            "sign": ["Drivers can't see it any more."],
            "shelter": ["The broken glass is dangerous for kids."],
            "": ["It has been like this for weeks."],
        },
    }
    pool = extras[lang][item] + extras[lang][""]
    return Problem({"item": [item]}, _pick(rng, leads[lang][item]), pool)


def _tree(rng: random.Random, lang: str) -> Problem:
    problem = _weighted(rng, [("branch", 0.4), ("leaning", 0.15), ("roots", 0.3), ("fallen", 0.15)])
    leads = {
        "fr": {
            "branch": [
                "Une grosse branche menace de tomber {place}",
                "Branche cassée qui pend au-dessus du trottoir {place}",
                "Après le coup de vent, une branche est restée accrochée {place}",
            ],
            "leaning": [
                "L'arbre penche de plus en plus {place}",
                "Arbre qui penche dangereusement vers les immeubles {place}",
            ],
            "roots": [
                "Les racines soulèvent le trottoir {place}, on trébuche",
                "Le trottoir est déformé par les racines {place}",
            ],
            "fallen": [
                "Arbre tombé {place}, il bloque le passage",
                "Un arbre s'est couché sur la chaussée {place} pendant la nuit",
            ],
        },
        "en": {
            "branch": ["A big branch looks about to fall {place}", "Broken branch hanging over the pavement {place}"],
            "leaning": ["Tree leaning more and more {place}"],
            "roots": ["Roots lifting the pavement {place}, people trip"],
            "fallen": ["Fallen tree {place}, blocking the way"],
        },
    }
    extras = {
        "fr": {
            "branch": ["Les passants passent dessous sans faire attention.", "Il y a une école juste à côté."],
            "leaning": ["Il y a une école juste à côté.", "Ça m'inquiète à chaque coup de vent."],
            "roots": ["Les personnes âgées trébuchent.", "Impossible de passer avec un fauteuil roulant."],
            "fallen": ["Il a abîmé une voiture garée.", "Les piétons marchent sur la chaussée pour le contourner."],
            "": ["Merci de sécuriser vite."],
        },
        "en": {
            "branch": ["People walk under it all day."],
            "leaning": ["There's a school right next to it."],
            "roots": ["Older people keep tripping."],
            "fallen": ["It damaged a parked car."],
            "": ["Please make it safe quickly."],
        },
    }
    pool = extras[lang][problem] + extras[lang][""]
    return Problem({"problem": [problem]}, _pick(rng, leads[lang][problem]), pool)


# The vehicle as residents name it: French noun and the agreement of "garé(e)", English noun.
VEHICLES = {"car": ("Voiture", "e", "Car"), "van": ("Camionnette", "e", "Van"), "motorbike": ("Scooter", "", "Scooter")}


def _parking(rng: random.Random, lang: str) -> Problem:
    places = [("pavement", 0.3), ("cycle_lane", 0.22), ("crossing", 0.12), ("delivery_bay", 0.12)]
    where = _weighted(rng, [*places, ("disabled_bay", 0.08), ("double", 0.16)])
    if where == "pavement" and rng.random() < 0.35:
        vehicle = "shared"
    else:
        vehicle = _weighted(rng, [("car", 0.65), ("van", 0.28), ("motorbike", 0.07)])
    answers: Answers = {"where": [where]}
    if vehicle == "shared" or rng.random() < 0.7:
        answers["vehicle"] = [vehicle]
    noun, e, noun_en = VEHICLES.get(vehicle, VEHICLES["car"])
    leads = {
        "fr": {
            "pavement": [
                f"{noun} garé{e} sur le trottoir {{place}}",
                f"{noun} garé{e} à cheval sur le trottoir {{place}}, impossible de passer avec un fauteuil",
            ],
            "shared": [
                "Trottinettes et vélos en libre-service en vrac sur le trottoir {place}",
                "Des trottinettes couchées en travers du trottoir {place}",
            ],
            "cycle_lane": [
                f"{noun} garé{e} sur la piste cyclable {{place}}",
                f"{noun} de livraison sur la piste cyclable {{place}}, tous les matins",
            ],
            "crossing": [
                f"{noun} stationné{e} sur le passage piéton {{place}}",
                f"{noun} garé{e} sur le passage piéton {{place}}, les enfants ne voient rien en traversant",
            ],
            "delivery_bay": [
                f"{noun} ventouse sur l'aire de livraison {{place}}",
                "L'aire de livraison est toujours occupée {place}, les livreurs se mettent en double file",
            ],
            "disabled_bay": [f"{noun} sans carte garé{e} sur la place handicapé {{place}}"],
            "double": [
                f"{noun} en double file {{place}}, les bus ne passent plus",
                "Stationnement en double file {place} tous les soirs",
            ],
        },
        "en": {
            "pavement": [f"{noun_en} parked on the pavement {{place}}"],
            "shared": ["Shared e-scooters dumped across the pavement {place}"],
            "cycle_lane": [
                f"{noun_en} parked in the cycle lane {{place}}, every morning",
                f"{noun_en} blocking the cycle lane {{place}}",
            ],
            "crossing": [f"{noun_en} parked on the pedestrian crossing {{place}}"],
            "delivery_bay": [f"{noun_en} left for days in the delivery bay {{place}}"],
            "disabled_bay": [f"{noun_en} without a permit in the disabled space {{place}}"],
            "double": [f"{noun_en} double-parked {{place}}, buses can't get through"],
        },
    }
    extras = {
        "fr": {
            "double": ["Les bus restent bloqués.", "Ça klaxonne toute la soirée."],
            "cycle_lane": ["Les vélos doivent se déporter dans la circulation."],
            "pavement": ["Les poussettes passent sur la route.", "Les personnes en fauteuil ne passent plus."],
            "crossing": ["Les enfants de l'école traversent ici."],
            "": ["C'est tous les jours pareil."],
        },
        "en": {
            "cycle_lane": ["Bikes have to swerve into the traffic."],
            "double": ["Buses are stuck behind."],
            "": ["Same thing every day."],
        },
    }
    pool = extras[lang].get(where, []) + extras[lang][""]
    key = "shared" if vehicle == "shared" else where
    return Problem(answers, _pick(rng, leads[lang][key]), pool)


PROBLEMS: dict[str, Callable[[random.Random, str], Problem]] = {
    "nid-de-poule": _pothole,
    "eclairage-panne": _light,
    "depot-sauvage": _dumping,
    "graffiti": _graffiti,
    "fuite-eau": _water,
    "mobilier-urbain": _furniture,
    "arbre-dangereux": _tree,
    "stationnement-genant": _parking,
}


def _place(rng: random.Random, lang: str, arrondissement: int) -> tuple[str, str]:
    """A place as a resident writes it, and the street address it stands for."""
    streets = STREETS.get(arrondissement) or STREETS[11]
    street, street2 = rng.sample(streets, 2)
    number = rng.randint(1, 120)
    values = {
        "n": str(number),
        "n2": str(number + rng.choice([2, 4, 6])),
        "street": street,
        "street2": street2,
        "of": _of(street),
        "of2": _of(street2),
    }
    template = rng.choice(PLACES_FR if lang == "fr" else PLACES_EN)
    return template.format(**values), f"{number} {street}"


def describe(rng: random.Random, lang: str, problem: Problem, place: str) -> str:
    """A description in the voice of a resident: short, concrete, never twice the same."""
    lead = problem.lead.format(place=place)
    sentences = [lead + "."]
    if rng.random() < 0.35:
        moment = lang == "fr" and problem.moments and rng.random() < 0.3
        when = rng.choice(MOMENTS_FR if moment else WHEN_FR if lang == "fr" else WHEN_EN)
        if ", " not in lead:
            sentences = [f"{lead} {when}."]
        elif lang == "fr":
            sentences.append(f"Constaté {when}." if moment else f"Ça dure {when}.")
        else:
            sentences.append(f"It's been like this {when}.")
    if problem.extras and rng.random() < 0.6:
        sentences.append(rng.choice(problem.extras))
    if rng.random() < 0.05:
        sentences.append(rng.choice(ALREADY_FR if lang == "fr" else ALREADY_EN))
    if rng.random() < 0.25:
        sentences.append(rng.choice(CLOSERS_FR if lang == "fr" else CLOSERS_EN))
    text = " ".join(sentences)
    if rng.random() < 0.12:
        greeting = "Bonjour, " if lang == "fr" else "Hi, "
        text = greeting + text[0].lower() + text[1:]
    style = rng.random()
    if style < 0.08:  # typed in a hurry on a phone
        text = text.lower().rstrip(".!")
    elif style < 0.11:
        text = text.rstrip(".! ") + (" !!" if lang == "fr" else "!!")
    return text


# --- how it was handled: staff answers ---------------------------------------------------------


def _date_fr(moment: datetime) -> str:
    return f"{moment.day} {FRENCH_MONTHS[moment.month - 1]}"


FIXED_ANSWERS = {
    "nid-de-poule": [
        "Le nid-de-poule a été rebouché le {date}. Merci pour votre signalement.",
        "La chaussée a été reprise en enrobé le {date}.",
        "Rebouchage provisoire effectué\u202f; une réfection complète de la chaussée est inscrite au programme "
        "de travaux.",
    ],
    "eclairage-panne": [
        "La lampe a été remplacée le {date}, l'éclairage fonctionne à nouveau.",
        "Un câble d'alimentation était endommagé\u202f; il a été réparé le {date}.",
        "L'horloge de l'armoire d'éclairage a été reprogrammée.",
    ],
    "depot-sauvage": [
        "Les déchets ont été enlevés le {date} par les équipes de propreté.",
        "Enlèvement effectué. Rappel\u00a0: les encombrants sont enlevés gratuitement sur rendez-vous.",
        "Le dépôt a été ramassé et le trottoir nettoyé.",
    ],
    "graffiti": [
        "Les tags ont été effacés le {date}.",
        "Nettoyage effectué par hydrogommage le {date}.",
        "La façade a été repeinte par nos équipes.",
    ],
    "fuite-eau": [
        "La fuite a été réparée le {date}.",
        "La bouche d'arrosage a été refermée et son joint changé.",
    ],
    "mobilier-urbain": [
        "L'équipement a été réparé le {date}.",
        "L'équipement a été remplacé le {date}. Merci pour votre signalement.",
        "Nos agents ont remis en place et scellé l'équipement.",
    ],
    "arbre-dangereux": [
        "L'arbre a été élagué et mis en sécurité le {date}.",
        "La branche a été retirée le {date}.",
        "L'arbre, malade, a été abattu\u202f; un nouvel arbre sera planté à la prochaine saison de plantation.",
    ],
    "stationnement-genant": [
        "Une patrouille de la police municipale est passée le {date}\u202f; le véhicule a été verbalisé.",
        "Le véhicule a été enlevé par la fourrière.",
        "Les trottinettes ont été retirées et l'opérateur a été rappelé à l'ordre.",
    ],
}
OTHER_ANSWERS = {
    CloseReason.NOT_FOUND: [
        "Nos agents sont passés le {date} mais n'ont pas constaté le problème. "
        "N'hésitez pas à refaire un signalement avec une photo.",
        "Le problème n'était plus visible lors de notre passage le {date}.",
    ],
    CloseReason.NOT_RESPONSIBLE: [
        "Cet endroit ne relève pas de la Ville\u202f; votre signalement a été transmis au gestionnaire concerné.",
        "Il s'agit d'un terrain privé\u00a0: nous avons écrit au propriétaire pour lui demander d'intervenir.",
    ],
    CloseReason.NO_ACTION: [
        "Après examen, aucune intervention n'est prévue\u00a0: la situation ne présente pas de danger.",
        "Une réfection complète de la rue est prévue l'an prochain\u202f; d'ici là, nous surveillons l'endroit.",
    ],
}
SPECIFIC_ANSWERS = {
    ("fuite-eau", CloseReason.NOT_RESPONSIBLE): [
        "Cette canalisation relève du service des eaux, à qui nous avons transmis votre signalement.",
    ],
    ("stationnement-genant", CloseReason.NOT_FOUND): [
        "Le véhicule n'était plus là lors du passage de la patrouille.",
    ],
    ("stationnement-genant", CloseReason.NO_ACTION): [
        "Nous ne pouvons pas intervenir en temps réel\u202f; "
        "vos signalements aident à programmer des contrôles dans ce secteur.",
    ],
    ("depot-sauvage", CloseReason.NOT_FOUND): [
        "Les déchets avaient déjà été enlevés lors de notre passage.",
    ],
    ("graffiti", CloseReason.NOT_RESPONSIBLE): [
        "Ce mur appartient à une copropriété\u00a0: le nettoyage est à sa charge, "
        "mais elle peut demander une intervention gratuite à la mairie.",
    ],
    ("arbre-dangereux", CloseReason.NOT_RESPONSIBLE): [
        "Cet arbre se trouve sur une parcelle privée\u00a0: nous avons écrit au propriétaire.",
    ],
}
WORK_ANSWERS = {
    "nid-de-poule": "Un rebouchage est programmé.",
    "eclairage-panne": "Une équipe de maintenance de l'éclairage interviendra de nuit.",
    "arbre-dangereux": "Un élagueur passera mettre l'arbre en sécurité\u202f; le secteur a été balisé.",
    "mobilier-urbain": "La pièce de remplacement a été commandée.",
    "graffiti": "Le nettoyage a été confié à notre prestataire.",
}
INTERNAL_NOTES = [
    "Bon de travaux n° {year}-{number:05d}.",
    "Transmis à l'équipe de nuit.",
    "À regrouper avec la tournée du secteur {sector}.",
    "Photo reçue, à vérifier sur place.",
    "Prestataire relancé.",
    "Voir avec la mairie d'arrondissement.",
]


# --- planning every report before filing any --------------------------------------------------


@dataclass
class Event:
    at: datetime
    kind: EventKind
    status: ReportStatus
    text: str = ""
    public: bool = True


@dataclass
class Plan:
    category: str
    requested_at: datetime
    neighbourhood: int  # index into the quartiers
    lon: float
    lat: float
    lang: str = "fr"
    description: str = ""
    answers: Answers = field(default_factory=dict)
    address: str = ""
    zipcode: str = ""
    source: str = "web"
    device_id: str = ""
    person_id: int | None = None
    email: str = ""
    duplicate_of: int | None = None  # index into the plans
    events: list[Event] = field(default_factory=list)
    status: ReportStatus = ReportStatus.OPEN
    close_reason: CloseReason | None = None
    closed_at: datetime | None = None
    expected_at: datetime | None = None
    status_notes: str = ""
    supporters: list[tuple[int, datetime, bool]] = field(default_factory=list)  # person, when, follows too


@dataclass
class Quartier:
    name: str
    arrondissement: int
    geometry: BaseGeometry
    weights: dict[str, float]


def _point_inside(rng: random.Random, geometry: BaseGeometry) -> tuple[float, float]:
    """A uniformly random point of the polygon (rejection sampling within its bounds)."""
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    for _ in range(1000):
        lon, lat = round(rng.uniform(min_lon, max_lon), 6), round(rng.uniform(min_lat, max_lat), 6)
        if shapely.contains_xy(geometry, lon, lat):
            return lon, lat
    point = geometry.representative_point()
    return point.x, point.y


def _on_duty(rng: random.Random, moment: datetime) -> datetime:
    """The moment, or the next start of the working day (about 7:00 to 18:00 in Paris) after it."""
    if 6 <= moment.hour < 17:
        return moment
    day = moment if moment.hour < 6 else moment + timedelta(days=1)
    return day.replace(hour=6, minute=0, second=0) + timedelta(minutes=rng.randrange(600), seconds=rng.randrange(60))


def _days(rng: random.Random, median: float, stuck: float) -> timedelta:
    return timedelta(days=rng.lognormvariate(0, 0.9) * median * stuck)


def _cumulative(weights: Sequence[float]) -> list[float]:
    total, result = 0.0, []
    for weight in weights:
        total += weight
        result.append(total)
    return result


def _timeline(rng: random.Random, plan: Plan, anchor: datetime, department_name: str) -> None:
    """What happened to the report up to `anchor`: the status it reached, the history, the answers."""
    behaviour = BEHAVIOURS[plan.category]
    ack_days, work_days, close_days = behaviour.delays
    stuck = rng.uniform(3, 8) if rng.random() < 0.06 else 1.0
    start = plan.requested_at
    steps: list[Event] = []
    if plan.duplicate_of is not None:
        reason = DUPLICATE
        closed = _on_duty(rng, start + _days(rng, 1, stuck))
        steps.append(Event(closed, EventKind.STATUS, ReportStatus.CLOSED, reason.value))
    else:
        reasons = behaviour.reasons
        reason = CloseReason(_weighted(rng, [(r.value, w) for r, w in reasons]))
        direct = rng.random() < behaviour.direct_close
        if direct:
            closed = _on_duty(rng, start + _days(rng, ack_days + close_days, stuck))
        else:
            acknowledged = _on_duty(rng, start + _days(rng, ack_days, stuck))
            steps.append(Event(acknowledged, EventKind.STATUS, ReportStatus.ACKNOWLEDGED))
            if rng.random() < 0.3:
                text = rng.choice(
                    [
                        f"Bonjour, votre signalement a bien été transmis au service {department_name}. "
                        "Merci pour votre vigilance.",
                        "Signalement pris en compte\u00a0: une équipe va passer vérifier sur place.",
                    ]
                )
                steps.append(Event(acknowledged, EventKind.ANSWER, ReportStatus.ACKNOWLEDGED, text))
            last = acknowledged
            if reason == FIXED and rng.random() < 0.8:
                working = _on_duty(rng, acknowledged + _days(rng, work_days, stuck))
                steps.append(Event(working, EventKind.STATUS, ReportStatus.IN_PROGRESS))
                answer = ""
                if rng.random() < behaviour.expected:
                    expected = (working + _days(rng, close_days * 1.2, 1)).replace(hour=8, minute=0, second=0)
                    expected = max(expected, working + timedelta(days=1)).replace(microsecond=0)
                    steps.append(Event(working, EventKind.EXPECTED, ReportStatus.IN_PROGRESS, expected.isoformat()))
                    answer = f"Intervention prévue le {_date_fr(expected)}."
                if plan.category in WORK_ANSWERS and rng.random() < 0.35:
                    answer = (WORK_ANSWERS[plan.category] + " " + answer).strip()
                if answer:
                    steps.append(Event(working, EventKind.ANSWER, ReportStatus.IN_PROGRESS, answer))
                last = working
            if rng.random() < 0.2:
                note = rng.choice(INTERNAL_NOTES).format(
                    year=last.year, number=rng.randrange(1, 99999), sector=rng.choice("ABCDEF")
                )
                steps.append(Event(last, EventKind.NOTE, steps[-1].status, note, public=False))
            closed = _on_duty(rng, last + _days(rng, close_days, stuck))
        steps.append(Event(closed, EventKind.STATUS, ReportStatus.CLOSED, reason.value))
    if rng.random() < (0.75 if reason in (FIXED, DUPLICATE) else 0.9):
        if reason == DUPLICATE:
            text = (
                "Ce problème a déjà été signalé (signalement n°\u00a0{original})\u00a0: "
                "suivez-le pour connaître la suite."
            )
        else:
            options = FIXED_ANSWERS[plan.category] if reason == FIXED else OTHER_ANSWERS[reason]
            text = rng.choice(SPECIFIC_ANSWERS.get((plan.category, reason), options)).format(date=_date_fr(closed))
        steps.append(Event(closed, EventKind.ANSWER, ReportStatus.CLOSED, text))

    # Only what is already past happened.
    happened = [event for event in steps if event.at <= anchor]
    plan.events = happened
    for event in happened:
        if event.kind == EventKind.STATUS:
            plan.status = event.status
        elif event.kind == EventKind.ANSWER:
            plan.status_notes = event.text
        elif event.kind == EventKind.EXPECTED:
            plan.expected_at = datetime.fromisoformat(event.text)
    if plan.status == ReportStatus.CLOSED:
        plan.close_reason = reason
        plan.closed_at = closed


def _token(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.getrandbits(144).to_bytes(18, "big")).decode()


def plan_reports(
    rng: random.Random,
    count: int,
    anchor: datetime,
    quartiers: list[Quartier],
    residents: Sequence[int],
    citizen_id: int | None,
    department_names: dict[str, str],
) -> list[Plan]:
    """Every report of the demo, oldest first, with its place, words, answers, reporter and timeline."""
    codes = [category.code for category in CATEGORIES]
    category_cum = _cumulative([BEHAVIOURS[code].weight for code in codes])
    # More reports lately (the platform is catching on), with each category's season.
    day_cum: dict[str, list[float]] = {}
    for code in codes:
        season = BEHAVIOURS[code].season
        day_cum[code] = _cumulative(
            [
                (1.3 - 0.5 * offset / DAYS) * season[(anchor - timedelta(days=offset)).month - 1]
                for offset in range(DAYS)
            ]
        )
    quartier_cum = {code: _cumulative([q.weights[code] for q in quartiers]) for code in codes}
    hour_cum = _cumulative(HOUR_WEIGHTS)
    midnight = anchor.replace(hour=0)

    plans: list[Plan] = []
    for _ in range(count):
        code = rng.choices(codes, cum_weights=category_cum)[0]
        offset = rng.choices(range(DAYS), cum_weights=day_cum[code])[0]
        hour = rng.choices(range(24), cum_weights=hour_cum)[0]
        moment = midnight - timedelta(days=offset, hours=1) + timedelta(hours=hour, minutes=rng.randrange(60))
        moment += timedelta(seconds=rng.randrange(60))
        if moment > anchor - timedelta(minutes=5):
            moment -= timedelta(days=1)
        index = rng.choices(range(len(quartiers)), cum_weights=quartier_cum[code])[0]
        lon, lat = _point_inside(rng, quartiers[index].geometry)
        plans.append(Plan(code, moment, index, lon, lat))
    plans.sort(key=lambda plan: plan.requested_at)

    # Some problems are reported twice: a neighbour files the same thing a few days later, a few metres away.
    recent: dict[tuple[str, int], list[int]] = {}
    for position, plan in enumerate(plans):
        key = (plan.category, plan.neighbourhood)
        earlier = [i for i in recent.get(key, []) if plan.requested_at - plans[i].requested_at < timedelta(days=20)]
        if earlier and rng.random() < 0.12:
            original = rng.choice(earlier)
            lon = round(plans[original].lon + rng.uniform(-0.00015, 0.00015), 6)
            lat = round(plans[original].lat + rng.uniform(-0.0001, 0.0001), 6)
            if shapely.contains_xy(quartiers[plan.neighbourhood].geometry, lon, lat):
                plan.lon, plan.lat, plan.duplicate_of = lon, lat, original
        recent.setdefault(key, []).append(position)

    # The demo citizen ("Camille du 11e") filed a few reports in her arrondissement.
    hers: set[int] = set()
    if citizen_id is not None:
        eleventh = [i for i, plan in enumerate(plans) if quartiers[plan.neighbourhood].arrondissement == 11]
        hers = set(rng.sample(eleventh, min(7, len(eleventh))))

    for position, plan in enumerate(plans):
        quartier = quartiers[plan.neighbourhood]
        plan.lang = "en" if rng.random() < ENGLISH_SHARE else "fr"
        problem = PROBLEMS[plan.category](rng, plan.lang)
        place, address = _place(rng, plan.lang, quartier.arrondissement)
        plan.answers = problem.answers
        plan.description = "" if rng.random() < 0.05 else describe(rng, plan.lang, problem, place)
        if rng.random() < 0.6:
            plan.address, plan.zipcode = address, f"750{quartier.arrondissement:02d}"
        who = rng.random()
        if position in hers:
            plan.person_id = citizen_id
        elif who < 0.4 and residents:
            plan.person_id = rng.choice(residents)
        elif who < 0.5:
            plan.email = f"visiteur{rng.randrange(1, 10000):04d}@{DEMO_DOMAIN}"
        if plan.person_id is None and rng.random() < 0.3:
            plan.source, plan.device_id = "open311", f"demo-app-{rng.randrange(1, 5000):04d}"
        department = BEHAVIOURS[plan.category].department
        _timeline(rng, plan, anchor, department_names.get(department, department))
        if plan.duplicate_of is None and residents and rng.random() < 0.35:
            end = plan.closed_at or anchor
            for person_id in rng.sample(residents, min(len(residents), 1 + int(rng.expovariate(0.45)))):
                if person_id != plan.person_id:
                    when = plan.requested_at + (end - plan.requested_at) * rng.random() * 0.5
                    plan.supporters.append((person_id, when, rng.random() < 0.4))
    return plans


# --- writing it all --------------------------------------------------------------------------


async def build_demo_reports(
    session: AsyncSession, settings: Settings, now: datetime, progress: ProgressCallback
) -> None:
    """Categories, routing rules and `settings.demo_reports` reports for the demo city (after the
    territory, the departments and the people exist)."""
    rng = random.Random(f"citoyen-demo-reports-{settings.demo_seed}")
    anchor = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    total = max(settings.demo_reports, 0)
    progress(STEP, 0, total)

    departments = {department.code: department for department in await people.list_departments(session)}
    categories: dict[str, Category] = {}
    for data in CATEGORIES:
        category = await reports.save_category(session, data)
        categories[data.code] = category
        await reports.set_routing_rule(session, category.id, departments[BEHAVIOURS[data.code].department].id)
    neighbourhoods = await territory.list_neighbourhoods(session)
    by_name = {n.name: n for n in neighbourhoods}
    for code, name, department in NEIGHBOURHOOD_RULES:
        if name in by_name and department in departments:
            await reports.set_routing_rule(session, categories[code].id, departments[department].id, by_name[name].id)

    quartiers = []
    for neighbourhood in neighbourhoods:
        arrondissement = int(neighbourhood.properties.get("c_ar") or 11)
        mood = rng.lognormvariate(0, 0.45)
        base = ARRONDISSEMENT_WEIGHTS.get(arrondissement, 1.0) * mood
        weights = {code: base * BEHAVIOURS[code].where.get(arrondissement, 1.0) for code in BEHAVIOURS}
        geometry = shape(neighbourhood.geometry)
        shapely.prepare(geometry)
        quartiers.append(Quartier(neighbourhood.name, arrondissement, geometry, weights))
    if not quartiers or total == 0:
        progress(STEP, total, total)
        return

    accounts = {account.email: await people.find_person_by_email(session, account.email) for account in DEMO_ACCOUNTS}
    citizen, staff, admin = (accounts[DEMO_ACCOUNTS[i].email] for i in (0, 2, 3))
    residents_query = select(Person.id).where(Person.password_hash.is_(None)).order_by(Person.id)
    residents = list((await session.execute(residents_query)).scalars())
    plans = plan_reports(
        rng,
        total,
        anchor,
        quartiers,
        residents,
        citizen.id if citizen else None,
        {code: department.name for code, department in departments.items()},
    )

    await _write(session, plans, categories, neighbourhoods, citizen, staff, admin, departments, rng, progress)


def _duplicate_ids(plans: list[Plan], ids: list[int]) -> list[int | None]:
    """The id of the report each one duplicates, once closed as a duplicate."""
    return [
        ids[plan.duplicate_of] if plan.duplicate_of is not None and plan.status == ReportStatus.CLOSED else None
        for plan in plans
    ]


async def _write(
    session: AsyncSession,
    plans: list[Plan],
    categories: dict[str, Category],
    neighbourhoods: list[Neighbourhood],
    citizen: Person | None,
    staff: Person | None,
    admin: Person | None,
    departments: dict[str, Department],
    rng: random.Random,
    progress: ProgressCallback,
) -> None:
    """Insert the reports in batches, with what `create_report` would have stored (answers checked by
    the same rule, the neighbourhood from the same index, the department from the same routing), then
    what happened next: history, supports, followers. One report at a time through `create_report`
    takes ~3 ms, which made a demo build (and the tests that build it) several times slower."""
    index = await territory.TerritoryIndexCache().get(session)
    if index is None:
        raise RuntimeError("the demo reports need the city's neighbourhoods")
    located = index.locate_many([plan.lon for plan in plans], [plan.lat for plan in plans])
    questions = await reports.attributes_of(session, [category.id for category in categories.values()])
    routes: dict[tuple[int, int | None], int | None] = {}
    duplicated: dict[int, int] = {}
    for plan in plans:
        if plan.duplicate_of is not None and plan.status == ReportStatus.CLOSED:
            duplicated[plan.duplicate_of] = duplicated.get(plan.duplicate_of, 0) + 1

    rows: list[dict[str, Any]] = []
    for position, (plan, neighbourhood_id) in enumerate(zip(plans, located, strict=True)):
        category = categories[plan.category]
        if neighbourhood_id is None:  # never: the points are drawn inside the quartiers
            neighbourhood_id = neighbourhoods[plan.neighbourhood].id
        if (category.id, neighbourhood_id) not in routes:
            routes[category.id, neighbourhood_id] = await reports.route(session, category.id, neighbourhood_id)
        cells = territory.h3_cells(plan.lon, plan.lat)
        rows.append(
            {
                "category_id": category.id,
                "status": plan.status,
                "close_reason": plan.close_reason,
                "description": plan.description,
                "lon": plan.lon,
                "lat": plan.lat,
                "address": plan.address,
                "zipcode": plan.zipcode,
                "neighbourhood_id": neighbourhood_id,
                "h3_r6": cells[6],
                "h3_r8": cells[8],
                "h3_r10": cells[10],
                "department_id": routes[category.id, neighbourhood_id],
                "status_notes": plan.status_notes,
                "attributes": reports.validate_answers(questions[category.id], plan.answers),
                "supports": len(plan.supporters) + duplicated.get(position, 0),
                "source": plan.source,
                "token": _token(rng),
                "requested_at": plan.requested_at,
                "updated_at": max([plan.requested_at, *(event.at for event in plan.events)]),
                "expected_at": plan.expected_at,
                "closed_at": plan.closed_at,
            }
        )
    ids: list[int] = []
    for start in range(0, len(rows), BATCH):
        query = insert(Report).returning(Report.id, sort_by_parameter_order=True)
        ids += [int(report_id) for report_id in (await session.execute(query, rows[start : start + BATCH])).scalars()]
        progress(STEP, len(ids), len(plans))
    duplicate_ids = _duplicate_ids(plans, ids)
    updates = [
        {
            "id": ids[position],
            "duplicate_of_id": original,
            "status_notes": plans[position].status_notes.format(original=original),
        }
        for position, original in enumerate(duplicate_ids)
        if original is not None
    ]
    if updates:
        await session.execute(update(Report), updates)

    actor_of = {
        code: (staff.id if staff is not None and code == "voirie" else admin.id if admin else None)
        for code in departments
    }
    contacts: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    supports: list[dict[str, Any]] = []
    followers: list[dict[str, Any]] = []
    for plan, report_id, original in zip(plans, ids, duplicate_ids, strict=True):
        if plan.person_id or plan.email or plan.device_id:
            contacts.append(
                {"report_id": report_id, "person_id": plan.person_id, "email": plan.email, "device_id": plan.device_id}
            )
        if plan.person_id or plan.email:
            followers.append(
                {
                    "report_id": report_id,
                    "person_id": plan.person_id,
                    "email": None if plan.person_id else plan.email,
                    "created_at": plan.requested_at,
                }
            )
        actor = actor_of.get(BEHAVIOURS[plan.category].department)
        events.append(
            {
                "report_id": report_id,
                "at": plan.requested_at,
                "kind": EventKind.CREATED,
                "status": ReportStatus.OPEN,
                "public": True,
                "text": "",
                "actor_id": None,
            }
        )
        # Events of the same moment (a status and its answer) read in insertion order.
        for event in plan.events:
            events.append(
                {
                    "report_id": report_id,
                    "at": event.at,
                    "kind": event.kind,
                    "status": event.status,
                    "public": event.public,
                    "text": event.text.format(original=original),
                    "actor_id": actor,
                }
            )
        for person_id, when, follows in plan.supporters:
            supports.append(
                {
                    "report_id": report_id,
                    "person_id": person_id,
                    "supporter_key": f"person:{person_id}",
                    "created_at": when,
                }
            )
            if follows:
                followers.append({"report_id": report_id, "person_id": person_id, "email": None, "created_at": when})
    tables: list[tuple[list[dict[str, Any]], Any]] = [
        (contacts, ReportContact),
        (events, ReportEvent),
        (supports, ReportSupport),
        (followers, ReportFollower),
    ]
    for table_rows, model in tables:
        for start in range(0, len(table_rows), BATCH):
            await session.execute(insert(model), table_rows[start : start + BATCH])
    # The rows went in without create_report, so the map's counts are computed once from them.
    await reports.rebuild_map_counts(session)
    if citizen is not None:
        await _notify_citizen(session, citizen, plans, ids, duplicate_ids)
    await session.flush()


async def _notify_citizen(
    session: AsyncSession, citizen: Person, plans: list[Plan], ids: list[int], duplicate_ids: list[int | None]
) -> None:
    """The demo citizen's notifications about her reports (the two latest unread), as the workflow
    would have sent them; in the app only, so nothing lands in the mail outbox."""
    gettext = get_translations(citizen.locale).gettext
    rows: list[dict[str, Any]] = []
    for plan, report_id, original in zip(plans, ids, duplicate_ids, strict=True):
        if plan.person_id != citizen.id:
            continue
        for event in plan.events:
            if event.kind != EventKind.STATUS:
                continue
            answer = next((e.text for e in plan.events if e.kind == EventKind.ANSWER and e.at == event.at), "")
            title = gettext("Report #%(id)s is now: %(status)s") % {
                "id": report_id,
                "status": gettext(reports.STATUS_LABELS[event.status]),
            }
            rows.append(
                {
                    "person_id": citizen.id,
                    "title": title,
                    "body": answer.format(original=original),
                    "link": f"/reports/{report_id}",
                    "created_at": event.at,
                }
            )
    rows.sort(key=lambda row: row["created_at"])
    for position, row in enumerate(rows):
        row["read_at"] = None if position >= len(rows) - 2 else row["created_at"] + timedelta(hours=6)
    if rows:
        await session.execute(insert(Notification), rows)
