"""Participation at Grand-Débat scale in PostgreSQL: 500,000 accounts, 200,000 proposals over the Paris
quartiers and 10,000,000 supports (times `--scale`), loaded with COPY; then the real server under
concurrent clients: the proposal list page (filters and sorts), the proposals map, a proposal's page,
supporting a proposal (signed-in clients, the real form POST), and the page of a proposal with its first
50 comments among 1,800,000 (`--comments` sets that number on its own).

Run: `uv run python bench/participation.py` (`--scale 0.05` for a quick run; `--help`). PostgreSQL must
answer at 127.0.0.1; the script drops and recreates its own database (`citoyen_bench_participation`) and
drops it afterwards unless `--keep`; `--reuse` measures again on what a `--keep` run left, without loading
(new migrations are applied first). Clients and server share the machine (and, on a shared box, other
people's work): read the figures as what this machine gave at that moment.

The last rows time the results of a participatory budget: 100,000 synthetic knapsack ballots over 50
projects (`--pb-ballots`), generated from a fixed seed (project popularity is Pareto-distributed, each
voter picks projects in a random popularity-weighted order until they hold 2 to 10 or the budget is
spent), counted by the greedy rule and the Method of Equal Shares with its completion
(citoyen.participation.budgets.rules), three times: the p50 and p95 columns show the median and the
slowest run. For reference, pabutools' own MES runs on a 5,000-ballot sample, checked to give the same
outcome as the vectorised implementation. `--pb-only` runs just these rows (no database needed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import h3
import numpy as np
import shapely
from databases import recreate_database
from loadgen import Client, HttpError, Measurement, serve
from shapely.geometry import shape
from sqlalchemy import text
from sqlalchemy.engine import make_url

from citoyen.app import build_event_hub
from citoyen.db import make_engine, make_sessionmaker
from citoyen.demo.generator import QUARTIERS_FILE
from citoyen.migrations import upgrade_database_async
from citoyen.participation import service as participation
from citoyen.participation.models import RANDOM_KEYS, PhaseKind
from citoyen.people import service as people
from citoyen.territory import service as territory
from citoyen.textsearch import indexed_text

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/citoyen_bench_participation"
FULL = {"accounts": 500_000, "proposals": 200_000, "comments": 1_800_000, "supports": 10_000_000}
SEED = 2026
CHUNK = 250_000
BENCH_PASSWORD = "banc-d-essai-participation"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- loading ----------------------------------------------------------------------------------


@dataclass
class Loaded:
    process_id: int
    process_slug: str
    proposals: tuple[int, int]  # first and last id
    neighbourhoods: list[tuple[int, tuple[float, float, float, float]]]
    category_ids: list[int]
    city_bbox: tuple[float, float, float, float]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def random_points(geoms: list[Any], n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n points inside the quartiers (some quartiers busier than others), with the index of their quartier."""
    weights = rng.gamma(2.0, 1.0, len(geoms))
    chosen = rng.choice(len(geoms), size=n, p=weights / weights.sum())
    lons, lats = np.empty(n), np.empty(n)
    for index, geom in enumerate(geoms):
        wanted = np.flatnonzero(chosen == index)
        minx, miny, maxx, maxy = geom.bounds
        got_x: list[float] = []
        got_y: list[float] = []
        while len(got_x) < len(wanted):
            xs = rng.uniform(minx, maxx, 2 * len(wanted) + 16)
            ys = rng.uniform(miny, maxy, 2 * len(wanted) + 16)
            inside = shapely.contains_xy(geom, xs, ys)
            got_x += xs[inside].tolist()
            got_y += ys[inside].tolist()
        lons[wanted] = got_x[: len(wanted)]
        lats[wanted] = got_y[: len(wanted)]
    return lons, lats, chosen


