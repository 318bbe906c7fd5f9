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
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

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
from citoyen.opinions import maps, tasks
from citoyen.opinions import service as opinions
from citoyen.opinions.models import OpinionVote, Participant
from citoyen.participation import service as participation

# Session 10's figures (the computation in a thread of the web process, red-dwarf's pandas pipeline, the page
# reading every point), measured under a load average of about 11, at 10,000 × 1,000 with 1,000,000 votes.
BEFORE = {
    "postgresql": {
        "full": "87 s",
        "read": "46 s (with storing)",
        "compute": "41 s (a thread)",
        "votes": "19",
        "page": "1,200 ms",
    },
}


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

        # Votes through the service: alone first (the reference), then while a full recomputation runs.
        counted = 0
        stop = False
        state = SimpleNamespace()  # the SQLite writers' turns, as the app's state keeps them

        async def voter(number: int, prefix: str) -> None:
            nonlocal counted
            token = f"bench-{prefix}-{number}"
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

        async def votes_per_second(prefix: str, during: Awaitable[Any]) -> tuple[float, Any]:
            nonlocal counted, stop
            counted, stop = 0, False
            voters = [asyncio.create_task(voter(n, prefix)) for n in range(args.voters)]
            began = time.perf_counter()
            outcome = await during
            stop = True
            await asyncio.gather(*voters)
            return counted / (time.perf_counter() - began), outcome

        voting_profile = cProfile.Profile() if args.profile else None
        if voting_profile is not None:
            voting_profile.enable()
        alone, _ = await votes_per_second("alone", asyncio.sleep(args.reference_seconds))
        if voting_profile is not None:
            voting_profile.disable()
            pstats.Stats(voting_profile, stream=sys.stderr).sort_stats("tottime").print_stats(30)
        async with tasks.worker_process() as executor:
            # The worker starts and imports its libraries once, with the app: not part of a recomputation.
            await asyncio.get_running_loop().run_in_executor(executor, tasks.warm_up)
            cpu = time.process_time()

            async def recomputation() -> list[float]:
                began = time.perf_counter()
                async with sessions() as session:
                    data = await maps.read_input(session, conversation_id)
                read = time.perf_counter()
                computed = await asyncio.get_running_loop().run_in_executor(executor, maps.compute, data)
                done = time.perf_counter()
                async with sessions() as session, sqlite_write_turn(state, session):
                    await maps.store(session, conversation_id, data, computed)
                    await session.commit()
                stored = time.perf_counter()
                return [stored - began, read - began, done - read, stored - done, computed.cpu_seconds]

            rate, (seconds, read, compute, store, cpu_seconds) = await votes_per_second("during", recomputation())
            web_cpu = time.process_time() - cpu
        before = BEFORE.get(backend, {})
        rows.append([backend, "full recomputation", f"{seconds:.1f} s", before.get("full", ""), "< 10 s"])
        rows.append([backend, "  reading the votes", f"{read:.1f} s", before.get("read", ""), ""])
        rows.append([backend, "  computing (worker process)", f"{compute:.1f} s", before.get("compute", ""), ""])
        rows.append([backend, "    its processor time", f"{cpu_seconds:.1f} s", "", ""])
        rows.append([backend, "  storing the map and points", f"{store:.1f} s", "", ""])
        rows.append([backend, "  web process CPU meanwhile", f"{web_cpu:.1f} s", "", ""])
        rows.append([backend, "votes/s, no recomputation", f"{alone:.0f}", "", ""])
        target = "≥ 1,000 (PostgreSQL)"
        rows.append([backend, "votes/s during the recomputation", f"{rate:.0f}", before.get("votes", ""), target])
        rows.append([backend, "  ratio to votes/s alone", f"{rate / alone:.2f}", "", ""])

        app = create_app(
            Settings(data_dir=Path(data_dir), database_url=url, secret_key="bench-" + "x" * 40), engine=engine
        )
        app.state.sessionmaker = sessions
        timings = []
        profile = cProfile.Profile() if args.profile else None
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            # FastAPI prepares each route on its first request: a served app has done so long before.
            for _ in range(3):
                await client.get(f"/participation/conversations/{conversation_id}/map")
            if profile is not None:
                profile.enable()
            for _ in range(args.pages):
                began = time.perf_counter()
                response = await client.get(f"/participation/conversations/{conversation_id}/map")
                timings.append(time.perf_counter() - began)
                assert response.status_code == 200
        if profile is not None:
            profile.disable()
            report = pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative")
            report.print_stats("citoyen|jinja|sqlalchemy", 45)
        p95 = statistics.quantiles(timings, n=20)[-1] * 1000
        rows.append([backend, "map page p95", f"{p95:.0f} ms", before.get("page", ""), "< 100 ms"])
        await engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1/bench_opinions")
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--statements", type=int, default=1_000)
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--voters", type=int, default=8)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--profile", action="store_true", help="print where the map pages' time goes (stderr)")
    parser.add_argument("--reference-seconds", type=float, default=5.0, help="votes alone, for the ratio")
    args = parser.parse_args()
    rows: list[list[str]] = []
    for backend in chosen_backends(args.backend):
        rows += asyncio.run(run(backend, args.pg_url, args))
    title = f"{args.participants:,} participants × {args.statements:,} statements, {args.votes:,} votes"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print_aligned(["backend", "figure", "measured", "before", "target"], rows, f"{title} (load average {load})")


if __name__ == "__main__":
    main()
