"""CKAN `package_search` over a catalogue of 10,000 datasets, with facets: p50 and p95 per kind of query, through
the service function (`opendata.search`) and through HTTP (the app in-process, driven by httpx over ASGI, as
ckanapi would call it: GET /api/3/action/package_search). Target: p95 < 50 ms on SQLite and PostgreSQL.

The catalogue is made by bulk inserts that fill the columns the catalogue service fills (search_title and
search_body in `indexed_text` form; on SQLite the migration's triggers fill the FTS5 table, on PostgreSQL the
trigger fills opendata_dataset_words): titles and descriptions in French and English drawn (Zipf) from a vocabulary of
about 3,000 words, 1-8 tags out of 500, 1-4 resources with formats, 20 publishers, the 13 EU themes as groups,
3 licences, a few drafts and deleted datasets.

Query kinds (each run `--calls` times, cycling through varied words): browse (no q, all five facets), one word,
two or three words, a word with an fq (organization, tags or res_format), sort by name and by last modified,
and a page beyond the first (start 100).

Run: `uv run python bench/opendata_search.py [--backend sqlite|postgresql|both] [--pg-url URL] [--datasets N]`.
SQLite in a temporary directory; PostgreSQL in its own database (`citoyen_bench_opendata_search`, dropped and
recreated, then dropped). `measure(database_url, datasets)` returns the rows, for bench/opendata.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from databases import chosen_backends, fresh_database
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from tables import print_aligned

from citoyen.app import create_app
from citoyen.config import Settings
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_engine
from citoyen.opendata import service as opendata
from citoyen.opendata.models import Dataset, DatasetGroup, DatasetTag, Group, Organization, Resource, Tag
from citoyen.textsearch import indexed_text

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/citoyen_bench_opendata_search"
TARGET_MS = 50.0
SEED = 2026
FACETS = list(opendata.FACET_FIELDS)

# Real words first (they take the frequent ranks of the Zipf draw, as in real titles), then made-up ones.
FRENCH_TEXT = (
    "données ville quartier circulation vélo vélos piste cyclable stationnement parking bus tramway métro gare "
    "trafic comptage comptages capteur capteurs qualité air bruit pollution dioxyde azote particules mesure "
    "mesures station stations arbre arbres espace vert parc jardin propreté déchets collecte tri recyclage "
    "conteneur verre eau consommation énergie électricité chauffage bâtiment bâtiments école écoles collège "
    "crèche bibliothèque musée piscine gymnase sport équipement équipements culture budget dépenses recettes "
    "subvention subventions marché marchés public publics élection élections bureau vote résultats population "
    "recensement naissance naissances décès mariage logement logements social sociaux permis construire "
    "travaux voirie chaussée trottoir éclairage lampadaire signalement signalements incident incidents "
    "propositions participation budget participatif enquête réponses horaires ouverture adresse adresses "
    "commune arrondissement îlot parcelle cadastre urbanisme plan local zone zones inondation risque risques "
    "sécurité police accident accidents route routes vitesse limitation radar feu feux carrefour piéton "
    "piétons accessibilité handicap santé hôpital pharmacie médecin tourisme hôtel restaurant commerce "
    "commerces entreprise entreprises emploi chômage associations événement événements festival marché "
    "annuel mensuel quotidien historique carte géographique liste inventaire tableau statistiques"
)
ENGLISH_TEXT = (
    "data city district traffic bicycle bike lane parking bus tram subway station count counts sensor sensors "
    "air quality noise pollution nitrogen dioxide particulate measurement measurements tree trees green park "
    "garden waste collection recycling container glass water consumption energy electricity heating building "
    "buildings school schools library museum swimming pool sport facilities culture budget spending revenue "
    "grants public election elections polling results population census births deaths housing social permits "
    "roadworks street pavement lighting report reports incidents proposals participation survey answers "
    "opening hours address addresses borough parcel land registry planning zone flood risk safety police "
    "accident accidents road speed limit camera junction pedestrian accessibility health hospital pharmacy "
    "tourism hotel shops business jobs unemployment associations events festival annual monthly daily map "
    "list inventory table statistics open dataset records yearly"
)
FRENCH, ENGLISH = FRENCH_TEXT.split(), ENGLISH_TEXT.split()
SYLLABLES = "ba be bi bo bu ca co cu da de di do fa fe fi fo ga go la le li lo lu ma me mi mo mu na ne ni no nu"
SYLLABLES += " pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo tri pla gro stra bel mon"
FORMATS = ("CSV", "CSV", "CSV", "GEOJSON", "JSON", "XLSX", "PARQUET", "PDF", "ZIP")
LICENCES = ("etalab-2.0", "odc-odbl", "cc-by-4.0")


def vocabulary(size: int, rng: random.Random) -> list[str]:
    words = list(dict.fromkeys(FRENCH + ENGLISH))
    syllables = SYLLABLES.split()
    made: set[str] = set(words)
    while len(words) < size:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in made:
            made.add(word)
            words.append(word)
    return words


class Zipf:
    """Words drawn with probability ~ 1/rank, as words fall in real texts."""

    def __init__(self, words: list[str], rng: random.Random) -> None:
        self.words = words
        self.rng = rng
        weights = [1.0 / (rank + 1) for rank in range(len(words))]
        total = sum(weights)
        running = 0.0
        self.cumulative = []
        for weight in weights:
            running += weight / total
            self.cumulative.append(running)

    def text(self, count: int) -> str:
        return " ".join(self.rng.choices(self.words, cum_weights=self.cumulative, k=count))


async def load(session: AsyncSession, datasets: int) -> dict[str, list[str]]:
    """The catalogue, by bulk inserts; returns names the queries draw from (organizations, tags, formats)."""
    rng = random.Random(SEED)
    draw = Zipf(vocabulary(3000, rng), rng)
    now = datetime.now(UTC)
    organizations = [
        {"uuid": str(uuid.uuid4()), "name": f"direction-{n:02d}", "title": f"Direction {n} — {draw.text(2)}"}
        for n in range(20)
    ]
    await session.execute(insert(Organization), organizations)
    organization_ids = list((await session.execute(select(Organization.id).order_by(Organization.id))).scalars())
    tag_names = list(dict.fromkeys(draw.words[:250] + draw.words[1000:1250]))  # common words and rarer ones
    await session.execute(insert(Tag), [{"name": name} for name in tag_names])
    tags = dict((await session.execute(select(Tag.id, Tag.name))).all())
    tag_ids = list(tags)
    group_ids = list((await session.execute(select(Group.id))).scalars())
    rows, tag_rows, group_rows, resource_rows = [], [], [], []
    for number in range(1, datasets + 1):
        title, title_en = draw.text(rng.randint(3, 8)).capitalize(), draw.text(rng.randint(3, 8)).capitalize()
        notes, notes_en = draw.text(rng.randint(20, 80)), draw.text(rng.randint(20, 60))
        chosen = rng.sample(tag_ids, rng.randint(1, 8))
        modified = now - timedelta(minutes=rng.randint(0, 600_000))
        rows.append(
            {
                "id": number,
                "uuid": str(uuid.uuid4()),
                "name": f"jeu-{number:05d}-{title.split()[0].lower()}"[:100],
                "title": title,
                "title_en": title_en,
                "notes": notes,
                "notes_en": notes_en,
                "license_id": rng.choice(LICENCES),
                "organization_id": rng.choice(organization_ids),
                "private": number % 97 == 0,
                "state": "deleted" if number % 101 == 0 else "active",
                "created_at": modified - timedelta(days=rng.randint(0, 700)),
                "modified_at": modified,
                "search_title": indexed_text([title, title_en, *(tags[tag] for tag in chosen)]),
                "search_body": indexed_text([notes, notes_en]),
            }
        )
        tag_rows += [{"dataset_id": number, "tag_id": tag} for tag in chosen]
        group_rows += [{"dataset_id": number, "group_id": group} for group in rng.sample(group_ids, rng.randint(1, 2))]
        for position in range(rng.randint(1, 4)):
            resource_rows.append(
                {
                    "uuid": str(uuid.uuid4()),
                    "dataset_id": number,
                    "position": position,
                    "name": draw.text(3),
                    "format": rng.choice(FORMATS),
                    "url": f"https://example.org/{number}/{position}",
                }
            )
    for table, batch in (
        (Dataset, rows),
        (DatasetTag, tag_rows),
        (DatasetGroup, group_rows),
        (Resource, resource_rows),
    ):
        for start in range(0, len(batch), 2000):
            await session.execute(insert(table), batch[start : start + 2000])
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT setval('opendata_datasets_id_seq', :last)"), {"last": datasets})
    return {"organizations": [row["name"] for row in organizations], "tags": tag_names, "formats": ["CSV", "GEOJSON"]}


def query_kinds(names: dict[str, list[str]]) -> dict[str, Callable[[random.Random], dict[str, Any]]]:
    """Each kind of query as package_search parameters, with words and filters varied from call to call."""
    common = [word for word in FRENCH + ENGLISH if len(word) > 3][:150]

    def words(rng: random.Random, count: int) -> str:
        return " ".join(rng.sample(common, count))

    return {
        "browse + 5 facets": lambda rng: {},
        "1 word": lambda rng: {"q": words(rng, 1)},
        "2-3 words": lambda rng: {"q": words(rng, rng.randint(2, 3))},
        "word + fq": lambda rng: {
            "q": words(rng, 1),
            "fq": rng.choice(
                [
                    f"organization:{rng.choice(names['organizations'])}",
                    f'tags:"{rng.choice(names["tags"][:100])}"',
                    f"res_format:{rng.choice(names['formats'])}",
                ]
            ),
        },
        "sort name asc": lambda rng: {"q": words(rng, 1), "sort": "name asc"},
        "sort modified desc": lambda rng: {"sort": "metadata_modified desc"},
        "page 11 (start 100)": lambda rng: {"q": words(rng, 1), "start": 100},
    }


def service_query(params: dict[str, Any]) -> opendata.SearchQuery:
    return opendata.SearchQuery(
        q=params.get("q", ""),
        fq=opendata.parse_fq(params.get("fq", "")),
        start=params.get("start", 0),
        sort=opendata.parse_sort(params.get("sort", "")),
        facet_fields=opendata.FACET_FIELDS,
    )


async def _timed(calls: int, one: Callable[[random.Random], Awaitable[None]]) -> list[float]:
    rng = random.Random(SEED)
    await one(rng)  # warm the caches and the plan cache, as a server that has been running
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        await one(rng)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _row(backend: str, via: str, kind: str, timings: list[float], count: int) -> dict[str, Any]:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return {
        "backend": backend,
        "via": via,
        "query": kind,
        "calls": len(timings),
        "matches": count,
        "p50_ms": statistics.median(ordered),
        "p95_ms": p95,
        "target": f"p95 < {TARGET_MS:.0f} ms: {'met' if p95 < TARGET_MS else 'MISSED'}",
    }


async def measure(database_url: str, datasets: int = 10_000, calls: int = 60) -> list[dict[str, Any]]:
    """Load `datasets` into the (empty) database at `database_url`, then time each kind of query through the
    service and through HTTP; one row per (via, kind)."""
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    engine = make_app_engine(database_url)
    try:
        await upgrade_engine(engine)
        settings = Settings(data_dir=Path("."), database_url=database_url, secret_key="bench-search-" + "x" * 40)
        app = create_app(settings, engine=engine)
        sessions = app.state.sessionmaker
        async with sessions() as session, session.begin():
            names = await load(session, datasets)
        if backend == "postgresql":
            async with engine.connect() as connection:
                await connection.execute(text("ANALYZE"))
                await connection.commit()
        rows = []
        cache = opendata.WholeCatalogueCache()
        for kind, make in query_kinds(names).items():
            matches: list[int] = []

            async def by_service(rng: random.Random, make: Any = make, matches: list[int] = matches) -> None:
                async with sessions() as session:
                    result = await opendata.search(session, service_query(make(rng)), cache)
                    matches.append(result.count)

            timings = await _timed(calls, by_service)
            rows.append(_row(backend, "service", kind, timings, round(statistics.mean(matches))))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for kind, make in query_kinds(names).items():
                counts: list[int] = []

                async def by_http(rng: random.Random, make: Any = make, counts: list[int] = counts) -> None:
                    params = {**make(rng), "facet.field": json.dumps(FACETS)}
                    response = await client.get("/api/3/action/package_search", params=params)
                    response.raise_for_status()
                    counts.append(response.json()["result"]["count"])

                timings = await _timed(calls, by_http)
                rows.append(_row(backend, "HTTP", kind, timings, round(statistics.mean(counts))))
        return rows
    finally:
        await engine.dispose()


def print_table(rows: list[dict[str, Any]], command: str) -> None:
    headers = ("backend", "via", "query", "calls", "matches", "p50 ms", "p95 ms", "target")
    cells = [
        (
            r["backend"],
            r["via"],
            r["query"],
            str(r["calls"]),
            str(r["matches"]),
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            r["target"],
        )
        for r in rows
    ]
    print_aligned(headers, cells, f"$ {command}")


async def main(args: argparse.Namespace) -> None:
    rows: list[dict[str, Any]] = []
    for backend in chosen_backends(args.backend):
        async with fresh_database(backend, args.pg_url, "citoyen-bench-opendata-search-") as (url, _data_dir):
            rows += await measure(url, args.datasets, args.calls)
    print_table(rows, "uv run python bench/opendata_search.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=60, help="calls per kind of query and way")
    asyncio.run(main(parser.parse_args()))