async def load(url: str, scale: float) -> Loaded:
    counts = {name: max(1, int(value * scale)) for name, value in FULL.items()}
    rng = np.random.default_rng(SEED)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    await upgrade_database_async(url)
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine, build_event_hub())
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        features = territory.parse_neighbourhoods(
            json.loads(QUARTIERS_FILE.read_text(encoding="utf-8")), name_field="l_qu", code_field="c_quinsee"
        )
        await territory.replace_neighbourhoods(session, "Paris", features, source="bench")
        process = await participation.save_process(
            session,
            participation.ProcessInput(
                slug="grand-debat",
                title="Grand débat",
                starts_at=now - timedelta(days=60),
                ends_at=now + timedelta(days=60),
                categories=[participation.CategoryInput(name) for name in ("Mobilité", "Nature", "Vivre", "Propreté")],
                phases=[
                    participation.PhaseInput(
                        PhaseKind.PROPOSALS,
                        now - timedelta(days=60),
                        now + timedelta(days=60),
                        allows_proposals=True,
                        allows_comments=True,
                        allows_supports=True,
                    )
                ],
            ),
        )
        neighbourhoods = await territory.list_neighbourhoods(session)
        category_ids = [c.id for c in await participation.categories_of(session, process.id)]
        process_id, slug = process.id, process.slug
    index = territory.TerritoryIndex("bench", [(n.id, shape(n.geometry)) for n in neighbourhoods])
    geoms = [shape(n.geometry) for n in neighbourhoods]
    timings["schema and city"] = time.perf_counter() - started

    raw_engine = make_engine(url)
    async with raw_engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None

        # Secondary indexes and constraints go during the load and come back once, after it.
        tables = ("people", "participation_proposals", "participation_supports")
        definitions = await raw.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1) "
            "AND indexname NOT LIKE 'pk_%' AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            list(tables),
        )
        constraints = await raw.fetch(
            "SELECT conrelid::regclass::text AS tab, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint "
            "WHERE conrelid::regclass::text = ANY($1) AND contype IN ('u', 'f')",
            list(tables),
        )
        for row in constraints:
            await raw.execute(f'ALTER TABLE {row["tab"]} DROP CONSTRAINT "{row["conname"]}"')
        for row in definitions:
            await raw.execute(f'DROP INDEX IF EXISTS "{row["indexname"]}"')

        tick = time.perf_counter()
        first_person = int(await raw.fetchval("SELECT coalesce(max(id), 0) + 1 FROM people"))
        for start in range(0, counts["accounts"], CHUNK):
            stop = min(start + CHUNK, counts["accounts"])
            records = [
                (
                    first_person + i,
                    f"bench{i:07d}@bench.example.org",
                    f"Habitant{i:07d}",
                    None,
                    "citizen",
                    "fr",
                    True,
                    now,
                )
                for i in range(start, stop)
            ]
            await raw.copy_records_to_table(
                "people",
                records=records,
                columns=[
                    "id",
                    "email",
                    "display_name",
                    "password_hash",
                    "role",
                    "locale",
                    "is_active",
                    "created_at",
                ],
            )
        timings["accounts"] = time.perf_counter() - tick

        tick = time.perf_counter()
        n = counts["proposals"]
        lons, lats, _ = random_points(geoms, n, rng)
        located = index.locate_many(lons.tolist(), lats.tolist())
        # Supports per proposal: very uneven (a few proposals gather most), summing to the target.
        raw_weights = rng.pareto(1.2, n) + 0.05
        supports = np.floor(raw_weights / raw_weights.sum() * counts["supports"]).astype(np.int64)
        supports = np.minimum(supports, counts["accounts"] - 1)
        supports[: counts["supports"] - int(supports.sum())] += 1
        comments = rng.poisson(counts["comments"] / n, n)
        ages = rng.uniform(1, 59 * 86400, n).tolist()
        statuses = rng.choice(
            ["published", "evaluating", "accepted", "rejected", "in_progress", "done"],
            size=n,
            p=[0.86, 0.04, 0.03, 0.04, 0.02, 0.01],
        )
        first_proposal = int(await raw.fetchval("SELECT coalesce(max(id), 0) + 1 FROM participation_proposals"))
        titles = ("Une rue scolaire", "Un jardin partagé", "Des arbres", "Une piste cyclable", "Des bancs")
        body = "Proposition de test pour mesurer la plateforme à grande échelle."
        # The words full-text search reads, as the model's defaults write them on an insert (COPY has none).
        searched_body = indexed_text([body])
        proposal_records: list[tuple[Any, ...]] = []
        random_keys = rng.integers(0, RANDOM_KEYS, n).tolist()
        for i in range(n):
            lon, lat = float(lons[i]), float(lats[i])
            proposal_records.append(
                (
                    first_proposal + i,
                    process_id,
                    first_person + int(rng.integers(counts["accounts"])),
                    category_ids[i % len(category_ids)],
                    f"{titles[i % len(titles)]} n°{i}",
                    body,
                    "fr",
                    lon,
                    lat,
                    "",
                    located[i],
                    h3.latlng_to_cell(lat, lon, 6),
                    h3.latlng_to_cell(lat, lon, 8),
                    h3.latlng_to_cell(lat, lon, 10),
                    str(statuses[i]),
                    False,
                    int(comments[i]),
                    now - timedelta(seconds=ages[i]),
                    now,
                    random_keys[i],
                    indexed_text([f"{titles[i % len(titles)]} n°{i}"]),
                    searched_body,
                )
            )
        await raw.copy_records_to_table(
            "participation_proposals",
            records=proposal_records,
            columns=[
                "id",
                "process_id",
                "author_id",
                "category_id",
                "title",
                "body",
                "locale",
                "lon",
                "lat",
                "address",
                "neighbourhood_id",
                "h3_r6",
                "h3_r8",
                "h3_r10",
                "status",
                "answer_required",
                "comment_count",
                "created_at",
                "updated_at",
                "random_key",
                "search_title",
                "search_body",
            ],
        )
        await raw.copy_records_to_table(
            "participation_support_counts",
            records=[(first_proposal + i, process_id, int(supports[i])) for i in range(n)],
            columns=["proposal_id", "process_id", "support_count"],
        )
        timings["proposals"] = time.perf_counter() - tick

        # Distinct supporters per proposal: start + k * stride (mod accounts) with a stride coprime with it.
        tick = time.perf_counter()
        accounts = counts["accounts"]
        stride = next(s for s in range(7919, accounts + 7919) if np.gcd(s, accounts) == 1) % accounts or 1
        proposal_ids = np.repeat(np.arange(first_proposal, first_proposal + n), supports)
        offsets = rng.integers(0, accounts, n)
        within = np.arange(len(proposal_ids)) - np.repeat(np.cumsum(supports) - supports, supports)
        persons = first_person + (np.repeat(offsets, supports) + within * stride) % accounts
        moment = now - timedelta(days=1)
        for start in range(0, len(proposal_ids), CHUNK * 2):
            stop = start + CHUNK * 2
            chunk = [
                (int(p), int(q), moment)
                for p, q in zip(proposal_ids[start:stop].tolist(), persons[start:stop].tolist(), strict=True)
            ]
            await raw.copy_records_to_table(
                "participation_supports", records=chunk, columns=["proposal_id", "person_id", "created_at"]
            )
        timings["supports"] = time.perf_counter() - tick

        tick = time.perf_counter()
        for row in definitions:
            await raw.execute(row["indexdef"])
        for row in constraints:
            await raw.execute(f'ALTER TABLE {row["tab"]} ADD CONSTRAINT "{row["conname"]}" {row["def"]}')
        for table in tables:
            await raw.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        # The proposal-count triggers rewrote each count row for every loaded proposal: compact the table,
        # as after any bulk import (autovacuum would get there slowly, the map reads it on every request).
        await raw.execute("VACUUM FULL participation_proposal_counts")
        await raw.execute("VACUUM (ANALYZE)")
        timings["indexes, constraints, analyze"] = time.perf_counter() - tick
    await raw_engine.dispose()
    await engine.dispose()
    bounds = [n.min_lon for n in neighbourhoods], [n.min_lat for n in neighbourhoods]
    city_bbox = (
        min(bounds[0]),
        min(bounds[1]),
        max(n.max_lon for n in neighbourhoods),
        max(n.max_lat for n in neighbourhoods),
    )
    return Loaded(
        process_id,
        slug,
        (first_proposal, first_proposal + n - 1),
        [(n.id, (n.min_lon, n.min_lat, n.max_lon, n.max_lat)) for n in neighbourhoods],
        category_ids,
        city_bbox,
        counts,
        timings,
    )


