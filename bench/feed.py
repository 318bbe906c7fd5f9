"""The neighbourhood feed's figure (issue 19): a quartier's page at 1,000,000 feed items across the city, 20,000 of
them residents' posts in one quartier: page p95 < 100 ms, the first page and a deep one (keyset, no OFFSET).

    uv run python bench/feed.py --backend both --pg-url postgresql+asyncpg://postgres@127.0.0.1/feed_bench
    uv run python bench/feed.py --items 100000 --posts 5000 --backend sqlite   # a quicker look

The items are inserted in bulk (what the subscribers would have written over years), on the Paris quartiers of the
demo. Timed: `feed.page` alone (the query), and the whole page `/quartiers/{id}` through the app (query, render),
each `--pages` times; the deep page starts after the quartier's 19,000th item."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from datetime import timedelta
from pathlib import Path

import httpx
from databases import chosen_backends, fresh_database
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tables import print_aligned

from citoyen.app import build_event_hub, create_app
from citoyen.config import Settings
from citoyen.db import make_sessionmaker, utcnow
from citoyen.engines import make_app_engine
from citoyen.feed import service as feed
from citoyen.feed.models import FeedItem, ItemKind
from citoyen.migrations import upgrade_engine
from citoyen.territory import service as territory

QUARTIERS = Path(__file__).resolve().parent.parent / "src/citoyen/demo/data/paris-quartiers.geojson"
KINDS = [kind.value for kind in ItemKind if kind is not ItemKind.POST]
BATCH = 10_000


def p95_ms(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20)[-1] * 1000


async def fill(sessions: async_sessionmaker[AsyncSession], items: int, posts: int, seed: int = 19) -> int:
    """Items spread over the quartiers over two years, `posts` of them posts in the busiest one (its id returned)."""
    rng = random.Random(seed)
    now = utcnow()
    async with sessions() as session:
        features = territory.parse_neighbourhoods(
            json.loads(QUARTIERS.read_text(encoding="utf-8")), name_field="l_qu", code_field="c_quinsee"
        )
        await territory.replace_neighbourhoods(session, "Paris", features, source="bench")
        ids = sorted(n.id for n in await territory.list_neighbourhoods(session))
        busy, others = ids[0], ids[1:]
        batch: list[dict[str, object]] = []
        for number in range(items):
            in_busy = number < posts
            batch.append(
                {
                    "neighbourhood_id": busy if in_busy else rng.choice(others),
                    "occurred_at": now - timedelta(seconds=rng.randrange(2 * 365 * 86400)),
                    "kind": ItemKind.POST.value if in_busy else rng.choice(KINDS),
                    "source_id": number + 1,
                    "title": f"Message {number} du quartier" if in_busy else f"Signalement {number}",
                    "title_en": "" if in_busy else f"New report: street light {number}",
                    "summary": "Un texte de quelques phrases, comme ceux que les habitants écrivent. " * 2,
                    "summary_en": "",
                    "link": f"/quartiers/posts/{number + 1}",
                    "simulated": True,
                }
            )
            if len(batch) == BATCH:
                await session.execute(insert(FeedItem), batch)
                batch = []
        if batch:
            await session.execute(insert(FeedItem), batch)
        await session.commit()
        await session.execute(text("ANALYZE"))
        await session.commit()
    return busy


async def run(backend: str, pg_url: str, args: argparse.Namespace) -> list[list[str]]:
    rows: list[list[str]] = []
    async with fresh_database(backend, pg_url, "bench-feed-") as (url, data_dir):
        engine = make_app_engine(url)
        await upgrade_engine(engine)
        sessions = make_sessionmaker(engine, build_event_hub())
        began = time.perf_counter()
        busy = await fill(sessions, args.items, args.posts)
        rows.append([backend, f"insert {args.items:,} items", f"{time.perf_counter() - began:.0f} s", "", ""])
        async with sessions() as session:
            deep_at = min(19_000, args.posts - 100)
            walk = await feed.page(session, [busy], None, limit=deep_at)
            deep = feed.Cursor(walk.items[-1].occurred_at, walk.items[-1].id)
        for name, cursor in (("first page", None), (f"page after item {deep_at:,}", deep)):
            timings = []
            for _ in range(args.pages):
                async with sessions() as session:
                    start = time.perf_counter()
                    page = await feed.page(session, [busy], cursor)
                    timings.append(time.perf_counter() - start)
                    assert len(page.items) == feed.PAGE_SIZE
            rows.append([backend, f"feed.page, {name}", f"{p95_ms(timings):.1f} ms", "< 100 ms", ""])
        app = create_app(
            Settings(data_dir=Path(data_dir), database_url=url, secret_key="bench-" + "x" * 40), engine=engine
        )
        app.state.sessionmaker = sessions
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for name, query in (("first page", ""), (f"page after item {deep_at:,}", f"?before={deep.token}")):
                path = f"/quartiers/{busy}{query}"
                for _ in range(3):  # FastAPI prepares a route on its first request
                    await client.get(path)
                timings = []
                for _ in range(args.pages):
                    start = time.perf_counter()
                    response = await client.get(path)
                    timings.append(time.perf_counter() - start)
                    assert response.status_code == 200
                rows.append([backend, f"GET /quartiers/{{id}}, {name}", f"{p95_ms(timings):.1f} ms", "< 100 ms", ""])
        await engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1/feed_bench")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    rows: list[list[str]] = []
    for backend in chosen_backends(args.backend):
        rows += asyncio.run(run(backend, args.pg_url, args))
    print_aligned(
        ["backend", "measure", "p95 / time", "target", ""],
        rows,
        f"bench/feed.py: {args.items:,} items, {args.posts:,} posts in one quartier, {args.pages} pages each",
    )


if __name__ == "__main__":
    main()
