"""package_search's count, facets and page against what the catalogue holds, worked out here by hand: the words are
matched once and the facets and a page sorted by relevance or time are made from those matches, and they must be
what a reader expects whatever the path (words or none, filters, sorts, pages, facet limits)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opendata import service as opendata
from citoyen.opendata.models import Dataset, Organization
from tests.opendata.helpers import create_dataset, create_organization

LICENCES = ("etalab-2.0", "odc-odbl", "cc-by-4.0")
GROUPS = ("tran", "envi", "educ", "heal")
TAGS = ("eau", "air", "bruit", "arbres", "bus", "parcs")
FORMATS = ("CSV", "GEOJSON", "JSON")


@dataclass
class Made:
    dataset: Dataset
    organization: str
    tags: list[str]
    groups: list[str]
    formats: set[str]
    words: str  # "vélo" or "fontaine": the word its title carries


async def _catalogue(session: AsyncSession, directory: Path) -> list[Made]:
    """Thirty datasets with varied publishers, tags, themes, formats and licences; half say "vélo" in their
    title, half "fontaine"; their modification times are set apart, some equal, to see ties broken."""
    rng = random.Random(7)
    publishers: list[Organization] = [await create_organization(session, f"editeur-{n}") for n in range(3)]
    made = []
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for number in range(30):
        organization = publishers[number % 3]
        word = "vélo" if number % 2 else "fontaine"
        tags = rng.sample(TAGS, rng.randint(1, 3))
        groups = rng.sample(GROUPS, rng.randint(1, 2))
        dataset = await create_dataset(
            session,
            organization,
            name=f"jeu-{number:02d}",
            title=f"{word.capitalize()} {number}",
            license_id=LICENCES[number % 3],
            tags=[{"name": tag} for tag in tags],
            groups=[{"name": group} for group in groups],
        )
        formats = set()
        for position in range(rng.randint(0, 2)):
            kind = rng.choice(FORMATS)
            formats.add(kind)
            await opendata.create_resource(
                session,
                directory,
                0,
                {"package_id": dataset.name, "url": f"https://example.org/{number}/{position}", "format": kind},
                None,
            )
        made.append(Made(dataset, organization.name, tags, groups, formats, word))
    for number, item in enumerate(made):  # pairs of datasets share a modification time
        item.dataset.modified_at = start + timedelta(hours=number // 2)
        item.dataset.created_at = start - timedelta(days=number % 5)
    await session.flush()
    return made


def _expected_facets(chosen: list[Made], limit: int = 50, mincount: int = 1) -> dict[str, list[tuple[str, int]]]:
    counts = {
        "organization": Counter(item.organization for item in chosen),
        "groups": Counter(group for item in chosen for group in item.groups),
        "tags": Counter(tag for item in chosen for tag in item.tags),
        "res_format": Counter(kind for item in chosen for kind in item.formats),
        "license_id": Counter(item.dataset.license_id for item in chosen),
    }
    return {
        name: sorted(((key, n) for key, n in counter.items() if n >= mincount), key=lambda kv: (-kv[1], kv[0]))[:limit]
        for name, counter in counts.items()
    }


def _facets(result: opendata.SearchResult) -> dict[str, list[tuple[str, int]]]:
    return {name: [(item.name, item.count) for item in items] for name, items in result.facets.items()}


def _names(result: opendata.SearchResult) -> list[str]:
    return [view.dataset.name for view in result.datasets]


def _by_time(chosen: list[Made], key: str, descending: bool) -> list[str]:
    """The order the database gives for one time key: ties by id, the way of the key."""
    ordered = sorted(chosen, key=lambda item: item.dataset.id, reverse=descending)
    ordered.sort(key=lambda item: getattr(item.dataset, key), reverse=descending)
    return [item.dataset.name for item in ordered]


async def test_words_and_filters_count_facet_and_page_what_matches(session: AsyncSession, tmp_path: Path) -> None:
    made = await _catalogue(session, tmp_path)
    velo = [item for item in made if item.words == "vélo"]
    found = await opendata.search(session, opendata.SearchQuery(q="velos", rows=100))
    assert found.count == len(velo) == 15
    assert _facets(found) == _expected_facets(velo)
    assert {view.dataset.name for view in found.datasets} == {item.dataset.name for item in velo}

    fq = opendata.parse_fq("organization:editeur-1 -tags:eau")
    chosen = [item for item in velo if item.organization == "editeur-1" and "eau" not in item.tags]
    filtered = await opendata.search(session, opendata.SearchQuery(q="vélo", fq=fq, rows=100))
    assert filtered.count == len(chosen)
    assert _facets(filtered) == _expected_facets(chosen)

    with_format = [item for item in made if "CSV" in item.formats]
    by_format = await opendata.search(session, opendata.SearchQuery(fq=opendata.parse_fq("res_format:csv"), rows=0))
    assert by_format.count == len(with_format)
    assert by_format.datasets == []
    assert _facets(by_format) == _expected_facets(with_format)

    limited = await opendata.search(session, opendata.SearchQuery(q="vélo", facet_limit=2, facet_mincount=3))
    assert _facets(limited) == _expected_facets(velo, limit=2, mincount=3)
    only_tags = await opendata.search(session, opendata.SearchQuery(q="vélo", facet_fields=("tags",)))
    assert list(only_tags.facets) == ["tags"]


async def test_pages_by_time_break_ties_by_id_and_start_where_asked(session: AsyncSession, tmp_path: Path) -> None:
    made = await _catalogue(session, tmp_path)
    velo = [item for item in made if item.words == "vélo"]
    for sort, key, descending in (
        ("metadata_modified desc", "modified_at", True),
        ("metadata_modified asc", "modified_at", False),
        ("metadata_created desc", "created_at", True),
    ):
        expected = _by_time(velo, key, descending)
        query = opendata.SearchQuery(q="vélo", sort=opendata.parse_sort(sort), rows=4, start=3)
        assert _names(await opendata.search(session, query)) == expected[3:7], sort
        everything = opendata.SearchQuery(sort=opendata.parse_sort(sort), rows=100)
        assert _names(await opendata.search(session, everything)) == _by_time(made, key, descending), sort

    assert (await opendata.search(session, opendata.SearchQuery(q="vélo", start=100))).datasets == []


async def test_equal_scores_go_by_last_modification_then_newest_id(session: AsyncSession) -> None:
    organization = await create_organization(session)
    same = datetime(2026, 11, 5, tzinfo=UTC)
    alike = []
    for number, modified in enumerate((same, same + timedelta(hours=1), same, same - timedelta(hours=1))):
        dataset = await create_dataset(session, organization, name=f"pareil-{number}", title="Bancs publics")
        dataset.modified_at = modified
        alike.append(dataset)
    await session.flush()
    expected = ["pareil-1", "pareil-2", "pareil-0", "pareil-3"]  # newest first; the same time: the newest id first
    assert _names(await opendata.search(session, opendata.SearchQuery(q="bancs"))) == expected
    assert _names(await opendata.search(session, opendata.SearchQuery(q="bancs", rows=2, start=1))) == expected[1:3]


async def test_relevance_mixed_with_names_and_titles_sorts_in_the_database(session: AsyncSession) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="b-corps", title="Divers", notes="Une étude des vélos")
    await create_dataset(session, organization, name="c-titre", title="Vélos partagés")
    await create_dataset(session, organization, name="a-titre", title="Vélos en libre service")
    mixed = opendata.SearchQuery(q="vélo", sort=opendata.parse_sort("score desc, name asc"))
    names = _names(await opendata.search(session, mixed))
    assert names[-1] == "b-corps"  # a title match ranks above a description's
    by_title = opendata.SearchQuery(q="vélo", sort=opendata.parse_sort("title_string asc"))
    assert _names(await opendata.search(session, by_title)) == ["b-corps", "a-titre", "c-titre"]


async def test_the_whole_catalogue_from_the_cache_and_without_it_agree(session: AsyncSession, tmp_path: Path) -> None:
    made = await _catalogue(session, tmp_path)
    cache = opendata.WholeCatalogueCache()
    fresh = await opendata.search(session, opendata.SearchQuery(rows=5))
    first = await opendata.search(session, opendata.SearchQuery(rows=5), cache)
    again = await opendata.search(session, opendata.SearchQuery(rows=5), cache)
    expected: dict[str, Any] = _expected_facets(made)
    for result in (fresh, first, again):
        assert result.count == 30
        assert _facets(result) == expected
        assert _names(result) == _by_time(made, "modified_at", True)[:5]


async def test_a_kept_facet_index_follows_every_change_and_forgets_a_rolled_back_one(
    session: AsyncSession, tmp_path: Path
) -> None:
    organization = await create_organization(session, "voirie")
    await create_dataset(session, organization, name="velos", title="Vélos", tags=[{"name": "mobilite"}])
    cache = opendata.WholeCatalogueCache()
    query = opendata.SearchQuery(q="vélo", rows=0)
    assert _facets(await opendata.search(session, query, cache))["res_format"] == []

    async def add(kind: str) -> None:
        link = {"package_id": "velos", "url": f"https://example.org/{kind}", "format": kind}
        await opendata.create_resource(session, tmp_path, 0, link, None)

    savepoint = await session.begin_nested()
    await add("GEOJSON")
    assert _facets(await opendata.search(session, query, cache))["res_format"] == [("GEOJSON", 1)]
    await savepoint.rollback()  # the index read inside it must not be taken for the catalogue as it is
    assert _facets(await opendata.search(session, query, cache))["res_format"] == []
    await add("CSV")
    assert _facets(await opendata.search(session, query, cache))["res_format"] == [("CSV", 1)]
    await opendata.delete_dataset(session, "velos")
    assert (await opendata.search(session, query, cache)).count == 0