async def reopen(url: str) -> tuple[Loaded, LoadedComments]:
    """What `load` and `load_comments` report, read back from a database a previous `--keep` run left
    (brought up to the latest migration first)."""
    await upgrade_database_async(url)
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine, build_event_hub())() as session:
            process = await participation.get_process_by_slug(session, "grand-debat")
            neighbourhoods = await territory.list_neighbourhoods(session)
            category_ids = [c.id for c in await participation.categories_of(session, process.id)]
            low, high = (
                await session.execute(
                    text("SELECT min(id), max(id) FROM participation_proposals WHERE process_id = :p"),
                    {"p": process.id},
                )
            ).one()
            counts = {
                name: int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
                for name, table in (
                    ("proposals", "participation_proposals"),
                    ("supports", "participation_supports"),
                    ("comments", "participation_comments"),
                )
            }
            busy = (
                await session.execute(
                    text(
                        "SELECT proposal_id FROM participation_comments WHERE parent_id IS NULL "
                        "AND proposal_id IS NOT NULL GROUP BY proposal_id HAVING count(*) >= :n ORDER BY 1"
                    ),
                    {"n": BUSY_COMMENTS},
                )
            ).scalars()
            busy_proposals = list(busy)
    finally:
        await engine.dispose()
    city_bbox = (
        min(n.min_lon for n in neighbourhoods),
        min(n.min_lat for n in neighbourhoods),
        max(n.max_lon for n in neighbourhoods),
        max(n.max_lat for n in neighbourhoods),
    )
    loaded = Loaded(
        process.id,
        process.slug,
        (int(low), int(high)),
        [(n.id, (n.min_lon, n.min_lat, n.max_lon, n.max_lat)) for n in neighbourhoods],
        category_ids,
        city_bbox,
        counts,
    )
    return loaded, LoadedComments(counts["comments"], busy_proposals)


