"""Demo participation: two processes as a city runs them — "Embellir nos quartiers", open for proposals and
debate in a few quartiers of the east of Paris, and a city-wide participatory budget in its voting phase
(the budget itself is filled by the budgeting module) — with hundreds of proposals written in French or
English by the generated residents, placed in their quartier, supports, and the city's answers.

Deterministic from the seed; written with bulk inserts so that it takes a second or two."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.participation import service as participation
from citoyen.participation.models import (
    Milestone,
    PhaseKind,
    Process,
    ProposalAnswer,
    ProposalFollow,
    ProposalStatus,
    Support,
    SupportCount,
)
from citoyen.participation.models import Proposal as ProposalRow
from citoyen.people.models import Person, Role
from citoyen.territory import service as territory

BATCH = 2000
# Quartiers (INSEE codes) of the neighbourhood process: Folie-Méricourt, Saint-Ambroise, Roquette,
# Sainte-Marguerite (11e), Combat, Amérique (19e), Belleville, Père-Lachaise (20e).
NEIGHBOURHOOD_PROCESS_QUARTIERS = (
    "7511101",
    "7511102",
    "7511103",
    "7511104",
    "7511904",
    "7511903",
    "7512001",
    "7512003",
)


@dataclass(frozen=True)
class Idea:
    """A proposal idea in both languages; `{q}` is the quartier's name."""

    category: str
    title_fr: str
    title_en: str
    body_fr: str
    body_en: str


