"""Demo participatory budget, residents' verification and survey, on the demo city's budget process.

Everything here is demo data, generated from the seed: a residents' list whose document numbers all
start with DEMO (no real identity document looks like this), fifteen bilingual projects across Paris
quartiers (three made from accepted proposals), a few hundred verified demo residents with their ballots,
and a survey with each question kind. The demo citizen account is on the residents' list but not yet
verified, so a visitor can try verification then voting with the identifiers printed by `citoyen demo`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.participation import service as participation
from citoyen.participation.budgets import service as budgets
from citoyen.participation.budgets.models import BudgetProject
from citoyen.participation.budgets.rules import BallotRule, ResultMethod
from citoyen.participation.models import PhaseKind, ProposalStatus
from citoyen.participation.models import Proposal as ProposalRow
from citoyen.participation.surveys import service as surveys
from citoyen.participation.surveys.models import QuestionKind
from citoyen.people.models import Person, Role
from citoyen.territory import service as territory
from citoyen.verification import service as verification

BUDGET_PROCESS_SLUG = "budget-participatif"
BUDGET_TOTAL_CENTS = 2_000_000_00
MAX_VOTERS = 300
MAX_SURVEY_RESPONSES = 150


@dataclass(frozen=True)
class DemoIdentifiers:
    """What the demo citizen types on the verification page (clearly fake: a real document number
    never starts with DEMO)."""

    document_number: str
    birth_date: str


DEMO_CITIZEN_IDENTIFIERS = DemoIdentifiers("DEMO-000001", "14/07/1989")

# (title, title_en, description, description_en, cost in euros, quartier INSEE code or "" for city-wide)
PROJECTS = [
    ("Forêt urbaine place de la Bastille", "Urban forest on Place de la Bastille",
     "Planter 120 arbres et des massifs en pleine terre sur une partie de la place.",
     "Plant 120 trees and beds in open ground on part of the square.", 450_000, "7511103"),
    ("Rue aux écoles rue Saint-Maur", "School street on Rue Saint-Maur",
     "Fermer la rue aux voitures aux heures d'entrée et de sortie, avec bancs et jardinières.",
     "Close the street to cars at school times, with benches and planters.", 120_000, "7511102"),
    ("Piste cyclable protégée boulevard de Belleville", "Protected bike lane on Boulevard de Belleville",
     "Séparer la piste des voitures par des bordures sur 1,2 km.",
     "Separate the lane from cars with kerbs over 1.2 km.", 380_000, "7512001"),
    ("Fontaines à boire dans les parcs du 19e", "Drinking fountains in the 19th's parks",
     "Installer dix fontaines à eau potable, accessibles en fauteuil.",
     "Install ten drinking-water fountains, wheelchair accessible.", 90_000, "7511904"),
    ("Cour oasis école Keller", "Oasis schoolyard at École Keller",
     "Désimperméabiliser la cour, ombrager et l'ouvrir au quartier le samedi.",
     "Replace the asphalt, add shade and open it to the neighbourhood on Saturdays.", 300_000, "7511103"),
    ("Toilettes publiques accessibles à Montmartre", "Accessible public toilets in Montmartre",
     "Quatre sanisettes accessibles et gratuites près des lieux touristiques.",
     "Four free accessible toilets near the tourist spots.", 160_000, "7511801"),
    ("Jardin partagé sur la petite ceinture", "Shared garden on the Petite Ceinture",
     "Aménager 800 m² de jardin partagé géré par une association du quartier.",
     "Lay out 800 m² of shared garden run by a local association.", 140_000, "7511403"),
    ("Éclairage des passages du 10e", "Lighting in the 10th's passages",
     "Remplacer l'éclairage des passages couverts par des LED à détection de présence.",
     "Replace the lighting of the covered passages with presence-detecting LEDs.", 75_000, "7511003"),
    ("Terrain multisport porte de Vanves", "Multi-sport court at Porte de Vanves",
     "Rénover le terrain et ajouter un accès libre en soirée.",
     "Renovate the court and open it freely in the evenings.", 210_000, "7511404"),
    ("Bancs et ombre le long du canal Saint-Martin", "Benches and shade along the Canal Saint-Martin",
     "Quarante bancs et des voiles d'ombrage sur les quais.",
     "Forty benches and shade sails on the quays.", 110_000, "7511004"),
    ("Bibliothèque hors les murs", "Library outside the walls",
     "Un triporteur-bibliothèque qui passe chaque semaine dans les squares du 13e.",
     "A cargo-bike library visiting the 13th's squares every week.", 60_000, "7511301"),
    ("Composteurs de quartier", "Neighbourhood composters",
     "Trente composteurs collectifs avec formation des habitants.",
     "Thirty shared composters with training for residents.", 45_000, ""),
    ("Rénovation du kiosque du square du Temple", "Restoring the bandstand in Square du Temple",
     "Restaurer le kiosque et l'équiper pour des concerts gratuits.",
     "Restore the bandstand and equip it for free concerts.", 180_000, "7510302"),
    ("Végétalisation des pieds d'arbres", "Planting around street trees",
     "Confier 500 pieds d'arbres aux habitants qui veulent les fleurir.",
     "Hand 500 tree bases to residents who want to plant flowers.", 35_000, ""),
    ("Skatepark couvert sous le métro aérien", "Covered skatepark under the elevated metro",
     "Un skatepark abrité sous le viaduc de la ligne 2.",
     "A sheltered skatepark under the line 2 viaduct.", 520_000, "7511803"),
]  # fmt: skip


async def build_demo_budgets(session: AsyncSession, settings: Settings, now: datetime) -> None:
    """The budget, projects, residents' list, ballots and survey of the demo's budget process."""
    rng = random.Random(settings.demo_seed + 11)
    try:
        process = await participation.get_process_by_slug(session, BUDGET_PROCESS_SLUG, include_unpublished=True)
    except participation.ParticipationError:
        return  # no budget process in this demo
    phases = (await participation.phases_of(session, [process.id]))[process.id]
    voting = next(phase for phase in phases if phase.kind == PhaseKind.VOTING)
    budget = await budgets.save_budget(
        session,
        budgets.BudgetInput(
            phase_id=voting.id,
            title="Budget participatif 2027",
            title_en="Participatory budget 2027",
            description="2 millions d'euros d'investissement\u00a0: choisissez les projets à financer, "
            "dans la limite de l'enveloppe. Vous pouvez changer votre vote jusqu'à la clôture.",
            description_en="2 million euros of investment: choose the projects to fund, within the envelope. You can "
            "change your vote until voting closes.",
            total_cents=BUDGET_TOTAL_CENTS,
            rule=BallotRule.KNAPSACK,
            min_projects=1,
            official_method=ResultMethod.EQUAL_SHARES,
        ),
    )
    by_code = {n.code: n.id for n in await territory.list_neighbourhoods(session)}
    projects = []
    for title, title_en, text, text_en, euros, code in PROJECTS:
        data = budgets.ProjectInput(
            title=title,
            title_en=title_en,
            description=text,
            description_en=text_en,
            cost_cents=euros * 100,
            neighbourhood_id=by_code.get(code),
        )
        projects.append(await budgets.save_project(session, budget, data))
    accepted = (
        await session.execute(
            select(ProposalRow.id)
            .where(ProposalRow.process_id == process.id, ProposalRow.status == ProposalStatus.ACCEPTED)
            .order_by(ProposalRow.support_count.desc(), ProposalRow.id)
            .limit(3)
        )
    ).scalars()
    for proposal_id in list(accepted):
        projects.append(
            await budgets.project_from_proposal(session, budget, proposal_id, rng.randint(4, 25) * 10_000_00)
        )

    voters = await _verified_residents(session, settings, rng)
    popularity = {project.id: rng.paretovariate(1.5) for project in projects}
    for person in voters[:MAX_VOTERS]:
        await budgets.cast_ballot(session, budget, person, _ballot(rng, projects, popularity), now)
    await _survey(session, process.id, voters[:MAX_SURVEY_RESPONSES], rng, now)
    await _closed_survey(session, process.id, voters[-MAX_SURVEY_RESPONSES:], rng, now)


async def _verified_residents(session: AsyncSession, settings: Settings, rng: random.Random) -> list[Person]:
    """The residents' list (every generated resident and the demo citizen), and a few hundred residents
    who verified their account. The demo citizen is on the list but left unverified."""
    residents = list(
        (
            await session.execute(
                select(Person).where(Person.role == Role.CITIZEN, Person.password_hash.is_(None)).order_by(Person.id)
            )
        ).scalars()
    )
    identifiers = [
        (f"DEMO-{index:06d}", f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1940, 2006)}")
        for index in range(2, len(residents) + 2)
    ]
    rows = [DEMO_CITIZEN_IDENTIFIERS.document_number + ";" + DEMO_CITIZEN_IDENTIFIERS.birth_date]
    rows += [f"{document};{birth}" for document, birth in identifiers]
    parsed = verification.parse_resident_csv(("document_number;birth_date\n" + "\n".join(rows)).encode())
    await verification.import_resident_list(session, settings, "Liste de démonstration (fictive)", parsed)
    verified: list[Person] = []
    for index, (person, (document, birth)) in enumerate(zip(residents, identifiers, strict=True)):
        if len(verified) >= max(MAX_VOTERS, MAX_SURVEY_RESPONSES):
            break
        await verification.verify_person(session, settings, person, document, birth, f"demo-{index}")
        verified.append(person)
    return verified


def _ballot(rng: random.Random, projects: list[BudgetProject], popularity: dict[int, float]) -> list[int]:
    """A plausible knapsack ballot: favourite projects first (some are far more popular), within budget."""
    order = sorted(projects, key=lambda project: -popularity[project.id] * rng.random())
    chosen: list[int] = []
    spent = 0
    wanted = rng.randint(2, 8)
    for project in order:
        if len(chosen) >= wanted:
            break
        if spent + project.cost_cents <= BUDGET_TOTAL_CENTS:
            chosen.append(project.id)
            spent += project.cost_cents
    return chosen


async def _survey(
    session: AsyncSession, process_id: int, people: list[Person], rng: random.Random, now: datetime
) -> None:
    options = [
        ("Espaces verts", "Green spaces"),
        ("Mobilités", "Getting around"),
        ("Culture", "Culture"),
        ("Sport", "Sport"),
    ]
    survey = await surveys.save_survey(
        session,
        surveys.SurveyInput(
            process_id=process_id,
            title="Votre avis sur le budget participatif",
            title_en="Your view of the participatory budget",
            description="Cinq minutes pour nous aider à améliorer la prochaine édition.",
            description_en="Five minutes to help us improve the next edition.",
            opens_at=now - timedelta(days=20),
            closes_at=now + timedelta(days=15),
            public_results=True,
            questions=[
                surveys.QuestionInput(
                    QuestionKind.SINGLE,
                    "Comment avez-vous connu le budget participatif\u202f?",
                    "How did you hear about the participatory budget?",
                    options=[
                        ("Affiches", "Posters"),
                        ("Réseaux sociaux", "Social media"),
                        ("Bouche à oreille", "Word of mouth"),
                        ("Site de la Ville", "City website"),
                    ],
                ),
                surveys.QuestionInput(
                    QuestionKind.MULTIPLE,
                    "Quels thèmes vous intéressent\u202f?",
                    "Which themes interest you?",
                    required=False,
                    options=options,
                ),
                surveys.QuestionInput(
                    QuestionKind.SCALE, "Le vote en ligne était-il simple\u202f?", "Was voting online easy?"
                ),
                surveys.QuestionInput(
                    QuestionKind.RANKING,
                    "Classez les priorités pour l'an prochain",
                    "Rank the priorities for next year",
                    options=options,
                ),
                surveys.QuestionInput(QuestionKind.SHORT_TEXT, "Votre quartier", "Your neighbourhood", required=False),
                surveys.QuestionInput(
                    QuestionKind.LONG_TEXT, "Une suggestion\u202f?", "Any suggestion?", required=False
                ),
            ],
        ),
    )
    questions = await surveys.questions_of(session, survey.id)
    suggestions = [
        "Plus de projets dans les quartiers populaires.",
        "Pouvoir voter aussi en mairie d'arrondissement.",
        "More projects for teenagers, please.",
        "Des réunions publiques avant le vote.",
    ]
    theme_weights = [4, 3, 2, 1]
    for person in people:
        keys = ["1", "2", "3", "4"]
        ranking = sorted(keys, key=lambda key: -theme_weights[int(key) - 1] * rng.random())
        answers = {
            questions[0].id: [rng.choices(["1", "2", "3", "4"], [2, 3, 2, 1])[0]],
            questions[1].id: rng.sample(keys, rng.randint(0, 3)),
            questions[2].id: [str(rng.choices([1, 2, 3, 4, 5], [1, 1, 3, 5, 4])[0])],
            questions[3].id: ranking,
            questions[4].id: [],
            questions[5].id: [rng.choice(suggestions)] if rng.random() < 0.2 else [],
        }
        await surveys.submit_response(session, survey, person, answers, now)


async def _closed_survey(
    session: AsyncSession, process_id: int, people: list[Person], rng: random.Random, now: datetime
) -> None:
    """Last edition's survey, closed with public results: what the open-data catalogue publishes (answers per
    option, small cells suppressed) and what a newcomer sees once a survey is over."""
    opens_at, closes_at = now - timedelta(days=75), now - timedelta(days=45)
    survey = await surveys.save_survey(
        session,
        surveys.SurveyInput(
            process_id=process_id,
            title="Bilan du budget participatif 2026",
            title_en="Looking back on the 2026 participatory budget",
            description="Votre regard sur l'édition précédente, avant de lancer la nouvelle.",
            description_en="Your view of the last edition, before the new one starts.",
            opens_at=opens_at,
            closes_at=closes_at,
            public_results=True,
            questions=[
                surveys.QuestionInput(
                    QuestionKind.SINGLE,
                    "Avez-vous voté l'an dernier\u202f?",
                    "Did you vote last year?",
                    options=[("Oui", "Yes"), ("Non", "No")],
                ),
                surveys.QuestionInput(
                    QuestionKind.SINGLE,
                    "Les projets lauréats ont-ils été réalisés près de chez vous\u202f?",
                    "Were the winning projects carried out near you?",
                    options=[("Oui", "Yes"), ("Pas encore", "Not yet"), ("Je ne sais pas", "I don't know")],
                ),
            ],
        ),
    )
    questions = await surveys.questions_of(session, survey.id)
    for person in people:
        answered_at = opens_at + timedelta(minutes=rng.randrange(int((closes_at - opens_at).total_seconds() // 60)))
        answers = {
            questions[0].id: [rng.choices(["1", "2"], [3, 2])[0]],
            questions[1].id: [rng.choices(["1", "2", "3"], [2, 2, 3])[0]],
        }
        response = await surveys.submit_response(session, survey, person, answers, answered_at)
        response.submitted_at = answered_at