async def create_voters(url: str, count: int) -> list[str]:
    """Accounts that can log in, for the support scenario (the loaded ones have no password). On a reused
    database, the accounts of an earlier run are taken back without their supports, which would refuse
    the same random picks."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine, build_event_hub())() as session, session.begin():
            emails = []
            for i in range(count):
                email = f"voter{i}@bench.example.org"
                known = await session.scalar(text("SELECT id FROM people WHERE email = :e"), {"e": email})
                if known is None:
                    await people.create_person(session, email, BENCH_PASSWORD, f"Votant{i}")
                else:
                    withdrawn = await session.execute(
                        text("DELETE FROM participation_supports WHERE person_id = :p RETURNING proposal_id"),
                        {"p": known},
                    )
                    if given := [{"i": proposal_id} for (proposal_id,) in withdrawn]:
                        await session.execute(
                            text(
                                "UPDATE participation_support_counts SET support_count = support_count - 1 "
                                "WHERE proposal_id = :i"
                            ),
                            given,
                        )
                emails.append(email)
        return emails
    finally:
        await engine.dispose()


# --- debate: comments (the debate module) -------------------------------------------------------

COMMENT_TEXTS = (
    "Très bonne idée, je passe là tous les jours et c'est exactement ce qui manque.",
    "Je soutiens, mais il faudra penser à l'entretien : qui s'en occupe une fois installé ?",
    "Attention au bruit le soir, les riverains se plaignent déjà.",
    "Pourquoi pas, mais le budget serait mieux utilisé pour rénover l'école d'à côté.",
    "Great idea, I walk past there every day and this is exactly what is missing.",
)
# A proposal is "busy" when its top-level comments fill at least the first page of the proposal page.
BUSY_COMMENTS = 50


@dataclass
class LoadedComments:
    total: int
    busy_proposals: list[int]
    seconds: dict[str, float] = field(default_factory=dict)


async def load_comments(url: str, loaded: Loaded, total: int) -> LoadedComments:
    """`total` comments over the loaded proposals, very unevenly (most have a few, some thousands), 70 %
    top-level and 30 % replies, with votes; each proposal's comment_count is set to what it really has."""
    rng = np.random.default_rng(SEED + 1)
    timings: dict[str, float] = {}
    low, high = loaded.proposals
    n = high - low + 1
    weights = rng.pareto(1.1, n) + 0.02
    counts = np.floor(weights / weights.sum() * total).astype(np.int64)
    counts[: total - int(counts.sum())] += 1
    roots_per = np.ceil(counts * 0.7).astype(np.int64)
    engine = make_engine(url)
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        tick = time.perf_counter()
        first_person, last_person = await raw.fetchrow("SELECT min(id), max(id) FROM people")
        definitions = await raw.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename = 'participation_comments' AND indexname NOT LIKE 'pk_%'"
        )
        constraints = await raw.fetch(
            "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint "
            "WHERE conrelid = 'participation_comments'::regclass AND contype = 'f'"
        )
        for row in constraints:
            await raw.execute(f'ALTER TABLE participation_comments DROP CONSTRAINT "{row["conname"]}"')
        for row in definitions:
            await raw.execute(f'DROP INDEX IF EXISTS "{row["indexname"]}"')
        first_id = int(await raw.fetchval("SELECT coalesce(max(id), 0) + 1 FROM participation_comments"))
        proposal_of = np.repeat(np.arange(low, high + 1), counts)
        starts = np.cumsum(counts) - counts  # index of each proposal's first comment
        within = np.arange(total) - np.repeat(starts, counts)
        is_root = within < np.repeat(roots_per, counts)
        # A reply answers one of its proposal's top-level comments (whose ids precede it).
        chosen_root = (rng.random(total) * np.repeat(np.maximum(roots_per, 1), counts)).astype(np.int64)
        thread = np.where(is_root, 0, first_id + np.repeat(starts, counts) + chosen_root)
        reply_counts = np.bincount(thread[~is_root] - first_id, minlength=total) if (~is_root).any() else None
        authors = rng.integers(first_person, last_person + 1, total)
        ups = rng.poisson(2.0, total)
        downs = rng.poisson(0.5, total)
        texts = rng.integers(0, len(COMMENT_TEXTS), total)
        now = datetime.now(UTC)
        base = now - timedelta(days=50)
        process_id = loaded.process_id
        for start in range(0, total, CHUNK):
            stop = min(start + CHUNK, total)
            records = [
                (
                    first_id + i,
                    process_id,
                    int(proposal_of[i]),
                    None if is_root[i] else int(thread[i]),
                    None if is_root[i] else int(thread[i]),
                    0 if is_root[i] else 1,
                    int(authors[i]),
                    COMMENT_TEXTS[texts[i]],
                    int(ups[i]),
                    int(downs[i]),
                    int(ups[i] - downs[i]),
                    int(reply_counts[i]) if reply_counts is not None and is_root[i] else 0,
                    base + timedelta(seconds=int(within[i]) * 37),
                    "",
                )
                for i in range(start, stop)
            ]
            await raw.copy_records_to_table(
                "participation_comments",
                records=records,
                columns=[
                    "id",
                    "process_id",
                    "proposal_id",
                    "parent_id",
                    "thread_id",
                    "depth",
                    "author_id",
                    "body",
                    "up_votes",
                    "down_votes",
                    "score",
                    "reply_count",
                    "created_at",
                    "hidden_reason",
                ],
            )
        timings["comments"] = time.perf_counter() - tick
        tick = time.perf_counter()
        await raw.execute("CREATE TEMP TABLE bench_comment_counts (id integer, n integer)")
        await raw.copy_records_to_table(
            "bench_comment_counts",
            records=[(low + i, int(c)) for i, c in enumerate(counts.tolist())],
            columns=["id", "n"],
        )
        await raw.execute(
            "UPDATE participation_proposals p SET comment_count = c.n FROM bench_comment_counts c WHERE p.id = c.id"
        )
        for row in definitions:
            await raw.execute(row["indexdef"])
        for row in constraints:
            await raw.execute(f'ALTER TABLE participation_comments ADD CONSTRAINT "{row["conname"]}" {row["def"]}')
        await raw.execute(
            "SELECT setval(pg_get_serial_sequence('participation_comments', 'id'), "
            "(SELECT max(id) FROM participation_comments))"
        )
        await raw.execute("VACUUM (ANALYZE) participation_comments, participation_proposals")
        await raw.execute("VACUUM (ANALYZE) participation_proposals")
        timings["comment indexes, constraints, analyze"] = time.perf_counter() - tick
    await engine.dispose()
    busy = [low + i for i, roots in enumerate(roots_per.tolist()) if roots >= BUSY_COMMENTS]
    return LoadedComments(total, busy, timings)


