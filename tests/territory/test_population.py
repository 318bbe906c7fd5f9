"""The neighbourhoods' populations from INSEE's files: the IRIS base summed per quartier (IRIS of other places
passed over), a file of one quartier a line, and a bad line refused by its number with nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.territory import service as territory
from tests.territory.helpers import create_territory

SAMPLE = Path(__file__).parent / "data" / "population-iris.csv"


async def test_the_iris_base_is_summed_per_quartier(session: AsyncSession) -> None:
    await create_territory(session)
    ids = {n.name: n.id for n in await territory.list_neighbourhoods(session)}
    found = await territory.import_population(session, SAMPLE.read_text(encoding="utf-8"), SAMPLE.name)
    assert found.outside == 1  # the Paris IRIS: another city's
    stored = await territory.populations(session)
    assert stored is not None
    assert stored.residents == {ids["Ouest"]: 2001, ids["Est"]: 3000}
    assert (stored.year, stored.source, stored.estimated) == (2021, "population-iris.csv", False)


async def test_a_bad_line_is_named_and_nothing_changes(session: AsyncSession) -> None:
    await create_territory(session)
    await territory.import_population(session, "code,population\nW1,10\nE1,20\n", "a.csv")
    with pytest.raises(territory.PopulationImportError, match="line 3: population is not a number"):
        await territory.import_population(session, "code;population\nW1;12\nE1;many\n", "b.csv")
    with pytest.raises(territory.PopulationImportError, match="line 2: no neighbourhood of the city has the code"):
        await territory.import_population(session, "code;population\nX9;12\n", "c.csv")
    with pytest.raises(territory.PopulationImportError, match="line 1: no population column"):
        await territory.import_population(session, "code;residents\nW1;12\n", "d.csv")
    stored = await territory.populations(session)
    assert stored is not None and sorted(stored.residents.values()) == [10, 20]
