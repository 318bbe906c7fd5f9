"""The opinion map's figures (issue 18): a full recomputation of a conversation of 10,000 participants × 1,000
statements with 1,000,000 votes (target < 10 s), votes per second through the real server while that recomputation
runs (target ≥ 1,000/s on PostgreSQL), and the map page's p95 (target < 100 ms).

    uv run python bench/opinions.py --backend postgresql --pg-url postgresql+asyncpg://postgres@127.0.0.1/bench_opinions
    uv run python bench/opinions.py --participants 2000 --statements 200 --votes 100000   # a quicker look
    uv run python bench/opinions.py --backend postgresql --baseline 7d352a0   # that commit's server beside this one

Votes are simulated (three opinion groups), inserted in bulk, and the map computed once. Then the real app under
uvicorn (`--workers`, 2 on PostgreSQL as the other HTTP benches, 1 on SQLite) takes votes from `--clients` (16)
closed-loop anonymous clients (`--signed-in`: each logged in to an account of its own), each voting through the
form (`POST …/votes`, answered 303) as a browser without JavaScript does: for `--reference-seconds` alone, then
while the bench recomputes the map in its worker process (at most `--during-seconds` of it). The servers' own
background loops are kept from recomputing meanwhile (the map's last vote is set ahead), so that the one
recomputation is the bench's. With `--baseline REF`, the server of that commit's `src/` takes the same turns beside
this one's (alone: one then the other; during: a recomputation each), so that before and after are measured in the
same run, under the same load."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import math
import os
import pstats
import re
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
from loadgen import Client, HttpError, baseline_code, serve
from sklearn.metrics import adjusted_rand_score
from sqlalchemy import insert, select, update
from tables import print_aligned

from citoyen.app import build_event_hub, create_app
from citoyen.config import Settings
from citoyen.db import make_sessionmaker, sqlite_write_turn, utcnow
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_engine
from citoyen.opinions import maps, tasks
from citoyen.opinions import service as opinions
from citoyen.opinions.models import MapPoint, OpinionMap, OpinionVote, Participant
from citoyen.participation import service as participation
from citoyen.people import service as people

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


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BENCH_PASSWORD = "banc-d-essai-avis-citoyens"


def voter_email(index: int) -> str:
    return f"votant{index}@bench.example.org"


def planted_groups(participants: int, seed: int = 18) -> np.ndarray:
    """The opinion group `simulated` draws each participant from (its first draw, with the same seed)."""
    return np.random.default_rng(seed).integers(0, 3, participants)


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
            for index in range(args.clients if args.signed_in else 0):
                await people.create_person(session, voter_email(index), BENCH_PASSWORD, f"Votant {index}")
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

        async def hold_map() -> None:
            """The servers' background loops recompute a map whose votes are newer than it: its last vote set
            ahead, they leave it to the bench."""
            async with sessions() as session, sqlite_write_turn(state, session):
                await session.execute(
                    update(OpinionMap)
                    .where(OpinionMap.conversation_id == conversation_id)
                    .values(last_vote_at=now.replace(year=now.year + 50))
                )
                await session.commit()

        async def http_votes(base_url: str, prefix: str, during: Awaitable[Any], cap: float) -> tuple[float, Any]:
            """Votes per second from `args.clients` closed-loop clients while `during` runs (at most `cap`
            seconds of it); then `during`'s result, once it is done."""
            ready = asyncio.Event()
            joined: list[int] = []
            window = {"from": math.inf, "end": math.inf}
            counted = [0]
            failures: list[str] = []

            async def one(index: int) -> None:
                client = Client(base_url)
                try:
                    if args.signed_in:
                        page = await client.get("/login")
                        token = CSRF.search(page.text)
                        assert token, f"no CSRF token on /login ({page.status})"
                        login = {"email": voter_email(index), "password": BENCH_PASSWORD, "csrf_token": token.group(1)}
                        answer = await client.post("/login", login)
                        assert answer.status == 303, f"login: {answer.status} {answer.text[:300]}"
                    page = await client.get(f"/participation/conversations/{conversation_id}")
                    token = CSRF.search(page.text)
                    assert token, f"no CSRF token on the voting page ({page.status})"
                    form = {"csrf_token": token.group(1), "vote": "agree"}
                    # The first vote makes the participant (the longer way): not part of the rate.
                    first = await client.post(
                        f"/participation/conversations/{conversation_id}/votes",
                        form | {"statement_id": str(statement_ids[index % len(statement_ids)])},
                    )
                    assert first.status == 303, f"first vote: {first.status} {first.text[:300]}"
                    # Reconnect, staggered, so that the measured connections spread over the workers.
                    await client.close()
                    joined.append(index)
                    if len(joined) == args.clients:
                        ready.set()
                    await ready.wait()
                    await asyncio.sleep(index * 0.01)
                    position = index + args.clients
                    while (moment := time.perf_counter()) < window["end"]:
                        statement_id = statement_ids[position % len(statement_ids)]
                        position += args.clients
                        try:
                            answer = await client.post(
                                f"/participation/conversations/{conversation_id}/votes",
                                form | {"statement_id": str(statement_id)},
                            )
                            problem = "" if answer.status == 303 else f"HTTP {answer.status}"
                        except HttpError as error:
                            problem = str(error)[:200]
                        if problem:
                            failures.append(problem)
                        elif moment >= window["from"] and time.perf_counter() < window["end"]:
                            counted[0] += 1
                finally:
                    await client.close()

            clients = [asyncio.create_task(one(index)) for index in range(args.clients)]
            await ready.wait()
            await asyncio.sleep(1.0)  # every client's connection open again
            window["from"] = began = time.perf_counter()
            task = asyncio.ensure_future(during)
            window["end"] = began + cap
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), cap)
            window["end"] = ended = min(time.perf_counter(), window["end"])
            await asyncio.gather(*clients)
            if failures:
                print(f"  {prefix}: {len(failures)} votes refused or failed, first: {failures[0]}", file=sys.stderr)
            return counted[0] / (ended - began), await task

        state = SimpleNamespace()  # the SQLite writers' turns, as the app's state keeps them
        workers = args.workers or (2 if backend == "postgresql" else 1)
        codes: list[tuple[str, dict[str, str]]] = []
        if args.baseline:
            codes.append((f"before ({args.baseline})", baseline_code(args.baseline, Path(data_dir))))
        codes.append(("this code" if args.baseline else "", {}))
        async with tasks.worker_process() as executor:
            # The worker starts and imports its libraries once, with the app: not part of a recomputation.
            await asyncio.get_running_loop().run_in_executor(executor, tasks.warm_up)
            first = await recomputation()
            # How faithfully the map finds the three groups the votes were drawn from: the adjusted Rand index of
            # its groups against the planted ones, over the participants it put in a group.
            async with sessions() as session:
                rows_found = (
                    await session.execute(
                        select(MapPoint.pid, MapPoint.group_id).where(
                            MapPoint.conversation_id == conversation_id, MapPoint.group_id >= 0
                        )
                    )
                ).all()
            found_pids = np.array([row[0] for row in rows_found], dtype=np.int64)
            found_groups = np.array([row[1] for row in rows_found], dtype=np.int64)
            planted = planted_groups(args.participants)[found_pids]
            agreement = adjusted_rand_score(planted, found_groups) if len(found_pids) else float("nan")
            await hold_map()
            alone: dict[str, float] = {}
            during: dict[str, float] = {}
            measured: list[float] = first
            with contextlib.ExitStack() as servers:
                served = [
                    (label, servers.enter_context(serve(url, Path(data_dir) / f"server-{n}", workers, env)))
                    for n, (label, env) in enumerate(codes)
                ]
                for label, server in served:
                    await hold_map()
                    alone[label], _ = await http_votes(
                        server.base_url, f"{label} alone", asyncio.sleep(args.reference_seconds), math.inf
                    )
                for label, server in served:
                    await hold_map()
                    cpu = time.process_time()
                    during[label], measured = await http_votes(
                        server.base_url, f"{label} during", recomputation(), args.during_seconds
                    )
                    web_cpu = time.process_time() - cpu
        seconds, read, compute, store, cpu_seconds = measured
        before = BEFORE.get(backend, {})
        rows.append([backend, "first recomputation (nothing else)", f"{first[0]:.1f} s", "", "< 10 s"])
        clustered = (
            f"{len(found_pids):,} of {args.participants:,} participants in {len(set(found_groups.tolist()))} groups"
        )
        rows.append([backend, f"  groups vs the 3 planted (ARI; {clustered})", f"{agreement:.3f}", "", ""])
        rows.append([backend, "full recomputation during votes", f"{seconds:.1f} s", before.get("full", ""), "< 10 s"])
        rows.append([backend, "  reading the votes", f"{read:.1f} s", before.get("read", ""), ""])
        rows.append([backend, "  computing (worker process)", f"{compute:.1f} s", before.get("compute", ""), ""])
        rows.append([backend, "    its processor time", f"{cpu_seconds:.1f} s", "", ""])
        rows.append([backend, "  storing the map and points", f"{store:.1f} s", "", ""])
        rows.append([backend, "  bench process CPU meanwhile", f"{web_cpu:.1f} s", "", ""])
        shown = f"{args.clients} {'signed-in' if args.signed_in else 'anonymous'} clients, {workers} workers"
        for label, _env in codes:
            name = f" — {label}" if label else ""
            rows.append([backend, f"votes/s alone ({shown}){name}", f"{alone[label]:.0f}", "", ""])
            target = "≥ 1,000 (PostgreSQL)"
            rows.append([backend, f"votes/s during the recomputation{name}", f"{during[label]:.0f}", "", target])
            rows.append(
                [
                    backend,
                    f"  ratio to votes/s alone{name}",
                    f"{during[label] / alone[label]:.2f}" if alone[label] else "n/a",
                    "",
                    "",
                ]
            )
        if args.baseline:
            label = codes[0][0]
            for name, rates in (("alone", alone), ("during", during)):
                ratio = f"{rates['this code'] / rates[label]:.2f}" if rates[label] else "n/a"
                rows.append([backend, f"votes/s {name}, this code ÷ before", ratio, "", ""])

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
    parser.add_argument("--clients", type=int, default=16, help="closed-loop voting clients")
    parser.add_argument("--signed-in", action="store_true", help="voting clients logged in (not anonymous)")
    parser.add_argument("--workers", type=int, default=0, help="uvicorn workers (default 2 PostgreSQL, 1 SQLite)")
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--profile", action="store_true", help="print where the map pages' time goes (stderr)")
    parser.add_argument("--reference-seconds", type=float, default=10.0, help="votes alone, for the ratio")
    parser.add_argument(
        "--during-seconds", type=float, default=20.0, help="votes counted during at most this much of the recomputation"
    )
    parser.add_argument("--baseline", default="", help="a commit whose server votes too, beside this code's")
    args = parser.parse_args()
    rows: list[list[str]] = []
    for backend in chosen_backends(args.backend):
        rows += asyncio.run(run(backend, args.pg_url, args))
    title = f"{args.participants:,} participants × {args.statements:,} statements, {args.votes:,} votes"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print_aligned(["backend", "figure", "measured", "before", "target"], rows, f"{title} (load average {load})")


if __name__ == "__main__":
    main()