def debate_scenarios(comments: LoadedComments) -> dict[str, Callable[[random.Random, dict[str, Any]], Call]]:
    """The proposal page of a proposal whose debate fills the first page (50 top-level comments, their
    replies, the viewer's votes), in each order."""

    def busy_proposal_page(rng: random.Random, _: dict[str, Any]) -> Call:
        proposal = rng.choice(comments.busy_proposals)
        sort = rng.choice(("oldest", "newest", "best"))
        if sort == "oldest":
            return Call("proposal page (oldest first)", "GET", f"/participation/proposals/{proposal}")
        return Call(
            f"comments only, {sort} first", "GET", f"/participation/proposals/{proposal}/comments", {"sort": sort}
        )

    return {"proposal page with its first 50 comments": busy_proposal_page}


async def measure_debate_page_queries(url: str, comments: LoadedComments, calls: int = 300) -> Measurement:
    """The debate's part of that page alone, without HTTP and templates: `debate.debate_page` (threads, their
    replies, the viewer's votes, authors' names) called one at a time, as the page calls it."""
    from citoyen.participation.debate import service as debate

    rng = random.Random(SEED + 2)
    result = Measurement()
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine, build_event_hub())() as session:
            for number in range(calls + 20):
                proposal_id = rng.choice(comments.busy_proposals)
                sort = ("oldest", "newest", "best")[number % 3]
                tick = time.perf_counter()
                target = await debate.proposal_target(session, proposal_id)
                listing = await debate.debate_page(session, target, sort, 1, viewer_id=1)
                elapsed = time.perf_counter() - tick
                assert len(listing.threads) == debate.THREADS_PER_PAGE
                session.expunge_all()
                if number >= 20:  # the first calls warm the connection and the caches
                    result.latencies.setdefault(f"{sort} first", []).append(elapsed)
    finally:
        await engine.dispose()
    result.seconds = sum(result.all_latencies)
    return result


# --- the server -------------------------------------------------------------------------------


# --- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    label: str
    method: str
    path: str
    params: dict[str, str] | None = None
    form: dict[str, str] | None = None
    ok: tuple[int, ...] = (200,)


