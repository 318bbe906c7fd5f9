"""Each neighbourhood's population, imported from INSEE's CSV files, for the per-resident indicators.

Two layouts are read (UTF-8, `;` or `,` between columns, the header on the first line):

- INSEE's IRIS base ("Base infracommunale", population): one IRIS a line, its code in `IRIS` (9 characters:
  the commune's 5, then 4), its population in `P<yy>_POP` (e.g. `P21_POP`: 2021; INSEE's IRIS figures have
  decimals). An IRIS belongs to the neighbourhood whose code is its `GRD_QUART` (the "grand quartier": in Paris,
  the 80 quartiers administratifs, code commune + 2 digits, as the quartiers' `c_quinsee`) or, without that
  column, the IRIS code's first 7 characters. The base covers France: lines of IRIS outside the city's
  neighbourhoods are passed over and counted.
- One neighbourhood a line: its code in `code` (or `GRD_QUART`) and its residents in `population` (or
  `P<yy>_POP`). A code no neighbourhood has is an error here: the file is about this city.

All or nothing: the first bad line stops the import with its number and why, and the populations stored before
stay as they were; a good file replaces them all.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.errors import Refusal
from citoyen.territory.models import Neighbourhood, NeighbourhoodPopulation

POPULATION_COLUMN = re.compile(r"^P(\d\d)_POP$", re.IGNORECASE)
LARGEST = 50_000_000


class PopulationImportError(Refusal):
    """A line of the population file cannot be imported; the message (English) names the line and says why."""


@dataclass
class PopulationFile:
    """What a file says: residents per neighbourhood id, the census year, and what was passed over."""

    populations: dict[int, float] = field(default_factory=dict)
    year: int | None = None
    lines: int = 0
    outside: int = 0  # IRIS lines of other places (the IRIS base covers France)
    missing: list[str] = field(default_factory=list)  # the city's neighbourhoods the file does not cover


def _number(text: str, line: int, column: str) -> float:
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise PopulationImportError(f"line {line}: {column} is not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0 or value > LARGEST:
        raise PopulationImportError(f"line {line}: {column} {text!r} is not a number of residents")
    return value


def parse_population(text: str, codes: dict[str, int]) -> PopulationFile:
    """The residents per neighbourhood of a population CSV (`codes`: neighbourhood code -> id); a refusal naming
    the first bad line otherwise."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise PopulationImportError("line 1: the file is empty (a header line is needed)") from None
    upper = [name.upper() for name in header]
    found = PopulationFile()
    population_at = next((i for i, name in enumerate(header) if POPULATION_COLUMN.match(name)), None)
    if population_at is not None:
        match = POPULATION_COLUMN.match(header[population_at])
        assert match is not None
        found.year = 2000 + int(match.group(1))
    elif "POPULATION" in upper:
        population_at = upper.index("POPULATION")
    else:
        raise PopulationImportError("line 1: no population column (P21_POP, or population)")
    iris_file = "IRIS" in upper
    if "GRD_QUART" in upper:
        code_at = upper.index("GRD_QUART")
    elif "CODE" in upper:
        code_at = upper.index("CODE")
    elif iris_file:
        code_at = upper.index("IRIS")
    else:
        raise PopulationImportError("line 1: no code column (IRIS, GRD_QUART or code)")
    iris_at = upper.index("IRIS") if iris_file else None
    column = header[population_at]
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            raise PopulationImportError(f"line {line}: {len(record)} columns where the header has {len(header)}")
        code = record[code_at].strip()
        if iris_at is not None and code_at == iris_at:
            if len(code) != 9:
                raise PopulationImportError(f"line {line}: IRIS code {code!r} is not 9 characters")
            code = code[:7]
        if not code:
            raise PopulationImportError(f"line {line}: the code is empty")
        residents = _number(record[population_at], line, column)
        found.lines += 1
        neighbourhood_id = codes.get(code)
        if neighbourhood_id is None:
            if iris_file:
                found.outside += 1
                continue
            raise PopulationImportError(f"line {line}: no neighbourhood of the city has the code {code!r}")
        found.populations[neighbourhood_id] = found.populations.get(neighbourhood_id, 0.0) + residents
    if not found.populations:
        raise PopulationImportError("no line of the file is about the city's neighbourhoods (check their codes)")
    found.missing = sorted(code for code, ident in codes.items() if ident not in found.populations)
    return found


async def neighbourhood_codes(session: AsyncSession) -> dict[str, int]:
    """Code -> id of the neighbourhoods that have a code."""
    rows = await session.execute(select(Neighbourhood.code, Neighbourhood.id).where(Neighbourhood.code.is_not(None)))
    return {str(code): int(ident) for code, ident in rows.all()}


async def store_populations(
    session: AsyncSession, populations: dict[int, float], year: int | None, source: str, estimated: bool = False
) -> int:
    """Replaces every neighbourhood's population with these (rounded to whole residents); returns how many."""
    await session.execute(delete(NeighbourhoodPopulation))
    rows = [
        {
            "neighbourhood_id": ident,
            "population": round(value),
            "year": year,
            "source": source[:500],
            "estimated": estimated,
        }
        for ident, value in sorted(populations.items())
    ]
    if rows:
        await session.execute(insert(NeighbourhoodPopulation), rows)
    return len(rows)


async def import_population(session: AsyncSession, text: str, source: str) -> PopulationFile:
    """Reads a population file and replaces the stored populations with it (all or nothing in the caller's
    transaction); a refusal naming the first bad line otherwise."""
    found = parse_population(text, await neighbourhood_codes(session))
    await store_populations(session, found.populations, found.year, source)
    return found


@dataclass(frozen=True, slots=True)
class Populations:
    """Residents per neighbourhood id, with where the figures come from."""

    residents: dict[int, int]
    year: int | None
    source: str
    estimated: bool
    # Every neighbourhood of the city has one (a city-wide figure per resident may use the sum).
    complete: bool = False

    def of(self, neighbourhood_ids: Iterable[int]) -> int:
        return sum(self.residents.get(ident, 0) for ident in neighbourhood_ids)


async def populations(session: AsyncSession) -> Populations | None:
    """Every neighbourhood's population as stored; None when none is."""
    rows = list((await session.execute(select(NeighbourhoodPopulation))).scalars())
    if not rows:
        return None
    neighbourhoods = (await session.execute(select(func.count()).select_from(Neighbourhood))).scalar_one()
    return Populations(
        residents={row.neighbourhood_id: row.population for row in rows if row.population > 0},
        year=rows[0].year,
        source=rows[0].source,
        estimated=any(row.estimated for row in rows),
        complete=len(rows) == neighbourhoods,
    )
