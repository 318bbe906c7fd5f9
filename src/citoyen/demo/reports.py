"""Demo reports: the categories a French city offers (with their questions), routing rules to the demo
departments, and a year of reports across Paris's quartiers, written as residents write them.

Categories and routing rules go through the reports service. Every report is planned first (place,
words, answers, reporter, and a timeline of what staff did), then inserted in batches with what
`create_report` would store: the answers pass the service's `validate_answers`, the neighbourhood comes
from the territory index and the department from `route`. The staff workflow (`update_report`) is not
used for the timeline: it stamps events with the current time and mails followers, neither of which
suits a year of past activity. Nothing goes to the mail outbox.

What residents write and staff answer is in `citoyen.demo.report_words`.

Deterministic from `settings.demo_seed`; dates are relative to the hour the demo is built."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.demo.common import DEMO_ACCOUNTS, DEMO_DOMAIN, ProgressCallback
from citoyen.demo.report_words import (
    FIXED_ANSWERS,
    INTERNAL_NOTES,
    OTHER_ANSWERS,
    PROBLEMS,
    SPECIFIC_ANSWERS,
    WORK_ANSWERS,
    Answers,
    date_fr,
    describe,
    street_place,
    weighted,
)
from citoyen.notifications import service as notifications
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
                "Quelle est la taille du trou\u202f?",
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
                "Qui est mis en danger\u202f?",
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
                "Combien de lampadaires sont concernés\u202f?",
                "How many lights are affected?",
                required=True,
                hint="un nombre, 1 s'il n'y en a qu'un",
            ),
            _question(
                "state",
                SINGLE,
                "Que se passe-t-il\u202f?",
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
                "Quel volume environ\u202f?",
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
                "Quels types de déchets\u202f?",
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
                "Sur quoi\u202f?",
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
                "Le contenu est-il injurieux ou discriminatoire\u202f?",
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
                "La fuite est-elle sur la chaussée ou sur le trottoir\u202f?",
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
                "Quel équipement\u202f?",
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
                "Quel est le problème\u202f?",
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
                "Où le véhicule est-il garé\u202f?",
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
                "Quel véhicule\u202f?",
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
# When people report, by hour of the day in Paris (UTC+1 in winter: close enough for a demo).
HOUR_WEIGHTS = [0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.8, 1.6, 2.2, 1.8, 1.4, 1.3, 1.6, 1.5, 1.2, 1.1, 1.2, 1.6, 2.0, 1.9, 1.5]
HOUR_WEIGHTS += [1.1, 0.7, 0.4]


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
        reason = CloseReason(weighted(rng, [(r.value, w) for r, w in reasons]))
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
                    answer = f"Intervention prévue le {date_fr(expected)}."
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
            text = rng.choice(SPECIFIC_ANSWERS.get((plan.category, reason), options)).format(date=date_fr(closed))
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
        place, address = street_place(rng, plan.lang, quartier.arrondissement)
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
                "locale": plan.lang,
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


def _status_title(report_id: int, status: ReportStatus, gettext: Callable[[str], str], _locale: str) -> str:
    """A report's change of status as its follower is told of it, in one language."""
    return gettext("Report #%(id)s is now: %(status)s") % {
        "id": report_id,
        "status": gettext(reports.STATUS_LABELS[status]),
    }


async def _notify_citizen(
    session: AsyncSession, citizen: Person, plans: list[Plan], ids: list[int], duplicate_ids: list[int | None]
) -> None:
    """The demo citizen's notifications about her reports (the two latest unread), as the workflow
    would have sent them; in the app only, so nothing lands in the mail outbox."""
    rows: list[dict[str, Any]] = []
    for plan, report_id, original in zip(plans, ids, duplicate_ids, strict=True):
        if plan.person_id != citizen.id:
            continue
        for event in plan.events:
            if event.kind != EventKind.STATUS:
                continue
            answer = next((e.text for e in plan.events if e.kind == EventKind.ANSWER and e.at == event.at), "")
            title, title_en = notifications.in_both_languages(partial(_status_title, report_id, event.status))
            rows.append(
                {
                    "person_id": citizen.id,
                    "title": title,
                    "title_en": title_en,
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
