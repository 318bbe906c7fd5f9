"""The demo city's urban projects: about thirty works, bike lanes, squares and schools at real places of Paris,
bilingual, with phases dated around the day the demo is built, a few staff updates and questions answered by
the departments. Each is stored as a demo project (`Project.demo`), which every page and the API say."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.demo.common import DEMO_ACCOUNTS, DEMO_DOMAIN
from citoyen.people import service as people
from citoyen.people.service import Role
from citoyen.projects import service as projects
from citoyen.territory.service import TerritoryIndexCache

Line = list[tuple[float, float]]


def _line(*points: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(point) for point in points]}


def _area(lon: float, lat: float, half_lon: float = 0.0012, half_lat: float = 0.0008) -> dict[str, Any]:
    ring = [
        [lon - half_lon, lat - half_lat],
        [lon + half_lon, lat - half_lat],
        [lon + half_lon, lat + half_lat],
        [lon - half_lon, lat + half_lat],
        [lon - half_lon, lat - half_lat],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


@dataclass(frozen=True)
class DemoProject:
    title: str
    title_en: str
    description: str
    description_en: str
    theme: str
    department: str
    geometry: dict[str, Any]
    # When it stands, relative to the day the demo is built: see `_phases`.
    stage: str
    budget_euros: int


# Where each stage puts the phases (days from the build day: start, end); the project's phase is the one
# that covers the day.
STAGES: dict[str, tuple[str, list[tuple[str, int, int | None]]]] = {
    "works_now": (
        "works",
        [("study", -720, -420), ("consultation", -420, -250), ("works", -25, 140), ("delivered", 141, None)],
    ),
    "works_soon": ("consultation", [("study", -400, -120), ("consultation", -120, 20), ("works", 60, 260)]),
    "consultation": ("consultation", [("study", -260, -40), ("consultation", -40, 50), ("works", 200, 420)]),
    "study": ("study", [("study", -90, 200)]),
    "delivered": ("delivered", [("study", -1100, -800), ("works", -700, -190), ("delivered", -189, None)]),
}

PROJECTS = [
    DemoProject(
        "Piste cyclable bidirectionnelle rue de Rivoli (tronçon Louvre – Saint-Paul)",
        "Two-way bike lane on rue de Rivoli (Louvre – Saint-Paul)",
        "Élargissement de la piste cyclable et reprise des carrefours, avec des feux dédiés aux vélos.",
        "The bike lane is widened and the crossings rebuilt, with traffic lights for bikes.",
        "cycling",
        "mobilite",
        _line((2.3365, 48.8617), (2.3450, 48.8593), (2.3530, 48.8570), (2.3610, 48.8553)),
        "works_now",
        4_800_000,
    ),
    DemoProject(
        "Réaménagement de la place de la Bastille",
        "Redesign of place de la Bastille",
        "Une place plus piétonne autour de la colonne de Juillet, des arbres et un accès direct au port de l'Arsenal.",
        "A more pedestrian square around the July Column, trees and a direct way down to the Arsenal harbour.",
        "public_space",
        "voirie",
        _area(2.3692, 48.8532),
        "delivered",
        9_500_000,
    ),
    DemoProject(
        "Végétalisation de la rue de la Roquette",
        "Greening rue de la Roquette",
        "Plantation de 40 arbres et de fosses fleuries, trottoirs élargis entre Bastille et Voltaire.",
        "Forty trees and flowering pits planted, wider pavements between Bastille and Voltaire.",
        "greenery",
        "espaces-verts",
        _line((2.3722, 48.8545), (2.3760, 48.8563), (2.3800, 48.8585)),
        "works_now",
        1_200_000,
    ),
    DemoProject(
        "Rénovation de l'école élémentaire rue Saint-Maur",
        "Renovation of the rue Saint-Maur primary school",
        "Isolation des façades, nouvelle cantine et cour désimperméabilisée.",
        "Insulated walls, a new canteen and a playground that lets rain soak in.",
        "school",
        "energie",
        _point(2.3790, 48.8650),
        "works_soon",
        3_100_000,
    ),
    DemoProject(
        "Piste cyclable boulevard de Magenta",
        "Bike lane on boulevard de Magenta",
        "Une piste protégée de chaque côté entre la gare du Nord et la place de la République.",
        "A protected lane on each side between Gare du Nord and place de la République.",
        "cycling",
        "mobilite",
        _line((2.3555, 48.8790), (2.3585, 48.8750), (2.3615, 48.8715), (2.3635, 48.8685)),
        "works_now",
        2_600_000,
    ),
    DemoProject(
        "Réaménagement de la place de la Nation",
        "Redesign of place de la Nation",
        "Le terre-plein central devient un jardin ouvert, les traversées piétonnes sont raccourcies.",
        "The central island becomes an open garden; pedestrian crossings are shortened.",
        "public_space",
        "voirie",
        _area(2.3959, 48.8484, 0.0016, 0.0010),
        "delivered",
        7_400_000,
    ),
    DemoProject(
        "Forêt urbaine place de Catalogne",
        "Urban forest at place de Catalogne",
        "Plus de 400 arbres plantés sur l'ancien rond-point, un îlot de fraîcheur ouvert à tous.",
        "Over 400 trees planted on the former roundabout: a cool island open to all.",
        "greenery",
        "espaces-verts",
        _area(2.3196, 48.8385, 0.0010, 0.0007),
        "consultation",
        5_900_000,
    ),
    DemoProject(
        "Réfection des berges du canal Saint-Martin",
        "Repairing the banks of the canal Saint-Martin",
        "Reprise des quais, des garde-corps et de l'éclairage entre la rue du Faubourg-du-Temple et Jaurès.",
        "Quays, railings and lighting repaired between rue du Faubourg-du-Temple and Jaurès.",
        "water",
        "proprete",
        _line((2.3660, 48.8710), (2.3680, 48.8742), (2.3700, 48.8780)),
        "works_now",
        2_300_000,
    ),
    DemoProject(
        "Rue Mouffetard\u00a0: zone piétonne étendue",
        "Rue Mouffetard: a longer pedestrian zone",
        "La piétonnisation s'étend jusqu'à l'église Saint-Médard, livraisons le matin seulement.",
        "The pedestrian zone reaches the Saint-Médard church; deliveries in the morning only.",
        "mobility",
        "voirie",
        _line((2.3497, 48.8440), (2.3499, 48.8420), (2.3502, 48.8405)),
        "study",
        650_000,
    ),
    DemoProject(
        "Piste cyclable avenue du Général-Leclerc",
        "Bike lane on avenue du Général-Leclerc",
        "Une piste protégée de Denfert-Rochereau à la porte d'Orléans.",
        "A protected lane from Denfert-Rochereau to porte d'Orléans.",
        "cycling",
        "mobilite",
        _line((2.3320, 48.8330), (2.3290, 48.8270), (2.3262, 48.8225)),
        "works_soon",
        3_400_000,
    ),
    DemoProject(
        "Rénovation du gymnase de la Goutte-d'Or",
        "Renovation of the Goutte-d'Or gymnasium",
        "Nouveau sol sportif, vestiaires accessibles et toiture solaire.",
        "A new sports floor, accessible changing rooms and a solar roof.",
        "sport",
        "energie",
        _point(2.3530, 48.8855),
        "works_now",
        1_800_000,
    ),
    DemoProject(
        "Square Louise-Michel\u00a0: reprise des allées",
        "Square Louise-Michel: paths repaired",
        "Allées reprises en matériaux drainants, nouveaux bancs et fontaine à boire.",
        "Paths rebuilt with draining materials, new benches and a drinking fountain.",
        "greenery",
        "espaces-verts",
        _area(2.3432, 48.8848, 0.0010, 0.0006),
        "delivered",
        900_000,
    ),
    DemoProject(
        "Réfection de la chaussée rue de Vaugirard",
        "Resurfacing rue de Vaugirard",
        "Chaussée et trottoirs refaits par tronçons de nuit, entre Pasteur et la rue de la Convention.",
        "Road and pavements resurfaced in sections at night, between Pasteur and rue de la Convention.",
        "mobility",
        "voirie",
        _line((2.3130, 48.8420), (2.3060, 48.8390), (2.2990, 48.8360)),
        "works_now",
        1_500_000,
    ),
    DemoProject(
        "Cour Oasis de l'école rue Keller",
        "Oasis playground at the rue Keller school",
        "Une cour d'école plantée, ombragée et ouverte au quartier le samedi.",
        "A planted, shaded school playground, open to the neighbourhood on Saturdays.",
        "school",
        "espaces-verts",
        _point(2.3768, 48.8558),
        "consultation",
        420_000,
    ),
    DemoProject(
        "Cour Oasis de l'école rue de Tanger",
        "Oasis playground at the rue de Tanger school",
        "Désimperméabilisation de la cour, potager pédagogique et fontaine.",
        "The playground's tarmac removed, a school vegetable garden and a fountain.",
        "school",
        "espaces-verts",
        _point(2.3712, 48.8852),
        "works_soon",
        380_000,
    ),
    DemoProject(
        "Réaménagement de la place du Panthéon",
        "Redesign of place du Panthéon",
        "Moins de stationnement, des bancs et des arbres en pots devant la bibliothèque Sainte-Geneviève.",
        "Less parking, benches and potted trees in front of the Sainte-Geneviève library.",
        "public_space",
        "voirie",
        _area(2.3461, 48.8462, 0.0009, 0.0006),
        "study",
        1_100_000,
    ),
    DemoProject(
        "Piste cyclable rue de Rennes",
        "Bike lane on rue de Rennes",
        "Une piste protégée de Saint-Germain-des-Prés à Montparnasse.",
        "A protected lane from Saint-Germain-des-Prés to Montparnasse.",
        "cycling",
        "mobilite",
        _line((2.3300, 48.8530), (2.3260, 48.8490), (2.3215, 48.8440)),
        "consultation",
        2_100_000,
    ),
    DemoProject(
        "Végétalisation de la rue de Charonne",
        "Greening rue de Charonne",
        "Fosses d'arbres agrandies et pieds d'arbres fleuris entretenus avec les riverains.",
        "Bigger tree pits, with flowers looked after together with residents.",
        "greenery",
        "espaces-verts",
        _line((2.3765, 48.8537), (2.3850, 48.8548), (2.3925, 48.8558)),
        "works_now",
        700_000,
    ),
    DemoProject(
        "Jardin partagé rue de l'Ourcq",
        "Community garden on rue de l'Ourcq",
        "Une parcelle de la Ville confiée à une association de jardiniers du quartier.",
        "A plot owned by the city entrusted to a neighbourhood gardeners' association.",
        "greenery",
        "participation",
        _area(2.3790, 48.8890, 0.0006, 0.0004),
        "study",
        150_000,
    ),
    DemoProject(
        "Rénovation énergétique de la médiathèque Marguerite-Duras",
        "Energy renovation of the Marguerite-Duras media library",
        "Isolation par l'extérieur, ventilation double flux et panneaux solaires.",
        "External insulation, heat-recovery ventilation and solar panels.",
        "energy",
        "energie",
        _point(2.4010, 48.8590),
        "works_soon",
        2_700_000,
    ),
    DemoProject(
        "Éclairage LED des quais de Valmy",
        "LED lighting on the quai de Valmy",
        "Les lampadaires passent en LED, avec une baisse d'intensité au cœur de la nuit.",
        "Street lights switch to LED, dimmed in the middle of the night.",
        "energy",
        "eclairage",
        _line((2.3645, 48.8712), (2.3662, 48.8745), (2.3680, 48.8782)),
        "works_now",
        480_000,
    ),
    DemoProject(
        "Zone apaisée Montorgueil – Saint-Denis",
        "Calm-traffic zone Montorgueil – Saint-Denis",
        "Circulation limitée aux riverains et livraisons, rues aux écoles et places de vélos.",
        "Traffic limited to residents and deliveries, school streets and bike parking.",
        "mobility",
        "mobilite",
        _area(2.3480, 48.8655, 0.0025, 0.0015),
        "consultation",
        860_000,
    ),
    DemoProject(
        "Piste cyclable boulevard Voltaire",
        "Bike lane on boulevard Voltaire",
        "Une piste protégée de République à Nation, stationnement réorganisé.",
        "A protected lane from République to Nation, parking reorganised.",
        "cycling",
        "mobilite",
        _line((2.3665, 48.8660), (2.3760, 48.8590), (2.3880, 48.8515)),
        "delivered",
        3_900_000,
    ),
    DemoProject(
        "Reconstruction de la piscine Georges-Vallerey",
        "Rebuilding the Georges-Vallerey swimming pool",
        "Bassin olympique rénové, toit ouvrant réparé et accès aux personnes à mobilité réduite.",
        "The Olympic pool renovated, its opening roof repaired, step-free access.",
        "sport",
        "energie",
        _point(2.4005, 48.8770),
        "study",
        12_000_000,
    ),
    DemoProject(
        "Réaménagement de la place d'Italie",
        "Redesign of place d'Italie",
        "Le jardin central s'ouvre aux piétons, les pistes cyclables font le tour de la place.",
        "The central garden opens to pedestrians; bike lanes go round the square.",
        "public_space",
        "voirie",
        _area(2.3555, 48.8310, 0.0014, 0.0009),
        "works_soon",
        6_300_000,
    ),
    DemoProject(
        "Nouvelles fontaines à boire rue de Belleville",
        "New drinking fountains on rue de Belleville",
        "Six fontaines Wallace et deux fontaines pétillantes le long de la rue.",
        "Six Wallace fountains and two sparkling-water fountains along the street.",
        "water",
        "proprete",
        _line((2.3770, 48.8718), (2.3830, 48.8728), (2.3880, 48.8740)),
        "works_now",
        210_000,
    ),
    DemoProject(
        "Logements sociaux rue de la Chapelle",
        "Social housing on rue de la Chapelle",
        "Quarante logements et une crèche dans un ancien entrepôt réhabilité.",
        "Forty homes and a nursery in a rehabilitated former warehouse.",
        "housing",
        "energie",
        _point(2.3595, 48.8920),
        "works_now",
        14_500_000,
    ),
    DemoProject(
        "Réaménagement de la porte de Montreuil",
        "Redesign of porte de Montreuil",
        "Une place-jardin au-dessus du périphérique, reliée au marché aux puces.",
        "A garden square over the ring road, linked to the flea market.",
        "public_space",
        "voirie",
        _area(2.4065, 48.8535, 0.0012, 0.0008),
        "consultation",
        18_000_000,
    ),
    DemoProject(
        "Rue aux écoles rue du Pré-Saint-Gervais",
        "School street on rue du Pré-Saint-Gervais",
        "La rue devient piétonne aux heures d'entrée et de sortie des classes.",
        "The street becomes pedestrian when classes start and end.",
        "school",
        "mobilite",
        _line((2.3930, 48.8780), (2.3965, 48.8788)),
        "delivered",
        90_000,
    ),
    DemoProject(
        "Piste cyclable avenue de Flandre",
        "Bike lane on avenue de Flandre",
        "Une piste protégée de Stalingrad à la porte de la Villette.",
        "A protected lane from Stalingrad to porte de la Villette.",
        "cycling",
        "mobilite",
        _line((2.3695, 48.8845), (2.3745, 48.8890), (2.3800, 48.8935)),
        "works_soon",
        2_900_000,
    ),
]

UPDATES = [
    (
        "Les travaux commencent lundi\u00a0: circulation alternée entre 7\u00a0h et 17\u00a0h.",
        "Works start on Monday: alternating traffic between 7 am and 5 pm.",
    ),
    (
        "Fin de la première tranche de travaux\u202f; la rue rouvre ce week-end.",
        "The first phase of works is over; the street reopens this weekend.",
    ),
]
QUESTIONS = [
    (
        "Les livraisons des commerces seront-elles possibles pendant les travaux\u202f?",
        "Oui, des créneaux de livraison sont maintenus chaque matin de 7 h à 10 h.",
    ),
    ("Combien d'arbres seront plantés exactement\u202f?", ""),
    (
        "Le stationnement des personnes handicapées sera-t-il conservé\u202f?",
        "Oui, les places réservées sont déplacées de quelques mètres et restent dans la rue.",
    ),
]


def _phases(stage: str, today: date) -> tuple[str, list[projects.PhaseInput]]:
    current, spans = STAGES[stage]
    return current, [
        projects.PhaseInput(kind, today + timedelta(days=start), None if end is None else today + timedelta(days=end))
        for kind, start, end in spans
    ]


async def build_demo_projects(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """The demo's projects (through the projects service, so each place is checked against the city), a few
    updates and questions with answers; deterministic from the seed. Returns how many projects."""
    rng = random.Random(settings.demo_seed + 19)
    staff_account = next(account for account in DEMO_ACCOUNTS if account.role is Role.STAFF)
    staff = await people.find_person_by_email(session, staff_account.email)
    assert staff is not None, "the demo's accounts are made first"
    departments = {department.code: department.id for department in await people.list_departments(session)}
    index = TerritoryIndexCache(revalidate_seconds=3600)  # the city does not change during the build
    today = now.date()
    made = []
    for item in PROJECTS:
        phase, phases = _phases(item.stage, today)
        data = projects.ProjectInput(
            title=item.title,
            title_en=item.title_en,
            description=item.description,
            description_en=item.description_en,
            theme=item.theme,
            phase=phase,
            geometry=item.geometry,
            phases=phases,
            budget_cents=item.budget_euros * 100,
            department_id=departments.get(item.department),
            demo=True,
        )
        made.append((item, await projects.create_project(session, index, staff, data)))
    residents = [f"resident{number:05d}@{DEMO_DOMAIN}" for number in range(1, 40)]
    # Three projects with works this month get news, a question and an opinion (the feed's in-transaction
    # subscribers make an update the costliest write of the build).
    for project in [project for item, project in made if item.stage == "works_now"][:3]:
        body, body_en = UPDATES[rng.randrange(len(UPDATES))]
        await projects.post_update(session, staff, project.id, body, body_en)
        question, answer = QUESTIONS[rng.randrange(len(QUESTIONS))]
        asker = await people.find_person_by_email(session, rng.choice(residents))
        if asker is None:  # a demo with fewer residents
            continue
        asked = await projects.ask_question(session, asker, project.id, question)
        if answer:
            await projects.answer_question(session, staff, asked.id, answer)
        await projects.give_feedback(session, asker, project.id, "useful", "")
    return len(made)