async def measure(
    base_url: str,
    make: Callable[[random.Random, dict[str, Any]], Call],
    concurrency: int,
    duration: float,
    warmup: float,
    log_in: list[str] | None = None,
) -> Measurement:
    """Closed-loop clients (each sends its next request once the previous one is answered); with `log_in`,
    each client signs in as one of those accounts first and keeps its own cookies and CSRF token."""
    result = Measurement()
    ready = asyncio.Event()
    signed_in: list[int] = []
    start = time.perf_counter() + (warmup if log_in is None else 0)
    state: dict[str, float] = {"from": start, "end": start + duration}

    async def one(index: int) -> None:
        rng = random.Random(SEED + index)
        context: dict[str, Any] = {"supported": set()}
        client = Client(base_url)
        try:
            if log_in is not None:
                page = await client.get("/login")
                token = CSRF.search(page.text)
                assert token, "no CSRF token on /login"
                form = {"email": log_in[index], "password": BENCH_PASSWORD, "csrf_token": token.group(1)}
                answer = await client.post("/login", form)
                assert answer.status == 303, answer.text[:300]
                page = await client.get("/participation")
                context["csrf"] = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
                # Signed in over whichever worker took the connection; reconnect, staggered below, so that
                # the measured connections spread over the workers as the anonymous clients' do.
                await client.close()
                signed_in.append(index)
                if len(signed_in) == concurrency:
                    ready.set()
                await ready.wait()
            await asyncio.sleep(index * 0.01)
            while (now := time.perf_counter()) < state["end"]:
                call = make(rng, context)
                tick = time.perf_counter()
                try:
                    response = await client.request(call.method, call.path, call.params, call.form)
                    problem = "" if response.status in call.ok else f"HTTP {response.status}"
                except HttpError as exc:
                    problem = str(exc)[:200]
                if now >= state["from"]:
                    result.record(call.label, time.perf_counter() - tick, problem)
        finally:
            await client.close()

    if log_in is not None:
        # Sign-ins (Argon2) happen before the window: it opens once every client is signed in.
        state["end"] = time.perf_counter() + 3600
        clients = [asyncio.create_task(one(i)) for i in range(concurrency)]
        await ready.wait()
        state["from"] = time.perf_counter() + warmup
        state["end"] = state["from"] + duration
        await asyncio.gather(*clients)
    else:
        await asyncio.gather(*(one(i) for i in range(concurrency)))
    result.seconds = duration
    return result


def scenarios(loaded: Loaded) -> dict[str, Callable[[random.Random, dict[str, Any]], Call]]:
    low, high = loaded.proposals
    page = f"/participation/processes/{loaded.process_slug}"
    minx, miny, maxx, maxy = loaded.city_bbox
    city_bbox = f"{minx:.5f},{miny:.5f},{maxx:.5f},{maxy:.5f}"

    def list_page(rng: random.Random, _: dict[str, Any]) -> Call:
        neighbourhood = str(rng.choice(loaded.neighbourhoods)[0])
        match rng.randrange(5):
            case 0:
                return Call("most supported", "GET", page, {"sort": "supports"})
            case 1:
                return Call("recent, one neighbourhood", "GET", page, {"neighbourhood": neighbourhood})
            case 2:
                params = {"category": str(rng.choice(loaded.category_ids)), "sort": "comments", "page": "3"}
                return Call("one category, most commented, page 3", "GET", page, params)
            case 3:
                params = {"status": "accepted", "neighbourhood": neighbourhood, "sort": "supports"}
                return Call("accepted in a neighbourhood, most supported", "GET", page, params)
            case _:
                return Call("random order (seed)", "GET", page, {"sort": "random", "seed": str(rng.randrange(10**6))})

    def text_search(rng: random.Random, _: dict[str, Any]) -> Call:
        word = rng.choice(("jardin", "arbres", "piste", "bancs"))
        return Call(f"words ({word})", "GET", page, {"q": word})

    def map_layer(rng: random.Random, _: dict[str, Any]) -> Call:
        base = {"process": str(loaded.process_id)}
        if rng.random() < 0.5:
            zoom = rng.choice((11, 12, 13))
            return Call(
                "whole city, H3 cells", "GET", "/api/participation/map", base | {"zoom": str(zoom), "bbox": city_bbox}
            )
        neighbourhood, bounds = rng.choice(loaded.neighbourhoods)
        bbox = ",".join(f"{v:.5f}" for v in bounds)
        params = base | {"zoom": "16", "bbox": bbox, "neighbourhood": str(neighbourhood)}
        return Call("one neighbourhood, zoom 16", "GET", "/api/participation/map", params)

    def proposal_page(rng: random.Random, _: dict[str, Any]) -> Call:
        return Call("random proposal", "GET", f"/participation/proposals/{rng.randint(low, high)}")

    def support(rng: random.Random, context: dict[str, Any]) -> Call:
        while (proposal := rng.randint(low, high)) in context["supported"]:
            pass
        context["supported"].add(proposal)
        form = {"csrf_token": context["csrf"]}
        return Call(
            "form POST, new support", "POST", f"/participation/proposals/{proposal}/support", form=form, ok=(303,)
        )

    return {
        "proposal list page": list_page,
        "proposal list page, text search": text_search,
        "proposals map": map_layer,
        "proposal page": proposal_page,
        "support a proposal": support,
    }