IDEAS = [
    Idea(
        "Nature en ville",
        "Végétaliser la cour de l'école du quartier {q}",
        "Green the schoolyard in {q}",
        "La cour est entièrement goudronnée et devient une fournaise en juin. Remplacer une partie du bitume par de "
        "la pleine terre, planter des arbres et installer des bancs à l'ombre.",
        "The yard is fully tarmacked and becomes an oven in June. Replace part of the asphalt with soil, plant trees "
        "and put benches in the shade.",
    ),
    Idea(
        "Nature en ville",
        "Un jardin partagé sur la friche du quartier {q}",
        "A community garden on the vacant lot in {q}",
        "La parcelle clôturée est inutilisée depuis des années. Les voisins sont prêts à s'organiser en association "
        "pour cultiver des potagers et accueillir les écoles le mercredi.",
        "The fenced plot has been unused for years. Neighbours are ready to form an association to grow vegetables "
        "and welcome schools on Wednesdays.",
    ),
    Idea(
        "Nature en ville",
        "Planter des arbres d'alignement dans la rue principale du quartier {q}",
        "Plant street trees along the main street of {q}",
        "Il n'y a pas un arbre sur 400 mètres. Des fosses de plantation continues entre les places de stationnement "
        "rafraîchiraient la rue et absorberaient l'eau de pluie.",
        "There is not a single tree for 400 metres. Continuous tree pits between parking spaces would cool the "
        "street and soak up rainwater.",
    ),
    Idea(
        "Nature en ville",
        "Des pieds d'arbres fleuris entretenus par les habitants dans le quartier {q}",
        "Flowering tree pits looked after by residents in {q}",
        "Proposer un permis de végétaliser simplifié et fournir terre et graines aux habitants volontaires.",
        "Offer a simple greening permit and give soil and seeds to residents who volunteer.",
    ),
    Idea(
        "Mobilité",
        "Une rue scolaire devant l'école élémentaire du quartier {q}",
        "A school street in front of the primary school in {q}",
        "Fermer la rue aux voitures aux heures d'entrée et de sortie des classes, avec des barrières amovibles, pour "
        "que les enfants arrivent à pied ou à vélo en sécurité.",
        "Close the street to cars when classes start and end, with movable barriers, so that children can walk or "
        "cycle safely.",
    ),
    Idea(
        "Mobilité",
        "Une piste cyclable protégée pour traverser le quartier {q}",
        "A protected cycle lane across {q}",
        "Les cyclistes partagent la chaussée avec les bus et les livraisons. Une piste séparée par une bordure "
        "relierait les deux pistes existantes.",
        "Cyclists share the road with buses and deliveries. A kerb-separated lane would link the two existing lanes.",
    ),
    Idea(
        "Mobilité",
        "Plus d'arceaux vélos près du métro dans le quartier {q}",
        "More bike racks near the metro in {q}",
        "Les vélos sont attachés aux grilles et aux arbres faute de place. Transformer deux places de stationnement "
        "en vingt arceaux.",
        "Bikes are locked to railings and trees for lack of space. Turn two parking spaces into twenty racks.",
    ),
    Idea(
        "Mobilité",
        "Élargir les trottoirs de la rue commerçante du quartier {q}",
        "Widen the pavements of the shopping street in {q}",
        "Avec les terrasses et les poussettes, on marche sur la chaussée. Passer la rue à sens unique et donner la "
        "place gagnée aux piétons.",
        "With café terraces and prams, people walk in the road. Make the street one-way and give the space to "
        "pedestrians.",
    ),
    Idea(
        "Mobilité",
        "Un passage piéton surélevé au carrefour dangereux du quartier {q}",
        "A raised crossing at the dangerous junction in {q}",
        "Les voitures tournent vite et les personnes âgées peinent à traverser. Un plateau ralentisseur et un îlot "
        "central sécuriseraient la traversée.",
        "Cars turn fast and elderly people struggle to cross. A raised table and a central island would make it safe.",
    ),
    Idea(
        "Vivre ensemble",
        "Des bancs et des fontaines sur la place du quartier {q}",
        "Benches and drinking fountains on the square in {q}",
        "La place est minérale et sans assise. Des bancs avec dossier et une fontaine à boire permettraient aux "
        "anciens et aux familles de s'y arrêter.",
        "The square is all stone with nowhere to sit. Benches with backs and a drinking fountain would let elderly "
        "people and families stop there.",
    ),
    Idea(
        "Vivre ensemble",
        "Une boîte à livres près de la bibliothèque du quartier {q}",
        "A book box near the library in {q}",
        "Installer une armoire à livres en libre service, fabriquée par l'atelier de menuiserie du centre social.",
        "Put up a free book exchange cabinet, built by the social centre's woodwork workshop.",
    ),
    Idea(
        "Vivre ensemble",
        "Des toilettes publiques ouvertes la nuit dans le quartier {q}",
        "Public toilets open at night in {q}",
        "Les sanisettes ferment à 22 h alors que le quartier vit tard. Les garder ouvertes et propres toute la nuit.",
        "The public toilets close at 10 pm while the area stays lively late. Keep them open and clean all night.",
    ),
    Idea(
        "Vivre ensemble",
        "Un terrain multisports rénové pour les jeunes du quartier {q}",
        "A renovated multi-sport pitch for the young people of {q}",
        "Le revêtement est troué et les paniers sont cassés. Rénover le terrain et l'éclairer jusqu'à 22 h.",
        "The surface is full of holes and the hoops are broken. Renovate the pitch and light it until 10 pm.",
    ),
    Idea(
        "Propreté",
        "Plus de poubelles de tri sur le marché du quartier {q}",
        "More recycling bins at the market in {q}",
        "Après le marché, les déchets s'envolent partout. Ajouter des corbeilles de tri et un point de collecte des "
        "biodéchets.",
        "After the market, litter blows everywhere. Add sorting bins and a food-waste collection point.",
    ),
    Idea(
        "Propreté",
        "Un composteur collectif dans le square du quartier {q}",
        "A shared compost bin in the garden square of {q}",
        "Beaucoup d'habitants n'ont pas de bac à biodéchets. Un composteur géré par des maîtres-composteurs "
        "bénévoles réduirait les ordures.",
        "Many residents have no food-waste bin. A composter run by volunteer compost masters would cut rubbish.",
    ),
]
CONTEXT_FR = [
    "Nous sommes plusieurs parents à le demander depuis la rentrée.",
    "Le conseil de quartier en a déjà parlé sans suite.",
    "J'habite ici depuis quinze ans et la situation empire.",
    "Les commerçants de la rue y sont favorables.",
    "Cela profiterait aussi aux personnes à mobilité réduite.",
    "Une pétition a déjà recueilli de nombreuses signatures.",
]
CONTEXT_EN = [
    "Several of us parents have been asking for this since the start of the school year.",
    "The neighbourhood council discussed it without follow-up.",
    "I have lived here for fifteen years and it keeps getting worse.",
    "The shopkeepers of the street are in favour.",
    "People with reduced mobility would benefit too.",
    "A petition has already gathered many signatures.",
]
REJECTIONS = [
    "La rue est trop étroite pour respecter les règles d'accessibilité des services de secours.",
    "Ce projet relève de la Région et non de la Ville\u202f; nous l'avons transmis à ses services.",
    "Un aménagement équivalent est déjà programmé dans le plan vélo 2026-2030.",
    "Le coût estimé dépasse largement l'enveloppe de ce budget participatif.",
]
ACCEPTANCES = [
    "Les services techniques ont validé la faisabilité\u202f; les travaux seront programmés cette année.",
    "Très bonne idée\u00a0: elle sera réalisée avec le conseil de quartier.",
    "Projet retenu après étude\u202f; une réunion publique présentera le calendrier.",
]
MILESTONES = [
    ("Étude de faisabilité terminée", 25),
    ("Concertation avec les riverains", 50),
    ("Travaux commencés", 75),
    ("Travaux terminés", 100),
]


