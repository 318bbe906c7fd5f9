"""Demo opinion map: a conversation in the neighbourhood process on the future of the Place de la République, with
300 simulated participants (no accounts; the conversation says its votes are simulated) in three opinion groups —
those who want the square for walking and greenery, those who want it for traffic and parking, those who want it
for events and commerce — and statements everyone agrees with. The map is computed once the votes are in.

Deterministic from the seed; bulk inserts."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opinions import service as opinions
from citoyen.opinions.models import OpinionVote, Participant, Statement
from citoyen.participation import service as participation

PROCESS = "embellir-nos-quartiers"
PARTICIPANTS = 300
SEED = 18
# (statement, stance of the groups: greenery, traffic, events); 0 = the group is split.
STATEMENTS = [
    ("Il faut planter davantage d'arbres sur la place.", (1, 0, 1)),
    ("La place doit rester accessible aux voitures.", (-1, 1, -1)),
    ("Il faut créer un parking souterrain sous la place.", (-1, 1, 0)),
    ("Les pistes cyclables autour de la place doivent être élargies.", (1, -1, 0)),
    ("La place doit accueillir plus de concerts et de marchés.", (-1, 0, 1)),
    ("Les terrasses des cafés doivent pouvoir s'étendre sur la place.", (-1, 0, 1)),
    ("Le bruit le soir est déjà trop important.", (1, 1, -1)),
    ("Il faut plus de bancs et de zones d'ombre.", (1, 1, 1)),
    ("Les fontaines à boire doivent être remises en service.", (1, 1, 1)),
    ("Les livraisons doivent pouvoir se faire sur la place le matin.", (-1, 1, 1)),
    ("Il faut interdire les trottinettes en libre-service sur la place.", (1, 1, -1)),
    ("La place doit être mieux éclairée la nuit.", (1, 1, 1)),
    ("Il faut réduire la vitesse à 20 km/h autour de la place.", (1, -1, 0)),
    ("Un grand écran pour les événements sportifs serait une bonne idée.", (-1, 0, 1)),
    ("Les habitants doivent être consultés avant chaque grand événement.", (1, 0, -1)),
    ("Il faut des toilettes publiques gratuites sur la place.", (1, 1, 1)),
    ("Les places de stationnement supprimées doivent être compensées ailleurs.", (-1, 1, 0)),
    ("Un potager partagé aurait sa place dans un coin de la place.", (1, -1, -1)),
]
LOYALTY = 0.85
TURNOUT = 0.75


async def build_demo_opinions(session: AsyncSession, now: datetime) -> None:
    rng = random.Random(SEED)
    process = await participation.get_process_by_slug(session, PROCESS, include_unpublished=True)
    conversation = await opinions.create_conversation(
        session,
        opinions.ConversationInput(
            process_id=process.id,
            question="Quel avenir pour la place de la République\u202f?",
            question_en="What future for the Place de la République?",
            seeds=[text for text, _ in STATEMENTS],
            anonymous_allowed=True,
            simulated=True,
        ),
    )
    statements = await opinions.statements_of(session, conversation.id)
    participants = (
        (
            await session.execute(
                insert(Participant).returning(Participant.id),
                [
                    {"conversation_id": conversation.id, "pid": pid, "created_at": now - timedelta(days=9)}
                    for pid in range(PARTICIPANTS)
                ],
            )
        )
        .scalars()
        .all()
    )
    votes = []
    for participant_id in participants:
        group = rng.choices((0, 1, 2), weights=(5, 3, 2))[0]
        for statement, (_, stances) in zip(statements, STATEMENTS, strict=True):
            if rng.random() > TURNOUT:
                continue
            stance = stances[group] or rng.choice((1, -1))
            value = stance if rng.random() < LOYALTY else rng.choice((-stance, 0))
            votes.append(
                {
                    "participant_id": participant_id,
                    "statement_id": statement.id,
                    "conversation_id": conversation.id,
                    "value": value,
                    "modified_at": now - timedelta(days=8, minutes=rng.randrange(8 * 24 * 60)),
                }
            )
    await session.execute(insert(OpinionVote), votes)
    # A participant's statement, published after the seeds (moderation after publication).
    session.add(
        Statement(
            conversation_id=conversation.id,
            tid=len(statements),
            body="Il faudrait un jeu d'eau pour les enfants l'été.",
            author_id=participants[7],
        )
    )
    await session.flush()
    await opinions.recompute(session, conversation.id)
