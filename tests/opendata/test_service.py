"""The catalogue's rules: CKAN's checks of a dataset, full-text search in French and English, facets, sort and
paging, drafts and deleted datasets, the privacy ledger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opendata import service as opendata
from citoyen.opendata.privacy import LedgerEntry
from citoyen.textsearch import french_stem, normalize
from tests.opendata.helpers import create_dataset, create_organization


def test_french_stems_join_plurals_and_derived_words() -> None:
    assert french_stem(normalize("Vélos")) == french_stem(normalize("vélo"))
    assert french_stem("circulations") == french_stem("circulation")
    assert french_stem("amenagements") == french_stem("amenagement")


async def test_a_dataset_is_checked_as_ckan_checks_it(session: AsyncSession) -> None:
    organization = await create_organization(session)
    with pytest.raises(opendata.OpendataError) as refused:
        await opendata.check_dataset(
            session,
            {
                "name": "Not A Slug",
                "owner_org": "nobody",
                "license_id": "proprietary",
                "tags": [{"name": "x"}],
                "extras": [{"key": "frequency", "value": "SOMETIMES"}],
            },
        )
    assert set(refused.value.fields) == {"name", "owner_org", "license_id", "tags", "frequency"}
    await create_dataset(session, organization, name="taken")
    with pytest.raises(opendata.OpendataError) as taken:
        await opendata.check_dataset(session, {"name": "taken", "owner_org": organization.name})
    assert taken.value.fields == {"name": ["That URL is already in use."]}


async def test_search_stems_ranks_titles_first_and_pages(session: AsyncSession) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="a-body", title="Divers", notes="Une étude des vélos")
    await create_dataset(session, organization, name="b-title", title="Vélos partagés")
    await create_dataset(session, organization, name="c-other", title="Fontaines", title_en="Drinking fountains")
    ranked = await opendata.search(session, opendata.SearchQuery(q="velo", facet_fields=()))
    assert [view.dataset.name for view in ranked.datasets] == ["b-title", "a-body"]
    english = await opendata.search(session, opendata.SearchQuery(q="fountain", facet_fields=()))
    assert [view.dataset.name for view in english.datasets] == ["c-other"]
    query = opendata.SearchQuery(rows=2, start=1, sort=opendata.parse_sort("name desc"), facet_fields=())
    page = await opendata.search(session, query)
    assert page.count == 3
    assert [view.dataset.name for view in page.datasets] == ["b-title", "a-body"]
    nothing = await opendata.search(session, opendata.SearchQuery(q='"); DROP TABLE x; --', facet_fields=()))
    assert nothing.count == 0


async def test_drafts_and_deleted_datasets_stay_out_of_public_search(session: AsyncSession) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="draft", title="Brouillon", private=True)
    await create_dataset(session, organization, name="gone", title="Supprimé")
    await create_dataset(session, organization, name="shown", title="Publié", tags=[{"name": "public"}])
    await opendata.delete_dataset(session, "gone")
    public = await opendata.search(session, opendata.SearchQuery())
    assert [view.dataset.name for view in public.datasets] == ["shown"]
    assert public.facets["tags"] == [opendata.FacetItem("public", "public", 1)]
    drafts = await opendata.search(session, opendata.SearchQuery(include_private=True))
    assert {view.dataset.name for view in drafts.datasets} == {"draft", "shown"}
    with pytest.raises(opendata.OpendataError):
        await opendata.find_dataset(session, "draft")
    with pytest.raises(opendata.OpendataError):
        await opendata.find_dataset(session, "gone", include_private=True)


async def test_filters_and_sort_refuse_what_they_do_not_know() -> None:
    assert opendata.parse_fq('tags:"bike lanes" -organization:roads') == (
        opendata.Filter("tags", "bike lanes"),
        opendata.Filter("organization", "roads", negated=True),
    )
    for bad in ("colour:blue", "tags:(a OR b)", "no colon"):
        with pytest.raises(opendata.OpendataError) as refused:
            opendata.parse_fq(bad)
        assert "fq" in refused.value.fields
    with pytest.raises(opendata.OpendataError) as refused:
        opendata.parse_sort("name sideways")
    assert "sort" in refused.value.fields


async def test_the_ledger_keeps_each_release_and_totals_epsilon_per_period(session: AsyncSession) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="reports-per-week")
    now = datetime(2026, 12, 7, tzinfo=UTC)

    def entry(epsilon: float | None, k: int | None, period: str, mechanism: str = "laplace") -> LedgerEntry:
        return LedgerEntry(
            "reports-per-week", "", now, period, mechanism, epsilon, k, "Comptes bruités", "Noisy counts"
        )

    await opendata.record_release(session, entry(0.5, None, "2026-W49"))
    await opendata.record_release(session, entry(0.25, None, "2026-W49"))
    await opendata.record_release(session, entry(None, 10, "2026-W49", "min_cell_size"))
    await opendata.record_release(session, entry(1.0, None, "2026-W50"))
    with pytest.raises(opendata.OpendataError):
        await opendata.record_release(session, entry(0.0, None, "2026-W50"))
    lines = await opendata.ledger(session)
    assert len(lines) == 4
    totals = {(total.period, total.epsilon, total.releases) for total in await opendata.ledger_totals(session)}
    assert totals == {("2026-W49", 0.75, 2), ("2026-W50", 1.0, 1)}
    assert sum(line.release.epsilon or 0 for line in lines) == pytest.approx(1.75)


async def test_the_whole_catalogues_facets_are_kept_only_while_nothing_changes(session: AsyncSession) -> None:
    organization = await create_organization(session)
    first = await create_dataset(session, organization, name="first", tags=[{"name": "eau"}])
    cache = opendata.WholeCatalogueCache()
    before = await opendata.search(session, opendata.SearchQuery(), cache)
    assert before.facets["tags"] == [opendata.FacetItem("eau", "eau", 1)]
    assert (await opendata.search(session, opendata.SearchQuery(rows=0), cache)).count == 1
    await create_dataset(session, organization, name="second", tags=[{"name": "eau"}, {"name": "air"}])
    after = await opendata.search(session, opendata.SearchQuery(), cache)
    assert after.count == 2
    assert after.facets["tags"] == [opendata.FacetItem("eau", "eau", 2), opendata.FacetItem("air", "air", 1)]
    checked = await opendata.check_dataset(
        session, {"name": "first", "owner_org": organization.name, "tags": [{"name": "air"}]}, first
    )
    await opendata.save_dataset(session, checked, first)
    changed = await opendata.search(session, opendata.SearchQuery(), cache)
    assert changed.facets["tags"] == [opendata.FacetItem("air", "air", 2), opendata.FacetItem("eau", "eau", 1)]
    await opendata.delete_dataset(session, "second")
    assert (await opendata.search(session, opendata.SearchQuery(), cache)).count == 1


async def test_a_publisher_names_a_department_only_by_an_existing_code(session: AsyncSession) -> None:
    from citoyen.people import service as people

    await people.create_department(session, "VOIRIE", "Voirie")
    linked = await opendata.create_organization(session, "voirie", "Direction de la voirie", department_code="VOIRIE")
    assert linked.department_code == "voirie"
    with pytest.raises(opendata.OpendataError) as refused:
        await opendata.create_organization(session, "nowhere", "Nulle part", department_code="NOWHERE")
    assert "department_code" in refused.value.fields
