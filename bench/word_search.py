"""Searching proposals by words at 200,000 proposals (`--proposals`), on SQLite and PostgreSQL: what the process
page runs for a search (one page of 20 in the chosen order, then the count up to 1,000), through the service
functions (`participation.search_proposals`, `count_proposals`), p50 and p95 per kind of query.

The proposals are bulk-inserted as the demo inserts them (their search columns filled by the model's defaults,
the full-text index by the migration's triggers or generated column): titles of 3 to 8 words and bodies of 20
to 60 drawn (Zipf) from a French vocabulary of about 2,000 words, so a frequent word is in tens of thousands of
proposals and a rare one in a handful. Query kinds: a frequent word, a rare word, two frequent words, three
words with a place name, each sorted by relevance (best match first, the page's default with words) and by
most recent.

Run: `uv run python bench/word_search.py [--backend sqlite|postgresql|both] [--pg-url URL] [--proposals N]`.
SQLite in a temporary directory; PostgreSQL in its own database (`citoyen_bench_word_search`, dropped and
recreated, then dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from databases import chosen_backends, fresh_database
from sqlalchemy import insert, text
from tables import print_aligned

from citoyen.app import build_event_hub
from citoyen.db import make_sessionmaker
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_engine
from citoyen.participation import service as participation
from citoyen.participation.models import PhaseKind, Proposal

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/citoyen_bench_word_search"
SEED = 2026
PAGE, COUNTED_AT_MOST = 20, 1000
BATCH = 5000
COMMON = str.split(
    "rue quartier piste cyclable vélo vélos arbre arbres jardin partagé banc bancs école écoles place parc "
    "trottoir voiture voitures bus stationnement propreté déchets poubelle poubelles éclairage sécurité enfants "
    "marché square fontaine eau fleurs terrasse commerce commerces bruit nuit jeux sport terrain piscine "
    "bibliothèque culture musique fête voisins végétalisation ombre chaleur été hiver passage piéton piétons"
)
PLACES = ("Pont-de-Flandre", "Belleville", "Montmartre", "Bercy", "Javel", "Plaisance", "Charonne", "Picpus")
RARE_STEMS = "abcdefghijklmnopqrstuvwxyz"


def vocabulary(rng: random.Random) -> list[str]:
    """Real words first (the frequent ranks of the Zipf draw), then made-up rare ones."""
    made_up = {"".join(rng.choice(RARE_STEMS) for _ in range(rng.randint(5, 9))) for _ in range(2000)}
    return COMMON + sorted(made_up)


def draw(rng: random.Random, words: list[str], weights: list[float], count: int) -> str:
    return " ".join(rng.choices(words, weights, k=count))


async def load(url: str, proposals: int) -> tuple[Any, int, list[str]]:
    engine = make_app_engine(url)
    await upgrade_engine(engine)
    sessions = make_sessionmaker(engine, build_event_hub())
    now = datetime.now(UTC)
    rng = random.Random(SEED)
    words = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    async with sessions() as session, session.begin():
        process = await participation.save_process(
            session,
            participation.ProcessInput(
                slug="mots",
                title="Des idées",
                starts_at=now - timedelta(days=60),
                ends_at=now + timedelta(days=60),
                phases=[
                    participation.PhaseInput(
                        PhaseKind.PROPOSALS, now - timedelta(days=60), now + timedelta(days=60), allows_proposals=True
                    )
                ],
            ),
        )
        process_id = process.id
    started = time.perf_counter()
    for first in range(0, proposals, BATCH):
        rows = [
            {
                "process_id": process_id,
                "title": draw(rng, words, weights, rng.randint(3, 8)).capitalize()[:150],
                "body": draw(rng, words, weights, rng.randint(20, 60)) + " " + rng.choice(PLACES),
                "created_at": now - timedelta(seconds=n),
                "updated_at": now,
                "comment_count": 0,
            }
            for n in range(first, min(first + BATCH, proposals))
        ]
        async with sessions() as session, session.begin():
            await session.execute(insert(Proposal), rows)
    print(f"  {proposals:,} proposals loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if url.startswith("postgresql"):
        async with engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
            await connection.commit()
    return (engine, sessions), process_id, words


def query_kinds(words: list[str]) -> dict[str, Callable[[random.Random], str]]:
    frequent = COMMON[:10]
    rare = words[len(COMMON) + 500 :]
    return {
        "a frequent word": lambda rng: rng.choice(frequent),
        "a rare word": lambda rng: rng.choice(rare),
        "two frequent words": lambda rng: " ".join(rng.sample(frequent, 2)),
        "three words and a place": lambda rng: " ".join([*rng.sample(COMMON[:30], 2), rng.choice(PLACES)]),
    }


async def measure(url: str, proposals: int, calls: int) -> list[dict[str, Any]]:
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    (engine, sessions), process_id, words = await load(url, proposals)
    rows = []
    try:
        for kind, make in query_kinds(words).items():
            for sort in ("relevance", "recent"):
                rng = random.Random(SEED)
                timings: list[float] = []
                matches: list[int] = []
                for call in range(calls + 2):
                    filters = participation.ProposalFilters(process_id=process_id, text=make(rng))
                    tick = time.perf_counter()
                    async with sessions() as session:
                        await participation.search_proposals(session, filters, sort, 0, PAGE, 0)
                        found = await participation.count_proposals(session, filters, at_most=COUNTED_AT_MOST)
                    if call >= 2:  # the first two warm the caches
                        timings.append((time.perf_counter() - tick) * 1000)
                        matches.append(found)
                ordered = sorted(timings)
                rows.append(
                    {
                        "backend": backend,
                        "query": kind,
                        "sort": sort,
                        "matches": f"{statistics.mean(matches):.0f}"
                        + (" (counted to 1001)" if max(matches) > 1000 else ""),
                        "p50": statistics.median(ordered),
                        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
                    }
                )
    finally:
        await engine.dispose()
    return rows


def print_table(rows: list[dict[str, Any]], command: str) -> None:
    headers = ("backend", "query", "sort", "matches", "p50 ms", "p95 ms")
    cells = [(r["backend"], r["query"], r["sort"], r["matches"], f"{r['p50']:.1f}", f"{r['p95']:.1f}") for r in rows]
    print_aligned(headers, cells, f"$ {command}")


async def main(args: argparse.Namespace) -> None:
    for backend in chosen_backends(args.backend):
        async with fresh_database(backend, args.pg_url, "citoyen-bench-word-search-") as (url, _data_dir):
            rows = await measure(url, args.proposals, args.calls)
        print_table(rows, "uv run python bench/word_search.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--proposals", type=int, default=200_000)
    parser.add_argument("--calls", type=int, default=20, help="calls per kind of query and sort")
    asyncio.run(main(parser.parse_args()))
