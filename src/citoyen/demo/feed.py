"""The demo's neighbourhood feeds: residents' posts (bilingual seeded text, labelled simulated) with replies in a
few quartiers, their authors living there, and in every quartier the latest reports and proposals with their
answers, when the demo has them (a few thousand rows, written in one statement)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.demo.common import DEMO_DOMAIN
from citoyen.feed import service as feed
from citoyen.feed.models import Home, Post, PostKind, Reply
from citoyen.people.models import Person
from citoyen.territory import service as territory

# (kind, French title, English title, French text, English text, days from now for an event, place)
POSTS: tuple[tuple[PostKind, str, str, str, str, int | None, str], ...] = (
    (
        PostKind.EVENT,
        "Vide-grenier de la rue",
        "Street flea market",
        "Une trentaine de stands de voisins, venez chiner ou vendre ; inscription gratuite.",
        "About thirty stands run by neighbours: come and browse or sell; free registration.",
        9,
        "Rue de la Roquette, entre les n° 20 et 60",
    ),
    (
        PostKind.QUESTION,
        "Un bon cordonnier dans le coin\u202f?",
        "A good cobbler nearby?",
        "Mes bottines ont besoin d'un ressemelage, des adresses à conseiller\u202f?",
        "My boots need resoling: any address to recommend?",
        None,
        "",
    ),
    (
        PostKind.LOST_FOUND,
        "Trousseau de clés trouvé square Maurice-Gardette",
        "Keys found in Maurice-Gardette square",
        "Trois clés et un porte-clés en forme de vélo, déposées à la boulangerie d'en face.",
        "Three keys on a bicycle key ring, left at the bakery across the street.",
        None,
        "",
    ),
    (
        PostKind.MUTUAL_HELP,
        "Courses pour une voisine âgée",
        "Shopping for an elderly neighbour",
        "Notre voisine du 4e cherche quelqu'un pour ses courses du samedi matin, une heure par semaine.",
        "Our neighbour on the 4th floor is looking for someone to do her Saturday morning shopping, an hour a week.",
        None,
        "",
    ),
    (
        PostKind.ANNOUNCEMENT,
        "Fermeture de la piscine pour travaux",
        "Swimming pool closed for works",
        "Affiché à l'entrée\u00a0: la piscine ferme trois semaines pour la vidange annuelle.",
        "Posted at the entrance: the pool closes for three weeks for its yearly draining.",
        None,
        "",
    ),
    (
        PostKind.EVENT,
        "Atelier de réparation de vélos",
        "Bike repair workshop",
        "Apportez votre vélo, des bénévoles vous aident à le réparer. Outils fournis.",
        "Bring your bike, volunteers help you fix it. Tools provided.",
        4,
        "Maison des associations, 8 rue du Général-Renault",
    ),
    (
        PostKind.EVENT,
        "Pique-nique partagé au jardin",
        "Shared picnic in the garden",
        "Chacun apporte un plat, on fournit les nappes et la musique.",
        "Everyone brings a dish; tablecloths and music are on us.",
        16,
        "Jardin partagé de la rue Saint-Maur",
    ),
    (
        PostKind.QUESTION,
        "Qui connaît les horaires de la déchetterie mobile\u202f?",
        "Who knows when the mobile recycling centre comes?",
        "Je voudrais déposer un vieux four, quelqu'un sait quand elle passe\u202f?",
        "I would like to drop off an old oven: does anyone know when it comes by?",
        None,
        "",
    ),
)
REPLIES = (
    ("Rue Oberkampf, au 12\u00a0: travail soigné.", "Rue Oberkampf, number 12: careful work."),
    ("Merci pour l'info\u202f!", "Thanks for letting us know!"),
    ("Je peux aider le samedi, je vous écris.", "I can help on Saturdays, I'll write to you."),
)
QUARTIERS = 3
HISTORY_PER_QUARTIER = 12


async def build_demo_feed(session: AsyncSession, now: datetime, rng: random.Random) -> None:
    """Posts in the first few quartiers (simulated), each with its feed item; a few replies."""
    neighbourhoods = sorted(await territory.list_neighbourhoods(session), key=lambda n: n.id)[:QUARTIERS]
    residents = list(
        (
            await session.execute(
                select(Person.id).where(Person.email.like(f"resident%@{DEMO_DOMAIN}")).order_by(Person.id).limit(40)
            )
        ).scalars()
    )
    if not neighbourhoods or not residents:
        return
    homes: dict[int, int] = {}
    for number, (kind, title, title_en, body, body_en, in_days, place) in enumerate(POSTS):
        neighbourhood = neighbourhoods[number % len(neighbourhoods)]
        author = residents[number % len(residents)]
        homes.setdefault(author, neighbourhood.id)
        created = now - timedelta(days=len(POSTS) - number, minutes=rng.randrange(600))
        starts = (
            (now + timedelta(days=in_days)).replace(hour=16, minute=0, second=0, microsecond=0) if in_days else None
        )
        post = Post(
            neighbourhood_id=homes[author],
            author_id=author,
            kind=kind.value,
            title=title,
            title_en=title_en,
            body=body,
            body_en=body_en,
            starts_at=starts,
            ends_at=starts + timedelta(hours=3) if starts else None,
            place=place,
            created_at=created,
            simulated=True,
        )
        session.add(post)
        await session.flush()
        await feed.add_post_item(session, post)
        if kind in (PostKind.QUESTION, PostKind.MUTUAL_HELP, PostKind.ANNOUNCEMENT):
            french, _english = REPLIES[number % len(REPLIES)]
            replier = residents[(number + 7) % len(residents)]
            homes.setdefault(replier, post.neighbourhood_id)
            session.add(Reply(post_id=post.id, author_id=replier, body=french, created_at=created + timedelta(hours=2)))
    # The demo's reports and proposals went in without events: the latest of every quartier enter its feed, with
    # their answers, as filing, proposing and answering would have done.
    await feed.write_history(session, HISTORY_PER_QUARTIER, simulated=True)
    await session.execute(
        insert(Home),
        [{"person_id": person, "neighbourhood_id": place, "declared_at": now} for person, place in homes.items()],
    )
    await session.flush()
