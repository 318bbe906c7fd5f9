"""Test data for the opinion map: a conversation in a process, and simulated opinion groups."""

from __future__ import annotations

import random

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opinions import service as opinions
from citoyen.opinions.models import Conversation
from tests.participation.helpers import create_process

SEEDS = [
    "Il faut plus de pistes cyclables.",
    "Les voitures doivent quitter le centre.",
    "Le marché doit rester place de la Mairie.",
    "Les arbres de la place doivent être protégés.",
    "Il faut un parking sous la place.",
    "Les terrasses des cafés doivent s'agrandir.",
    "La place doit accueillir des concerts.",
    "Il faut des bancs à l'ombre.",
]


async def create_conversation(session: AsyncSession, slug: str = "place-mairie", **flags: bool) -> Conversation:
    process = await create_process(session, slug=slug)
    return await opinions.create_conversation(
        session,
        opinions.ConversationInput(
            process_id=process.id,
            question=" Que faire de la place\nde la Mairie\u202f? ",
            question_en="What should we do with the town hall square?",
            seeds=SEEDS,
            **flags,
        ),
    )


def simulated_votes(
    participants: int, statements: int, groups: int, seed: int = 1, turnout: float = 0.7, loyalty: float = 0.88
) -> tuple[list[tuple[int, int, int]], dict[int, int]]:
    """Votes of participants drawn from `groups` opinion groups (each group's stance on each statement, followed
    with probability `loyalty`); a few statements every group agrees with. Returns (votes, true group of pid)."""
    rng = random.Random(seed)
    stances = [[rng.choice((-1, 1)) for _ in range(statements)] for _ in range(groups)]
    for stance in stances:
        stance[0] = 1  # everyone agrees with the first statement
    truth = {pid: pid % groups for pid in range(participants)}
    votes: list[tuple[int, int, int]] = []
    for pid, group in truth.items():
        for tid in range(statements):
            if rng.random() < turnout:
                side = stances[group][tid]
                value = side if rng.random() < loyalty else rng.choice((-side, 0))
                votes.append((pid, tid, value))
    return votes, truth