# --- the run ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="its own database, dropped and recreated")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the Grand-Débat volumes (default 1)")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop clients per operation")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds measured per operation")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not counted before each")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="measure on the database a previous --keep run left (no load; kept)"
    )
    parser.add_argument(
        "--comments", type=int, default=None, help="comments to load (default: 1,800,000 times --scale)"
    )
    parser.add_argument("--only", default="", help="measure only the operations whose name contains this")
    parser.add_argument("--pb-ballots", type=int, default=100_000, help="synthetic ballots for the PB results")
    parser.add_argument("--pb-only", action="store_true", help="only time the participatory-budget results")
    args = parser.parse_args()
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    return args


def synthetic_pb(seed: int, ballots: int, projects: int = 50) -> tuple[int, dict[int, int], list[list[int]]]:
    """A budget (a quarter of the projects' total cost), project costs from 20,000 to 400,000 euros, and
    knapsack ballots: popularity-weighted picks in random order, 2 to 10 projects, within the budget."""
    rng = random.Random(seed)
    costs = {project: rng.randrange(20_000, 400_000) * 100 for project in range(1, projects + 1)}
    total = sum(costs.values()) // 4
    ids = list(costs)
    weights = [rng.paretovariate(1.2) for _ in ids]
    result = []
    for _ in range(ballots):
        wanted = rng.randint(2, 10)
        chosen: list[int] = []
        spent = 0
        for project in rng.choices(ids, weights, k=3 * wanted):
            if project not in chosen and spent + costs[project] <= total:
                chosen.append(project)
                spent += costs[project]
                if len(chosen) == wanted:
                    break
        result.append(chosen)
    return total, costs, result


def pb_results_rows(ballot_count: int) -> list[tuple[str, ...]]:
    """Time both counting methods on synthetic ballots; and pabutools' MES on a sample, for reference."""
    from collections import Counter as Multiset

    from pabutools.election import ApprovalMultiProfile, Cost_Sat, FrozenApprovalBallot, Instance, Project
    from pabutools.rules import method_of_equal_shares as pabutools_mes

    from citoyen.participation.budgets.equal_shares import method_of_equal_shares
    from citoyen.participation.budgets.rules import compute_results

    total, costs, ballots = synthetic_pb(2027, ballot_count)
    distinct = len({frozenset(ballot) for ballot in ballots})
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        outcome = compute_results(total, costs, ballots)
        timings.append(time.perf_counter() - started)
    timings.sort()
    rows: list[tuple[str, ...]] = [
        (
            "PB results, greedy + Equal Shares (Add1, greedy completion)",
            f"{ballot_count:,} ballots ({distinct:,} distinct) × {len(costs)} projects",
            "3 runs",
            f"{timings[1] * 1000:.0f}",
            f"{timings[-1] * 1000:.0f}",
            f"{len(outcome.greedy.selected)} / {len(outcome.equal_shares.selected)} funded",
            "< 10 s",
            "0",
        )
    ]
    sample = Multiset(frozenset(ballot) for ballot in ballots[:5_000])
    projects = {project: Project(f"p{project:09d}", cost) for project, cost in costs.items()}
    instance = Instance(projects.values(), budget_limit=total)
    profile = ApprovalMultiProfile(instance=instance)
    for ballot, count in sample.items():
        profile[FrozenApprovalBallot([projects[project] for project in sorted(ballot)])] = count
    started = time.perf_counter()
    reference = [int(project.name[1:]) for project in pabutools_mes(instance, profile, sat_class=Cost_Sat)]
    pabutools_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ours = method_of_equal_shares(total, costs, sample, None)
    ours_seconds = time.perf_counter() - started
    same = "same outcome" if ours == reference else "DIFFERENT OUTCOME"
    rows.append(
        (
            "  · pabutools MES once (reference)",
            "5,000 ballots",
            "1 run",
            f"{pabutools_seconds * 1000:.0f}",
            "",
            "",
            "",
            "",
        )
    )
    rows.append(
        (
            "  · vectorised MES once, same ballots",
            "5,000 ballots",
            "1 run",
            f"{ours_seconds * 1000:.0f}",
            "",
            same,
            "",
            "",
        )
    )
    return rows


