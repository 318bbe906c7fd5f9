"""The opinion map's figures (issue 18): a full recomputation of a conversation of 10,000 participants × 1,000
statements with 1,000,000 votes (target < 10 s), votes per second through the service while that recomputation
runs (target ≥ 1,000/s on PostgreSQL), and the map page's p95 (target < 100 ms).

    uv run python bench/opinions.py --backend postgresql --pg-url postgresql+asyncpg://postgres@127.0.0.1/bench_opinions
    uv run python bench/opinions.py --participants 2000 --statements 200 --votes 100000   # a quicker look

Votes are simulated (three opinion groups), inserted in bulk; the timed votes go through `opinions.vote`, one
transaction each, from `--voters` concurrent tasks."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
from databases import chosen_backends, fresh_database
from sqlalchemy import insert
from tables import print_aligned

from citoyen.app import build_event_hub, create_app
from citoyen.config import Settings
from citoyen.db import make_sessionmaker, sqlite_write_turn, utcnow
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_engine
from citoyen.opinions import service as opinions
from citoyen.opinions import tasks
from citoyen.opinions.models import OpinionVote, Participant
from citoyen.participation import service as participation


def simulated(participants: int, statements: int, votes: int, seed: int = 18) -> list[tuple[int, int, int]]:
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 3, participants)
    stances = rng.choice([-1, 1], size=(3, statements))
    pairs = np.unique(rng.integers(0, participants, votes * 2) * statements + rng.integers(0, statements, votes * 2))
    pairs = rng.permutation(pairs)[:votes]
    pids, tids = pairs // statements, pairs % statements
    values = stances[groups[pids], tids] * np.where(rng.random(len(pids)) < 0.85, 1, -1)
    return list(zip(pids.tolist(), tids.tolist(), values.tolist(), strict=True))


async def run(backend: str, pg_url: str, args: argparse.Namespace) -> list[list[str]]:
    rows: list[list[str]] = []
    async with fresh_database(backend, pg_url, "bench-opinions-") as (url, data_dir):
        engine = make_app_engine(url)
        await upgrade_engine(engine)
        sessions = make_sessionmaker(engine, build_event_hub())
        now = utcnow()
        async with sessions() as session:
            start = now.replace(year=now.year - 1)
            process = await participation.save_process(
                session,
                participation.ProcessInput(
                    slug="bench",
                    title="Banc d'essai",
                    description="",
                    starts_at=start,
                    ends_at=now.replace(year=now.year + 1),
                ),
            )
            conversation = await opinions.create_conversation(
                session,
                opinions.ConversationInput(
                    process_id=process.id,
                    question="Banc d'essai",
                    seeds=[f"Affirmation {n}" for n in range(args.statements)],
                    anonymous_allowed=True,
                ),
            )
            statement_ids = [s.id for s in await opinions.statements_of(session, conversation.id)]
            ids = (
                (
                    await session.execute(
                        insert(Participant).returning(Participant.id),
                        [{"conversation_id": conversation.id, "pid": pid} for pid in range(args.participants)],
                    )
                )
                .scalars()
                .all()
            )
            votes = simulated(args.participants, args.statements, args.votes)
            for begin in range(0, len(votes), 20_000):
                await session.execute(
                    insert(OpinionVote),
                    [
                        {
                            "participant_id": ids[pid],
                            "statement_id": statement_ids[tid],
                            "conversation_id": conversation.id,
                            "value": value,
                            "modified_at": now,
                        }
                        for pid, tid, value in votes[begin : begin + 20_000]
                    ],
                )
            await session.commit()
            conversation_id = conversation.id

        # Votes through the service while a full recomputation runs.
        counted = 0
        stop = False
        state = SimpleNamespace()  # the SQLite writers' turns, as the app's state keeps them

        async def voter(number: int) -> None:
            nonlocal counted
            token = f"bench-voter-{number}"
            position = number
            while not stop:
                async with sessions() as session, sqlite_write_turn(state, session):
                    found = await opinions.get_conversation(session, conversation_id)
                    await opinions.vote(
                        session,
                        found,
                        opinions.Voter(anonymous_token=token),
                        statement_ids[position % len(statement_ids)],
                        1,
                    )
                    await session.commit()
                counted += 1
                position += args.voters

        async def recomputation() -> float:
            began = time.perf_counter()
            await tasks.recompute_one(sessions, conversation_id, state)
            return time.perf_counter() - began

        voters = [asyncio.create_task(voter(n)) for n in range(args.voters)]
        began = time.perf_counter()
        seconds = await recomputation()
        stop = True
        await asyncio.gather(*voters)
        rate = counted / (time.perf_counter() - began)
        rows.append([backend, "full recomputation", f"{seconds:.1f} s", "< 10 s"])
        rows.append([backend, "votes/s during the recomputation", f"{rate:.0f}", "≥ 1,000 (PostgreSQL)"])

        app = create_app(
            Settings(data_dir=Path(data_dir), database_url=url, secret_key="bench-" + "x" * 40), engine=engine
        )
        app.state.sessionmaker = sessions
        timings = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for _ in range(args.pages):
                began = time.perf_counter()
                response = await client.get(f"/participation/conversations/{conversation_id}/map")
                timings.append(time.perf_counter() - began)
                assert response.status_code == 200
        p95 = statistics.quantiles(timings, n=20)[-1] * 1000
        rows.append([backend, "map page p95", f"{p95:.0f} ms", "< 100 ms"])
        await engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1/bench_opinions")
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--statements", type=int, default=1_000)
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--voters", type=int, default=8)
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    rows: list[list[str]] = []
    for backend in chosen_backends(args.backend):
        rows += asyncio.run(run(backend, args.pg_url, args))
    title = f"{args.participants:,} participants × {args.statements:,} statements, {args.votes:,} votes"
    print_aligned(["backend", "figure", "measured", "target"], rows, title)


if __name__ == "__main__":
    main()