def _point_inside(rng: random.Random, geometry: BaseGeometry) -> tuple[float, float]:
    min_x, min_y, max_x, max_y = geometry.bounds
    for _ in range(100):
        x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        if geometry.contains(Point(x, y)):
            return x, y
    point = geometry.representative_point()
    return point.x, point.y


async def _process(
    session: AsyncSession,
    slug: str,
    title: str,
    title_en: str,
    description: str,
    description_en: str,
    start: datetime,
    end: datetime,
    phases: list[participation.PhaseInput],
    **options: Any,
) -> Process:
    categories = [
        participation.CategoryInput("Nature en ville", "Nature in the city"),
        participation.CategoryInput("Mobilité", "Mobility"),
        participation.CategoryInput("Vivre ensemble", "Living together"),
        participation.CategoryInput("Propreté", "Cleanliness"),
    ]
    return await participation.save_process(
        session,
        participation.ProcessInput(
            slug=slug,
            title=title,
            title_en=title_en,
            description=description,
            description_en=description_en,
            starts_at=start,
            ends_at=end,
            categories=categories,
            phases=phases,
            **options,
        ),
    )


async def build_demo_participation(session: AsyncSession, settings: Settings, now: datetime) -> None:
    """The two demo processes with their proposals, supports, follows, answers and milestones."""
    rng = random.Random(settings.demo_seed + 7)
    day = timedelta(days=1)
    quartiers = await territory.list_neighbourhoods(session)
    by_code = {q.code: q for q in quartiers}
    local = [by_code[code] for code in NEIGHBOURHOOD_PROCESS_QUARTIERS if code in by_code] or quartiers[:6]

    neighbourhoods = await _process(
        session,
        "embellir-nos-quartiers",
        "Embellir nos quartiers de l'Est parisien",
        "Make our East Paris neighbourhoods better",
        "Vous habitez, travaillez ou étudiez dans ces quartiers\u202f? Proposez des idées pour les rues, les places et "
        "les espaces verts, soutenez celles des autres et débattez-en. Les propositions les plus soutenues reçoivent "
        "une réponse officielle de la Ville.",
        "Do you live, work or study in these neighbourhoods? Propose ideas for streets, squares and green spaces, "
        "support other people's and discuss them. The most supported proposals get an official answer from the city.",
        now - 40 * day,
        now + 150 * day,
        [
            participation.PhaseInput(
                PhaseKind.INFORMATION, now - 40 * day, now - 30 * day, "Information", "Information"
            ),
            participation.PhaseInput(
                PhaseKind.PROPOSALS,
                now - 30 * day,
                now + 20 * day,
                "Propositions et débat",
                "Proposals and debate",
                allows_proposals=True,
                allows_comments=True,
                allows_supports=True,
            ),
            participation.PhaseInput(
                PhaseKind.IMPLEMENTATION,
                now + 20 * day,
                now + 150 * day,
                "Réponses et réalisation",
                "Answers and delivery",
                allows_comments=True,
            ),
        ],
        whole_city=False,
        neighbourhood_ids=[q.id for q in local],
        support_threshold=40,
        edit_window_minutes=30,
    )
    budget = await _process(
        session,
        "budget-participatif",
        "Budget participatif de Paris",
        "Paris participatory budget",
        "Une part du budget d'investissement de la Ville est décidée par les habitants\u00a0: déposez des projets, la "
        "Ville étudie leur faisabilité, puis chacun vote pour ses projets préférés.",
        "Part of the city's investment budget is decided by residents: submit projects, the city checks that they "
        "are feasible, then everyone votes for their favourite projects.",
        now - 150 * day,
        now + 365 * day,
        [
            participation.PhaseInput(
                PhaseKind.PROPOSALS,
                now - 150 * day,
                now - 90 * day,
                "Dépôt des projets",
                "Submitting projects",
                allows_proposals=True,
                allows_comments=True,
            ),
            participation.PhaseInput(
                PhaseKind.DEBATE,
                now - 90 * day,
                now - 30 * day,
                "Étude et débat",
                "Review and debate",
                allows_comments=True,
                allows_supports=True,
            ),
            participation.PhaseInput(
                PhaseKind.VOTING, now - 30 * day, now + 15 * day, "Vote", "Voting", allows_votes=True
            ),
            participation.PhaseInput(
                PhaseKind.IMPLEMENTATION, now + 15 * day, now + 365 * day, "Réalisation", "Delivery"
            ),
        ],
        support_threshold=100,
        edit_window_minutes=60,
    )
    staff_id = (await session.execute(select(Person.id).where(Person.role == Role.STAFF).limit(1))).scalar()
    residents = list(
        (
            await session.execute(
                select(Person.id, Person.locale).where(Person.role == Role.CITIZEN, Person.password_hash.is_(None))
            )
        ).all()
    )
    if not residents:
        return
    geometries = {q.id: shape(q.geometry) for q in quartiers}
    await _proposals(
        session,
        rng,
        neighbourhoods,
        local,
        geometries,
        residents,
        staff_id,
        now - 30 * day,
        now,
        min(450, 30 + len(residents) // 6),
        answered=0.12,
        waiting=4,
    )
    await _proposals(
        session,
        rng,
        budget,
        quartiers,
        geometries,
        residents,
        staff_id,
        now - 150 * day,
        now - 90 * day,
        min(300, 20 + len(residents) // 10),
        answered=0.9,
    )


async def _proposals(
    session: AsyncSession,
    rng: random.Random,
    process: Process,
    places: list[Any],
    geometries: dict[int, BaseGeometry],
    residents: list[Any],
    staff_id: int | None,
    start: datetime,
    end: datetime,
    count: int,
    answered: float,
    waiting: int = 0,
) -> None:
    """`count` proposals with their supports and follows; the most supported `answered` share answered by the
    city, except the `waiting` proposals that passed the process's support threshold last."""
    categories = {c.name: c.id for c in await participation.categories_of(session, process.id)}
    span = (end - start).total_seconds()
    rows: list[dict[str, Any]] = []
    supporters: list[list[int]] = []
    for _ in range(count):
        idea = rng.choice(IDEAS)
        quartier = rng.choice(places)
        author_id, author_locale = rng.choice(residents)
        english = author_locale == "en"
        lon, lat = _point_inside(rng, geometries[quartier.id])
        cells = territory.h3_cells(lon, lat)
        context = rng.choice(CONTEXT_EN if english else CONTEXT_FR)
        created = start + timedelta(seconds=rng.uniform(0, span))
        # Popularity is very uneven (a few proposals gather most supports), as in real platforms.
        wanted = min(len(residents) - 1, int(rng.paretovariate(1.3) * 3) - 3)
        chosen = {rid for rid, _ in rng.sample(residents, max(0, wanted))} - {author_id}
        supporters.append(sorted(chosen))
        rows.append(
            {
                "process_id": process.id,
                "author_id": author_id,
                "category_id": categories.get(idea.category),
                "title": (idea.title_en if english else idea.title_fr).format(q=quartier.name),
                "body": (idea.body_en if english else idea.body_fr) + " " + context,
                "locale": "en" if english else "fr",
                "lon": lon,
                "lat": lat,
                "address": "",
                "neighbourhood_id": quartier.id,
                "h3_r6": cells[6],
                "h3_r8": cells[8],
                "h3_r10": cells[10],
                "status": ProposalStatus.PUBLISHED,
                "answer_required": False,
                "comment_count": 0,
                "created_at": created,
                "updated_at": created,
            }
        )
    threshold = process.support_threshold
    counts_drawn = sorted((len(supporting) for supporting in supporters), reverse=True)
    if threshold is not None and waiting and len(counts_drawn) > 2 * waiting and counts_drawn[2 * waiting] < threshold:
        # A smaller demo city (fewer residents) draws fewer supports: the threshold comes down to what a few
        # proposals reach, so the story of proposals past it still shows.
        threshold = process.support_threshold = max(2, counts_drawn[2 * waiting])
    for row, supporting in zip(rows, supporters, strict=True):
        row["answer_required"] = threshold is not None and len(supporting) >= threshold
    ids = list(
        (
            await session.execute(insert(ProposalRow).returning(ProposalRow.id, sort_by_parameter_order=True), rows)
        ).scalars()
    )
    supports = [
        {
            "proposal_id": pid,
            "person_id": person_id,
            "created_at": row["created_at"] + timedelta(hours=rng.uniform(1, 200)),
        }
        for pid, row, chosen in zip(ids, rows, supporters, strict=True)
        for person_id in chosen
    ]
    follows = [
        {"proposal_id": pid, "person_id": row["author_id"], "created_at": row["created_at"]}
        for pid, row in zip(ids, rows, strict=True)
    ]
    counts = [
        {"proposal_id": pid, "process_id": process.id, "support_count": len(supporting)}
        for pid, supporting in zip(ids, supporters, strict=True)
    ]
    for table, table_rows in ((Support, supports), (ProposalFollow, follows), (SupportCount, counts)):
        for first in range(0, len(table_rows), BATCH):
            await session.execute(insert(table), table_rows[first : first + BATCH])

    answers: list[dict[str, Any]] = []
    milestones: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    # The most supported proposals are answered first, as staff work through the queue; the `waiting` that
    # passed the threshold last still wait for their answer.
    ranked = sorted(zip(ids, rows, supporters, strict=True), key=lambda item: -len(item[2]))
    past = [item for item in ranked if threshold is not None and len(item[2]) >= threshold]
    unanswered = {
        item[0] for item in sorted(past, key=lambda item: item[1]["created_at"])[max(0, len(past) - waiting) :]
    }
    to_answer = [item for item in ranked if item[0] not in unanswered][: int(len(ranked) * answered)]
    statuses = rng.choices(
        [
            ProposalStatus.EVALUATING,
            ProposalStatus.ACCEPTED,
            ProposalStatus.REJECTED,
            ProposalStatus.IN_PROGRESS,
            ProposalStatus.DONE,
        ],
        weights=[3, 3, 3, 2, 1],
        k=len(to_answer),
    )
    if statuses and ProposalStatus.IN_PROGRESS not in statuses:
        statuses[0] = ProposalStatus.IN_PROGRESS  # at least one shows work under way, with its milestones
    for (pid, row, _), status in zip(to_answer, statuses, strict=True):
        text = {
            ProposalStatus.REJECTED: rng.choice(REJECTIONS),
            ProposalStatus.EVALUATING: "Nos services étudient la faisabilité de cette proposition.",
        }.get(status, rng.choice(ACCEPTANCES))
        answered_at = row["created_at"] + timedelta(days=rng.uniform(5, 25))
        steps = {ProposalStatus.IN_PROGRESS: rng.randint(1, 3), ProposalStatus.DONE: 4}.get(status, 0)
        progress = MILESTONES[steps - 1][1] if steps else None
        answers.append(
            {
                "proposal_id": pid,
                "status": status,
                "text": text,
                "progress": progress,
                "answered_by_id": staff_id,
                "created_at": answered_at,
            }
        )
        for number, (title, percent) in enumerate(MILESTONES[:steps], start=1):
            milestones.append(
                {
                    "proposal_id": pid,
                    "title": title,
                    "description": "",
                    "progress": percent,
                    "happened_on": answered_at + timedelta(days=20 * number),
                    "created_by_id": staff_id,
                    "created_at": answered_at + timedelta(days=20 * number),
                }
            )
        updates.append({"pid": pid, "status": status, "progress": progress, "answered_at": answered_at})
    if answers:
        await session.execute(insert(ProposalAnswer), answers)
    if milestones:
        await session.execute(insert(Milestone), milestones)
    for change in updates:
        proposal = await session.get(ProposalRow, change["pid"])
        assert proposal is not None
        proposal.status = change["status"]
        proposal.progress = change["progress"]
        proposal.answered_at = change["answered_at"]
        proposal.answer_required = False
    await session.flush()
