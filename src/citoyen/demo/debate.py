"""Demo debate: comments and replies on the demo proposals, in the language of whoever writes them, with
votes, for/against positions in the neighbourhood process, a few comments on the processes themselves,
some follows, and a few flagged comments waiting in the moderators' queue.

Deterministic from the seed; bulk inserts, level by level (replies need their parents' ids)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.participation.debate.models import Comment, CommentVote
from citoyen.participation.debate.service import set_alignment
from citoyen.participation.follows.models import Follow
from citoyen.participation.models import Process, Proposal
from citoyen.participation.moderation.models import Flag, ModerationCase
from citoyen.people.models import Person, Role

BATCH = 2000
ALIGNMENT_PROCESS = "embellir-nos-quartiers"

# (French, English) pairs, so a comment reads naturally in its writer's language.
COMMENTS = [
    (
        "Très bonne idée, je passe là tous les jours et c'est exactement ce qui manque.",
        "Great idea, I walk past there every day and this is exactly what is missing.",
    ),
    (
        "Je soutiens, mais il faudra penser à l'entretien\u00a0: qui s'en occupe une fois installé\u202f?",
        "I support it, but what about upkeep? Who looks after it once it is installed?",
    ),
    (
        "Attention au bruit le soir, les riverains du square se plaignent déjà.",
        "Mind the noise in the evening, people living around the square already complain.",
    ),
    (
        "Pourquoi pas, mais le budget serait mieux utilisé pour rénover l'école d'à côté.",
        "Why not, but the money would be better spent renovating the school next door.",
    ),
    (
        "Avec les enfants, on aurait enfin un endroit sûr pour s'arrêter sur le chemin de l'école.",
        "With the kids we would finally have a safe place to stop on the way to school.",
    ),
    (
        "Il existe déjà quelque chose de similaire rue voisine, et ça marche très bien.",
        "There is already something similar in the next street and it works really well.",
    ),
    (
        "Il faudrait consulter les commerçants avant, le stationnement des livraisons est compliqué ici.",
        "The shopkeepers should be consulted first, delivery parking is tricky here.",
    ),
    (
        "Oui\u202f! Et pourquoi ne pas l'étendre jusqu'au carrefour\u202f?",
        "Yes! And why not extend it to the crossroads?",
    ),
    (
        "Je suis plutôt contre\u00a0: cela réduirait encore la place pour les piétons.",
        "I'm rather against it: it would take even more space from pedestrians.",
    ),
    (
        "Les personnes âgées du quartier en ont vraiment besoin, merci pour cette proposition.",
        "Older people in the area really need this, thank you for the proposal.",
    ),
    (
        "Bonne idée sur le papier, mais l'endroit proposé est à l'ombre toute la journée.",
        "Good idea on paper, but the suggested spot is in the shade all day long.",
    ),
    (
        "Pourrait-on avoir une estimation du coût\u202f? Cela aiderait à se décider.",
        "Could we get a cost estimate? It would help people make up their minds.",
    ),
    (
        "Enfin une proposition concrète pour le quartier, j'espère qu'elle sera retenue.",
        "Finally a concrete proposal for the neighbourhood, I hope it gets chosen.",
    ),
    (
        "C'était déjà demandé en conseil de quartier il y a deux ans, sans suite.",
        "This was already asked for at the neighbourhood council two years ago, with no follow-up.",
    ),
]
REPLIES = [
    ("Tout à fait d'accord avec vous.", "I completely agree with you."),
    (
        "La Ville a un service dédié à l'entretien, c'est prévu dans ce type de projet.",
        "The city has a team for upkeep, it is part of this kind of project.",
    ),
    (
        "Je ne suis pas sûr\u00a0: on en a parlé avec les voisins et les avis sont partagés.",
        "I'm not so sure: we talked about it with the neighbours and opinions are divided.",
    ),
    ("Bonne remarque, on pourrait le proposer comme amendement.", "Good point, we could suggest it as an amendment."),
    (
        "Il y a une association du quartier qui pourrait s'en charger.",
        "There is a local association that could take care of it.",
    ),
    (
        "Le coût est indiqué dans la fiche du budget participatif, environ 30\u202f000\u00a0€.",
        "The cost is in the participatory budget sheet, about €30,000.",
    ),
    ("Justement, c'est le moment de relancer le sujet.", "Exactly, now is the time to bring it up again."),
    (
        "Je suis passé ce matin\u00a0: c'est vrai qu'il y a peu de soleil.",
        "I went by this morning: it's true there is little sun.",
    ),
]
PROCESS_COMMENTS = [
    (
        "Merci d'organiser cette consultation. "
        "Y aura-t-il une réunion publique pour présenter les projets retenus\u202f?",
        "Thank you for running this consultation. Will there be a public meeting to present the chosen projects?",
    ),
    (
        "Serait-il possible de prolonger le dépôt des propositions d'une semaine\u202f? "
        "Beaucoup de voisins l'ont découvert tard.",
        "Could the deadline for proposals be extended by a week? Many neighbours found out late.",
    ),
    (
        "Les réponses officielles arrivent-elles aussi pour les propositions peu soutenues\u202f?",
        "Do less supported proposals also get an official answer?",
    ),
]
# Comments that a moderator should look at: (French text, [(flag reason, details)...]).
FLAGGED = [
    (
        "Promo -50\u00a0% sur les trottinettes électriques, commandez vite sur notre site\u202f!!!",
        [("spam", ""), ("spam", "Publicité"), ("spam", ""), ("other", "Lien commercial")],
    ),
    (
        "Encore une idée de bobos qui ne vivent même pas ici, qu'ils retournent d'où ils viennent.",
        [("offensive", "Propos hostiles"), ("offensive", "")],
    ),
    ("Quelqu'un sait à quelle heure ferme la piscine le dimanche\u202f?", [("off_topic", "")]),
]


def _text(pair: tuple[str, str], locale: str) -> str:
    return pair[1] if locale == "en" else pair[0]


async def _insert_level(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    ids: list[int] = []
    for first in range(0, len(rows), BATCH):
        chunk = rows[first : first + BATCH]
        ids += list(
            (
                await session.execute(insert(Comment).returning(Comment.id, sort_by_parameter_order=True), chunk)
            ).scalars()
        )
    return ids


async def build_demo_debate(session: AsyncSession, settings: Settings, now: datetime) -> None:
    """Comments, replies, votes, follows and flags over the demo proposals."""
    rng = random.Random(settings.demo_seed + 11)
    residents = list(
        (
            await session.execute(
                select(Person.id, Person.locale).where(Person.role == Role.CITIZEN, Person.password_hash.is_(None))
            )
        ).all()
    )
    proposals = list((await session.execute(select(Proposal).order_by(Proposal.id))).scalars())
    processes = list((await session.execute(select(Process).order_by(Process.id))).scalars())
    if not residents or not proposals:
        return
    aligned = {p.id for p in processes if p.slug == ALIGNMENT_PROCESS}
    for process_id in aligned:
        await set_alignment(session, process_id, True)

    roots: list[dict[str, Any]] = []
    for proposal in proposals:
        # Most proposals get a few comments, a few get many (as on real platforms).
        for _ in range(min(40, int(rng.paretovariate(1.2)) - 1 + rng.randrange(3))):
            author_id, locale = rng.choice(residents)
            span = max(60.0, (now - proposal.created_at).total_seconds())
            roots.append(
                {
                    "process_id": proposal.process_id,
                    "proposal_id": proposal.id,
                    "author_id": author_id,
                    "body": _text(rng.choice(COMMENTS), locale),
                    "locale": locale,
                    "alignment": rng.choice((1, 1, 1, -1, 0)) if proposal.process_id in aligned else None,
                    "depth": 0,
                    "created_at": proposal.created_at + timedelta(seconds=rng.uniform(60, span)),
                }
            )
    for process in processes:
        for pair in PROCESS_COMMENTS:
            author_id, locale = rng.choice(residents)
            roots.append(
                {
                    "process_id": process.id,
                    "proposal_id": None,
                    "author_id": author_id,
                    "body": _text(pair, locale),
                    "locale": locale,
                    "alignment": None,
                    "depth": 0,
                    "created_at": process.starts_at + timedelta(days=rng.uniform(1, 10)),
                }
            )
    flagged_rows: list[tuple[int, list[tuple[str, str]]]] = []
    for text, flags in FLAGGED:
        proposal = rng.choice(proposals)
        flagged_rows.append((len(roots), flags))
        roots.append(
            {
                "process_id": proposal.process_id,
                "proposal_id": proposal.id,
                "author_id": rng.choice(residents)[0],
                "body": text,
                "alignment": None,
                "depth": 0,
                "created_at": now - timedelta(hours=rng.uniform(2, 48)),
            }
        )
    for row in roots:
        row.update(up_votes=0, down_votes=0, score=0, reply_count=0, hidden_reason="")
        row.setdefault("locale", "fr")  # the flagged ones are French
    root_ids = await _insert_level(session, roots)

    everything = list(zip(root_ids, roots, strict=True))
    parents = [(cid, row, cid) for cid, row in everything[: -len(FLAGGED)]]
    reply_counts: dict[int, int] = {}
    for depth in (1, 2):
        level: list[dict[str, Any]] = []
        for parent_id, parent, thread_id in parents:
            if rng.random() > (0.35 if depth == 1 else 0.25):
                continue
            for _ in range(rng.choice((1, 1, 2))):
                author_id, locale = rng.choice(residents)
                level.append(
                    {
                        "process_id": parent["process_id"],
                        "proposal_id": parent["proposal_id"],
                        "parent_id": parent_id,
                        "thread_id": thread_id,
                        "depth": depth,
                        "author_id": author_id,
                        "body": _text(rng.choice(REPLIES), locale),
                        "locale": locale,
                        "alignment": None,
                        "created_at": min(now, parent["created_at"] + timedelta(hours=rng.uniform(1, 72))),
                        "up_votes": 0,
                        "down_votes": 0,
                        "score": 0,
                        "reply_count": 0,
                        "hidden_reason": "",
                    }
                )
                reply_counts[thread_id] = reply_counts.get(thread_id, 0) + 1
        ids = await _insert_level(session, level) if level else []
        everything += list(zip(ids, level, strict=True))
        parents = [(cid, row, row["thread_id"]) for cid, row in zip(ids, level, strict=True)]

    votes: list[dict[str, Any]] = []
    tallies: dict[int, tuple[int, int]] = {}
    for comment_id, row in everything:
        count = min(len(residents) - 1, int(rng.paretovariate(1.5)) - 1 + rng.randrange(3))
        up = down = 0
        for voter_id, _locale in rng.sample(residents, count):
            if voter_id == row["author_id"]:
                continue
            value = 1 if rng.random() < 0.75 else -1
            up, down = up + (value == 1), down + (value == -1)
            votes.append(
                {"comment_id": comment_id, "person_id": voter_id, "value": value, "created_at": row["created_at"]}
            )
        if up or down:
            tallies[comment_id] = (up, down)
    for first in range(0, len(votes), BATCH):
        await session.execute(insert(CommentVote), votes[first : first + BATCH])
    for comment_id, (up, down) in tallies.items():
        await session.execute(
            update(Comment)
            .where(Comment.id == comment_id)
            .values(up_votes=up, down_votes=down, score=up - down, reply_count=reply_counts.get(comment_id, 0))
        )
    for thread_id, count in reply_counts.items():
        if thread_id not in tallies:
            await session.execute(update(Comment).where(Comment.id == thread_id).values(reply_count=count))
    per_proposal: dict[int, int] = {}
    for _comment_id, row in everything:
        if row["proposal_id"] is not None:
            per_proposal[row["proposal_id"]] = per_proposal.get(row["proposal_id"], 0) + 1
    for proposal_id, count in per_proposal.items():
        await session.execute(update(Proposal).where(Proposal.id == proposal_id).values(comment_count=count))

    # The moderators' queue: a few flagged comments, most flagged first.
    flag_rows: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    for index, flags in flagged_rows:
        comment_id, row = root_ids[index], roots[index]
        flaggers = [rid for rid, _ in rng.sample(residents, len(flags) + 1) if rid != row["author_id"]][: len(flags)]
        for person_id, (reason, details) in zip(flaggers, flags, strict=False):
            flag_rows.append(
                {
                    "target_kind": "comment",
                    "target_id": comment_id,
                    "person_id": person_id,
                    "reason": reason,
                    "details": details,
                    "created_at": row["created_at"] + timedelta(minutes=30),
                }
            )
        cases.append(
            {
                "target_kind": "comment",
                "target_id": comment_id,
                "status": "pending",
                "flag_count": len(flaggers),
                "last_flagged_at": row["created_at"] + timedelta(minutes=30),
                "public_reason": "",
            }
        )
    await session.execute(insert(Flag), flag_rows)
    await session.execute(insert(ModerationCase), cases)

    # Some residents follow a process or their neighbourhood; so does the demo citizen.
    follows: list[dict[str, Any]] = []
    neighbourhood_ids = sorted({p.neighbourhood_id for p in proposals if p.neighbourhood_id is not None})
    for person_id, _locale in rng.sample(residents, min(len(residents), 200)):
        follows.append({"person_id": person_id, "target_kind": "process", "target_id": rng.choice(processes).id})
        if neighbourhood_ids and rng.random() < 0.5:
            follows.append(
                {"person_id": person_id, "target_kind": "neighbourhood", "target_id": rng.choice(neighbourhood_ids)}
            )
    citizen = (
        await session.execute(select(Person.id).where(Person.role == Role.CITIZEN, Person.password_hash.is_not(None)))
    ).scalar()
    if citizen is not None:
        follows += [{"person_id": citizen, "target_kind": "process", "target_id": p.id} for p in processes]
    unique = {(row["person_id"], row["target_kind"], row["target_id"]): row for row in follows}
    for row in unique.values():
        row["created_at"] = now - timedelta(days=rng.uniform(1, 30))
    await session.execute(insert(Follow), list(unique.values()))
    await session.flush()
