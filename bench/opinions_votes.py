"""What one vote costs the web process, counted rather than timed: statements sent to the database and Python
function calls per vote, for sequential votes through the app in one process (httpx's ASGI transport, no server),
by kind of voter (anonymous, signed in) and answer (303 without JavaScript, the htmx partial).

    uv run python bench/opinions_votes.py --pg-url postgresql+asyncpg://postgres@127.0.0.1/bench_opinion_votes
    uv run python bench/opinions_votes.py --backend sqlite --baseline 05171ea   # that commit's code beside this one

The counts do not move with the machine's load (the processor time per vote does): the conversation's frame is kept
for the whole run (`reference_cache_seconds`), so no reload falls among the counted votes, and every voter has voted
before the count starts (a returning participant's vote). Python calls are cProfile's, which counts each resumption
of a coroutine as a call. With `--baseline REF`, that commit's `src/` runs the same scenarios in a child process."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from databases import fresh_database
from loadgen import baseline_code
from sqlalchemy import event
from tables import print_aligned

from citoyen.app import build_event_hub, create_app
from citoyen.config import Settings
from citoyen.db import make_sessionmaker, utcnow
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_engine
from citoyen.opinions import service as opinions
from citoyen.participation import service as participation
from citoyen.people import service as people

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "banc-d-essai-avis-citoyens"
STATEMENTS = 50
SCENARIOS = [("anonymous", False), ("anonymous", True), ("signed-in", False), ("signed-in", True)]


async def measure(backend: str, pg_url: str, votes: int) -> list[dict[str, float | str]]:
    results: list[dict[str, float | str]] = []
    async with fresh_database(backend, pg_url, "bench-opinion-votes-") as (url, data_dir):
        engine = make_app_engine(url)
        await upgrade_engine(engine)
        sessions = make_sessionmaker(engine, build_event_hub())
        now = utcnow()
        async with sessions() as session:
            process = await participation.save_process(
                session,
                participation.ProcessInput(
                    slug="banc",
                    title="Banc d'essai",
                    description="",
                    starts_at=now.replace(year=now.year - 1),
                    ends_at=now.replace(year=now.year + 1),
                ),
            )
            conversation = await opinions.create_conversation(
                session,
                opinions.ConversationInput(
                    process_id=process.id,
                    question="Banc d'essai",
                    seeds=[f"Affirmation {n}" for n in range(STATEMENTS)],
                    anonymous_allowed=True,
                ),
            )
            await people.create_person(session, "votant@bench.example.org", PASSWORD, "Votant")
            statement_ids = [s.id for s in await opinions.statements_of(session, conversation.id)]
            await session.commit()
        settings = Settings(
            data_dir=Path(data_dir),
            database_url=url,
            secret_key="bench-" + "x" * 40,
            reference_cache_seconds=3600,
        )
        app = create_app(settings, engine=engine)
        app.state.sessionmaker = sessions
        sent = [0]

        def count(*_args: object) -> None:
            sent[0] += 1

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        url_path = f"/participation/conversations/{conversation.id}"
        for voter, htmx in SCENARIOS:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                if voter == "signed-in":
                    page = await client.get("/login")
                    form = {"email": "votant@bench.example.org", "password": PASSWORD}
                    answer = await client.post("/login", data=form | {"csrf_token": CSRF.search(page.text)[1]})  # type: ignore[index]
                    assert answer.status_code == 303, answer.text[:300]
                token = CSRF.search((await client.get(url_path)).text)[1]  # type: ignore[index]
                headers = {"HX-Request": "true"} if htmx else {}
                expected = 200 if htmx else 303

                async def vote(number: int, value: str, token: str = token, expected: int = expected) -> None:
                    form = {"csrf_token": token, "statement_id": str(statement_ids[number % STATEMENTS]), "vote": value}
                    answer = await client.post(f"{url_path}/votes", data=form, headers=headers)  # noqa: B023
                    assert answer.status_code == expected, f"{answer.status_code} {answer.text[:300]}"

                for number in range(STATEMENTS):  # the participant is made, every statement voted once
                    await vote(number, "agree")
                sent[0] = 0
                profile = cProfile.Profile()
                cpu = time.process_time()
                profile.enable()
                for number in range(votes):
                    await vote(number, "disagree" if number % 2 else "agree")
                profile.disable()
                cpu = time.process_time() - cpu
            calls = sum(row[1] for row in pstats.Stats(profile).stats.values())  # type: ignore[attr-defined]
            results.append(
                {
                    "voter": voter,
                    "answer": "htmx partial" if htmx else "303",
                    "statements": sent[0] / votes,
                    "calls": calls / votes,
                    "cpu_ms": cpu / votes * 1000,
                }
            )
        await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="postgresql", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1/bench_opinion_votes")
    parser.add_argument("--votes", type=int, default=300, help="counted votes per scenario")
    parser.add_argument("--baseline", default="", help="a commit whose code runs the same scenarios")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # a baseline's child process
    args = parser.parse_args()
    if args.json:
        print(json.dumps(asyncio.run(measure(args.backend, args.pg_url, args.votes))))
        return
    runs: list[tuple[str, list[dict[str, float | str]]]] = []
    if args.baseline:
        with tempfile.TemporaryDirectory(prefix="bench-opinion-votes-") as directory:
            env = os.environ | baseline_code(args.baseline, Path(directory))
            child = [sys.executable, __file__, "--json", "--backend", args.backend, "--pg-url", args.pg_url]
            child += ["--votes", str(args.votes)]
            output = subprocess.run(child, env=env, check=True, capture_output=True, text=True).stdout
            runs.append((f"before ({args.baseline})", json.loads(output.strip().splitlines()[-1])))
    runs.append(("this code", asyncio.run(measure(args.backend, args.pg_url, args.votes))))
    rows = [
        [
            label,
            str(row["voter"]),
            str(row["answer"]),
            f"{row['statements']:.2f}",
            f"{row['calls']:,.0f}",
            f"{row['cpu_ms']:.1f} ms",
        ]
        for label, results in runs
        for row in results
    ]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    title = f"{args.backend}, {args.votes} returning votes per scenario (load average {load})"
    headers = ["code", "voter", "answer", "statements/vote", "Python calls/vote", "process CPU/vote"]
    print_aligned(headers, rows, title)


if __name__ == "__main__":
    main()
