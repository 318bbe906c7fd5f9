"""Geocoding at the size of Paris (150,000 addresses, `--addresses`), on SQLite and PostgreSQL: the import of a
BAN-format CSV file (`citoyen territory import-addresses`' function), the street index built once per process,
then p50 and p95 per query of each kind, through the gazetteer the app uses (`territory.Gazetteer`).

The file is SYNTHETIC, made here from a seed: about 6,000 streets named from French street types, first names
and surnames ("Rue Camille Moreau", "Boulevard Saint-Louis Dupont"...), 1 to 60 numbers each, points drawn in
Paris's bounding box. Query kinds: a full address with its postcode, the same abbreviated and without accents
("12 bd st louis dupont"), a prefix as one types (autocomplete, 5 suggestions), a pin to its nearest address.

Run: `uv run python bench/geocoding.py [--backend sqlite|postgresql|both] [--pg-url URL] [--addresses N]`.
SQLite in a temporary directory; PostgreSQL in its own database (`citoyen_bench_geocoding`, dropped and
recreated, then dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from databases import chosen_backends, fresh_database
from tables import print_aligned

from citoyen.app import build_event_hub
from citoyen.db import make_sessionmaker
from citoyen.engines import make_app_engine
from citoyen.migrations import upgrade_engine
from citoyen.territory import service as territory

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/citoyen_bench_geocoding"
SEED = 2026
QUERIES = 300
TYPES = ("Rue", "Avenue", "Boulevard", "Place", "Impasse", "Passage", "Villa", "Quai", "Allée", "Square")
SHORT = {
    "Rue": "r",
    "Avenue": "av",
    "Boulevard": "bd",
    "Place": "pl",
    "Impasse": "imp",
    "Passage": "pass",
    "Villa": "vla",
    "Quai": "qu",
    "Allée": "allee",
    "Square": "sq",
}
FIRST = str.split(
    "Camille Louis Marie Jean Pierre Jeanne Victor Émile Hélène Jules Lucie Paul Marcel Simone Henri Louise "
    "Saint-Louis Saint-Martin Sainte-Anne Saint-Éloi Joseph Charles Élise Georges André Berthe Léon Rosa Olympe "
    "Gustave Aimé Édith Maurice Clément Rosalie Félix Honoré Agathe Théodore Célestin"
)
LAST = str.split(
    "Moreau Dupont Lefèvre Girard Bonnet Fontaine Chevalier Robin Gautier Morel Perrin Mercier Blanchard Garnier "
    "Faure Rousseau Lambert Barbier Arnaud Renard Brunet Masson Leclerc Picard Roussel Giraud Caron Dumas Lacroix "
    "Carpentier Vidal Aubert Marchand Lemoine Noël Boyer Bertrand Collin Hubert Rey Schmitt Colin Vasseur Dufour "
    "Roger Riviere Guillot Baron Meunier Brun"
)


def synthetic_csv(count: int, rng: random.Random) -> tuple[bytes, list[tuple[int, str, str, str]]]:
    """A BAN-format file of `count` synthetic addresses, and (number, type, name, postcode) of each."""
    streets = [(kind, f"{first} {last}") for kind in TYPES for first in FIRST for last in LAST]
    rng.shuffle(streets)
    lines = ["id;numero;rep;nom_voie;code_postal;nom_commune;lon;lat"]
    made: list[tuple[int, str, str, str]] = []
    for kind, name in streets:
        if len(made) >= count:
            break
        postcode = f"750{rng.randint(1, 20):02d}"
        lon0, lat0 = rng.uniform(2.25, 2.41), rng.uniform(48.82, 48.90)
        for number in range(1, min(rng.randint(1, 60), count - len(made)) + 1):
            lon, lat = lon0 + number * 0.00004, lat0 + number * 0.00002
            lines.append(f"b{len(made)};{number};;{kind} {name};{postcode};Paris;{lon:.6f};{lat:.6f}")
            made.append((number, kind, name, postcode))
    return ("\n".join(lines) + "\n").encode(), made


def fold_accents(text: str) -> str:
    return text.translate(str.maketrans("éèêëÉàâîïôûùç", "eeeeEaaiiouuc"))


async def timed(work: Callable[[], Awaitable[Any]], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def run_backend(backend: str, url: str, count: int) -> list[list[str]]:
    rng = random.Random(SEED)
    data, made = synthetic_csv(count, rng)
    engine = make_app_engine(url)
    await upgrade_engine(engine)
    sessions = make_sessionmaker(engine, build_event_hub())
    rows: list[list[str]] = []
    try:
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            imported = await territory.import_addresses(session, io.BytesIO(data), "synthetic.csv")
        seconds = time.perf_counter() - started
        rows.append([backend, f"import {imported.count:,} addresses", f"{seconds:.1f} s", f"{count / seconds:,.0f}/s"])
        gazetteer = territory.Gazetteer()
        async with sessions() as session:
            started = time.perf_counter()
            index = await gazetteer.streets.get(session)
            built = (time.perf_counter() - started) * 1000
            assert index is not None
            rows.append([backend, f"street index ({len(index.streets):,} streets), once", f"{built:.0f} ms", ""])
            picks = [made[rng.randrange(len(made))] for _ in range(QUERIES)]
            found = 0

            def kind_of(queries: list[str], autocomplete: bool = False) -> Callable[[], Awaitable[Any]]:
                """One query of a kind at each call; `found` counts those whose first answer is the address asked."""
                asked = iter(zip(queries, picks, strict=True))

                async def one() -> None:
                    nonlocal found
                    query, (number, kind, name, _postcode) = next(asked)
                    limit = 5 if autocomplete else 1
                    places = await gazetteer.search(session, query, limit=limit, autocomplete=autocomplete)
                    found += bool(places) and (places[0].street, places[0].housenumber) == (
                        f"{kind} {name}",
                        str(number),
                    )

                return one

            kinds = {
                "full address with postcode": kind_of([f"{n} {k} {name} {pc} Paris" for n, k, name, pc in picks]),
                "abbreviated, no accents": kind_of(
                    [fold_accents(f"{n} {SHORT[k]} {name.replace('Saint-', 'St ')}").lower() for n, k, name, _ in picks]
                ),
                "autocomplete (5 suggestions)": kind_of(
                    [f"{n} {k} {name[: len(name) - 3]}" for n, k, name, _ in picks], autocomplete=True
                ),
            }
            for label, one in kinds.items():
                found = 0
                times = await timed(one, QUERIES)
                p95 = statistics.quantiles(times, n=20)[18]
                rows.append(
                    [
                        backend,
                        f"{label}: right first {found}/{QUERIES}",
                        f"p50 {statistics.median(times):.1f} ms",
                        f"p95 {p95:.1f} ms",
                    ]
                )
            points = iter([(rng.uniform(2.25, 2.41), rng.uniform(48.82, 48.90)) for _ in range(QUERIES)])
            near = 0

            async def reverse() -> None:
                nonlocal near
                lon, lat = next(points)
                near += (await gazetteer.reverse(session, lon, lat)) is not None

            times = await timed(reverse, QUERIES)
            p95 = statistics.quantiles(times, n=20)[18]
            rows.append(
                [
                    backend,
                    f"pin -> nearest address (within 150 m: {near}/{QUERIES})",
                    f"p50 {statistics.median(times):.1f} ms",
                    f"p95 {p95:.1f} ms",
                ]
            )
    finally:
        await engine.dispose()
    return rows


async def main(args: argparse.Namespace) -> None:
    rows: list[list[str]] = []
    for backend in chosen_backends(args.backend):
        async with fresh_database(backend, args.pg_url, "citoyen-bench-geocoding-") as (url, _data_dir):
            rows += await run_backend(backend, url, args.addresses)
    print_aligned(["backend", "what", "time", ""], rows, f"Geocoding, {args.addresses:,} synthetic addresses")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--addresses", type=int, default=150_000)
    asyncio.run(main(parser.parse_args()))
