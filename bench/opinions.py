"""The opinion map's figures (issue 18): a full recomputation of a conversation of 10,000 participants × 1,000
statements with 1,000,000 votes (target < 10 s), votes per second through the service while that recomputation
runs (target ≥ 1,000/s on PostgreSQL), and the map page's p95 (target < 100 ms).

    uv run python bench/opinions.py --backend postgresql --pg-url postgresql+asyncpg://postgres@127.0.0.1/bench_opinions
    uv run python bench/opinions.py --participants 2000 --statements 200 --votes 100000   # a quicker look

Votes are simulated (three opinion groups), inserted in bulk; the timed votes go through `opinions.vote`, one
transaction each, from `--voters` concurrent tasks. Turn by turn (`--slice-seconds`), the same voters vote the way
session 11's service did (`previous_vote`: the statement, the participant, then the upsert), so that the "before"
column is measured in the same run, under the same load (`--no-previous` leaves it out)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
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


async def previous_vote(
    session: AsyncSession, conversation: Any, voter: opinions.Voter, statement_id: int, value: int
) -> None:
    """A vote as session 11's service wrote it, for the comparison in the same run: the statement, then the
    participant, then the upsert (three statements where the service now sends one)."""
    statement = await opinions.visible_statement(session, conversation, statement_id)
    participant = await opinions.find_participant(session, conversation, voter)
    assert participant is not None  # each voter's first vote went the service's way
    dialect = session.get_bind().dialect.name
    insert_for = pg_insert if dialect == "postgresql" else sqlite_insert
    now = utcnow()
    upsert = insert_for(OpinionVote).values(
        participant_id=participant.id,
        statement_id=statement.id,
        conversation_id=statement.conversation_id,
        value=value,
        modified_at=now,
    )
    await session.execute(
        upsert.on_conflict_do_update(
            index_elements=["participant_id", "statement_id"], set_={"value": value, "modified_at": now}
        )
    )


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

        # Votes through the service: alone first (the reference), then while a full recomputation runs. Each
        # period alternates, slice by slice, session 11's statements (reproduced in `previous_vote`) and the
        # service's: both are measured under the same load, in the same run.
        counted = {"previous": 0, "current": 0}
        spent = {"previous": 0.0, "current": 0.0}
        mode = "current"
        stop = False
        state = SimpleNamespace()  # the SQLite writers' turns, as the app's state keeps them

        async def cast(token: str, position: int, way: str) -> None:
            async with sessions() as session, sqlite_write_turn(state, session):
                found = await opinions.get_conversation(session, conversation_id)
                statement_id = statement_ids[position % len(statement_ids)]
                if way == "previous":
                    await previous_vote(session, found, opinions.Voter(anonymous_token=token), statement_id, 1)
                else:
                    await opinions.vote(session, found, opinions.Voter(anonymous_token=token), statement_id, 1)
                await session.commit()

        async def voter(number: int, prefix: str) -> None:
            position = number + args.voters
            while not stop:
                way = mode
                await cast(f"bench-{prefix}-{number}", position, way)
                counted[way] += 1
                position += args.voters

        async def alternate(until: asyncio.Future[Any]) -> None:
            nonlocal mode
            while not until.done():
                began = time.perf_counter()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(until), args.slice_seconds)
                spent[mode] += time.perf_counter() - began
                if args.previous:
                    mode = "current" if mode == "previous" else "previous"

        async def votes_per_second(prefix: str, during: Awaitable[Any]) -> tuple[dict[str, float], Any]:
            nonlocal stop, mode
            for way in counted:
                counted[way], spent[way] = 0, 0.0
            stop, mode = False, "current"
            # Every voter's first vote makes its participant (the longer way): not part of the rate.
            await asyncio.gather(*(cast(f"bench-{prefix}-{n}", n, "current") for n in range(args.voters)))
            voters = [asyncio.create_task(voter(n, prefix)) for n in range(args.voters)]
            task = asyncio.ensure_future(during)
            await alternate(task)
            stop = True
            await asyncio.gather(*voters)
            rates = {way: counted[way] / spent[way] for way in counted if spent[way] > 0}
            return rates, task.result()

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
        target = "≥ 1,000 (PostgreSQL)"
        previous = f"{rate['previous']:.0f} (session 11's statements)" if "previous" in rate else ""
        previous_alone = f"{alone['previous']:.0f} (session 11's statements)" if "previous" in alone else ""
        rows.append([backend, "votes/s, no recomputation", f"{alone['current']:.0f}", previous_alone, ""])
        rows.append([backend, "votes/s during the recomputation", f"{rate['current']:.0f}", previous, target])
        rows.append([backend, "  ratio to votes/s alone", f"{rate['current'] / alone['current']:.2f}", "", ""])

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
    parser.add_argument("--reference-seconds", type=float, default=10.0, help="votes alone, for the ratio")
    parser.add_argument("--slice-seconds", type=float, default=1.0, help="how long each way votes in its turn")
    parser.add_argument(
        "--no-previous",
        dest="previous",
        action="store_false",
        help="the service's votes only (no turns of session 11's statements beside them)",
    )
    args = parser.parse_args()
    rows: list[list[str]] = []
    for backend in chosen_backends(args.backend):
        rows += asyncio.run(run(backend, args.pg_url, args))
    title = f"{args.participants:,} participants × {args.statements:,} statements, {args.votes:,} votes"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print_aligned(["backend", "figure", "measured", "before", "target"], rows, f"{title} (load average {load})")


if __name__ == "__main__":
    main()