async def run(args: argparse.Namespace) -> None:
    if args.pb_only:
        print(f"timing participatory-budget results on {args.pb_ballots:,} synthetic ballots …", flush=True)
        print_table(args, pb_results_rows(args.pb_ballots))
        return
    url = args.pg_url
    if not args.reuse:
        await recreate_database(url)
    try:
        if args.reuse:
            print(f"reusing {make_url(url).database} as a previous --keep run left it …", flush=True)
            loaded, comments = await reopen(url)
            comment_total = comments.total
        else:
            print(f"loading (scale {args.scale}) into {make_url(url).database} …", flush=True)
            loaded = await load(url, args.scale)
            for step, seconds in loaded.seconds.items():
                print(f"  {step:<32} {seconds:7.1f} s")
            comment_total = args.comments if args.comments is not None else loaded.counts["comments"]
            comments = await load_comments(url, loaded, comment_total)
            for step, seconds in comments.seconds.items():
                print(f"  {step:<32} {seconds:7.1f} s")
        print(
            f"  {comment_total:,} comments; {len(comments.busy_proposals):,} proposals with "
            f"≥ {BUSY_COMMENTS} top-level comments"
        )
        voters = await create_voters(url, args.concurrency)
        rows = {
            "proposal list page": loaded.counts["proposals"],
            "proposal list page, text search": loaded.counts["proposals"],
            "proposals map": loaded.counts["proposals"],
            "proposal page": loaded.counts["proposals"],
            "support a proposal": loaded.counts["supports"],
            "proposal page with its first 50 comments": comment_total,
        }
        targets = {
            "proposal list page": "p95 < 150 ms",
            "proposal list page, text search": "(no target)",
            "proposals map": "p95 < 150 ms",
            "proposal page": "p95 < 150 ms",
            "support a proposal": "≥ 1,000/s",
            "proposal page with its first 50 comments": "p95 < 150 ms",
        }
        table: list[tuple[str, ...]] = []
        with (
            tempfile.TemporaryDirectory(prefix="citoyen-bench-participation-") as data_dir,
            serve(url, Path(data_dir), args.workers) as server,
        ):
            for name, make in (scenarios(loaded) | debate_scenarios(comments)).items():
                if args.only and args.only not in name:
                    continue
                print(f"measuring {name} …", flush=True)
                result = await measure(
                    server.base_url,
                    make,
                    args.concurrency,
                    args.duration,
                    args.warmup,
                    voters if name == "support a proposal" else None,
                )
                done = len(result.all_latencies)
                table.append(
                    (
                        name,
                        f"{rows[name]:,}",
                        f"{done:,}",
                        f"{result.p(50):.1f}",
                        f"{result.p(95):.1f}",
                        f"{done / result.seconds:.0f}/s",
                        targets[name],
                        ", ".join(f"{k}×{v}" for k, v in result.errors.most_common(3)) or "0",
                    )
                )
                for label in sorted(result.latencies):
                    values = result.latencies[label]
                    table.append(
                        (
                            f"  · {label}",
                            "",
                            f"{len(values):,}",
                            f"{result.p(50, label):.1f}",
                            f"{result.p(95, label):.1f}",
                            "",
                            "",
                            "",
                        )
                    )
            if not args.only or args.only in "proposal page with its first 50 comments":
                print("measuring the debate's queries alone …", flush=True)
                alone = await measure_debate_page_queries(url, comments)
                table.append(
                    (
                        "first 50 comments, service call alone",
                        f"{comment_total:,}",
                        f"{len(alone.all_latencies):,}",
                        f"{alone.p(50):.1f}",
                        f"{alone.p(95):.1f}",
                        "",
                        "(part of the page)",
                        "0",
                    )
                )
                for label in sorted(alone.latencies):
                    values = alone.latencies[label]
                    table.append(
                        (
                            f"  · {label}",
                            "",
                            f"{len(values):,}",
                            f"{alone.p(50, label):.1f}",
                            f"{alone.p(95, label):.1f}",
                            "",
                            "",
                            "",
                        )
                    )
        print(f"timing participatory-budget results on {args.pb_ballots:,} synthetic ballots …", flush=True)
        table.extend(pb_results_rows(args.pb_ballots))
        print_table(args, table)
    finally:
        if not (args.keep or args.reuse):
            await recreate_database(url, drop_only=True)


def print_table(args: argparse.Namespace, table: list[tuple[str, ...]]) -> None:
    header = ("operation", "rows", "requests", "p50 ms", "p95 ms", "throughput", "target", "errors")
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    print()
    print(
        f"participation benchmark — scale {args.scale}, {args.concurrency} clients, {args.workers} workers, "
        f"{args.duration:.0f} s per operation, {os.cpu_count()} CPUs shared with the clients"
    )
    for row in [header, tuple("-" * w for w in widths), *table]:
        print("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))
    print(f"\ncommand: uv run python bench/participation.py {' '.join(sys.argv[1:])}")


if __name__ == "__main__":
    asyncio.run(run(parse_args()))
