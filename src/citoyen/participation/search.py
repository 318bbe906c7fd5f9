"""Searching proposals and the map: the sorts, counts (from the counts table when it can answer), the map's
layers by zoom, authors' public names and each process's number of proposals. The queries they compose
are in `repository`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.participation.models import Proposal, ProposalCount, SupportCount
from citoyen.participation.repository import ProposalFilters, filtered, keyed, shuffled, sort_order, with_support_counts
from citoyen.people import service as people
from citoyen.territory import maplayer
from citoyen.textsearch import has_words

SORTS = ("relevance", "recent", "supports", "comments", "random")
# A search by words in relevance order ranks at most this many matches, the most recent (as many as the
# process page counts and pages through).
RANKED_AT_MOST = 1000


def _whole_process(filters: ProposalFilters, placed_only: bool) -> bool:
    """Whether the filters keep every visible proposal of one process."""
    narrowing = (filters.neighbourhood_id, filters.category_id, filters.statuses, filters.bbox, filters.answer_required)
    return (
        filters.process_id is not None
        and not has_words(filters.text)
        and not placed_only
        and not any(value is not None and value != [] for value in narrowing)
    )


async def search_proposals(
    session: AsyncSession,
    filters: ProposalFilters,
    sort: str = "recent",
    seed: int = 0,
    limit: int = 20,
    offset: int = 0,
    placed_only: bool = False,
) -> list[Proposal]:
    if sort == "random":
        return await shuffled(session, filters, seed, limit, offset, placed_only)
    if sort == "relevance" and has_words(filters.text):
        # The best matches among the RANKED_AT_MOST most recent: ranking every match of a common word read
        # and scored tens of thousands of rows (2 to 3 s at 200,000 proposals; bench/word_search.py).
        newest = filtered(select(Proposal.id), filters)
        if placed_only:
            newest = newest.where(Proposal.lon.is_not(None))
        candidates = newest.order_by(Proposal.created_at.desc(), Proposal.id.desc()).limit(RANKED_AT_MOST).subquery()
        best = select(Proposal).where(Proposal.id.in_(select(candidates.c.id)))
        best = best.order_by(*sort_order(sort, filters.text)).limit(limit).offset(offset)
        return list((await session.execute(best)).scalars())
    query = filtered(select(Proposal), filters)
    order = sort_order(sort, filters.text)
    if sort == "supports" and _whole_process(filters, placed_only):
        # A walk down the process's ranking index. Narrower filters (a neighbourhood, a status) read their
        # own index and sort what they found: walking the whole ranking to skip the others read all of it
        # when few match (168 ms for "accepted in one neighbourhood", against 3).
        query = with_support_counts(query).where(SupportCount.process_id == filters.process_id)
        order = (SupportCount.support_count.desc(), SupportCount.proposal_id.desc())
    query = query.order_by(*order).limit(limit).offset(offset)
    if placed_only:
        query = query.where(Proposal.lon.is_not(None))
    return list((await session.execute(query)).scalars())


async def nearest_proposals(
    session: AsyncSession, filters: ProposalFilters, lon: float, lat: float, limit: int = 20, offset: int = 0
) -> list[Proposal]:
    """The proposals matching `filters`, those placed nearest to (lon, lat) first, then those without a place,
    most recent first. The distance is equirectangular (longitudes shrunk by the cosine of the latitude): exact
    enough to rank places within a city."""
    shrink = math.cos(math.radians(lat))
    distance = ((Proposal.lon - lon) * shrink) * ((Proposal.lon - lon) * shrink) + (Proposal.lat - lat) * (
        Proposal.lat - lat
    )
    query = filtered(select(Proposal), filters).order_by(
        Proposal.lon.is_(None), distance, Proposal.created_at.desc(), Proposal.id.desc()
    )
    return list((await session.execute(query.limit(limit).offset(offset))).scalars())


def _countable(filters: ProposalFilters) -> bool:
    """Whether the counts table can answer: it knows visible proposals by process, neighbourhood, category,
    status and cell (a bounding box is left to the map, which draws the cells it shows)."""
    return not has_words(filters.text) and not filters.include_withdrawn and filters.answer_required is None


async def count_proposals(session: AsyncSession, filters: ProposalFilters, at_most: int | None = None) -> int:
    """How many proposals match. The counts table answers the usual filters; others (words) are counted
    row by row, and with `at_most` no further than one beyond it: a common word matches tens of
    thousands of proposals, and counting them all read the whole table on every search."""
    if _countable(filters) and filters.bbox is None:
        total = keyed(select(func.coalesce(func.sum(ProposalCount.count), 0)), filters, ProposalCount)
        return int(await session.scalar(total) or 0)
    if at_most is not None:
        matching = filtered(select(Proposal.id), filters).limit(at_most + 1).subquery()
        return int(await session.scalar(select(func.count()).select_from(matching)) or 0)
    return int(await session.scalar(filtered(select(func.count()).select_from(Proposal), filters)) or 0)


async def map_layer(session: AsyncSession, filters: ProposalFilters, zoom: int) -> dict[str, Any]:
    """What the map draws: proposal counts per H3 cell when zoomed out (grouped in the database, so the
    answer stays small with 100,000 proposals), each placed proposal when zoomed in, or counts per ~100 m
    cell when a close-up view is crowded."""
    if zoom >= maplayer.POINTS_FROM_ZOOM:
        placed = Proposal.lon.is_not(None)
        if zoom < maplayer.ALL_POINTS_ZOOM:
            # Counted first: a crowded view is answered by this one grouped query.
            dense = filtered(select(Proposal.h3_r10, func.count()), filters).where(placed).group_by(Proposal.h3_r10)
            crowded = maplayer.crowded_cells_layer([(row[0], row[1]) for row in await session.execute(dense)])
            if crowded is not None:
                return crowded
        query = filtered(
            select(Proposal.id, Proposal.lon, Proposal.lat, Proposal.status, Proposal.title, Proposal.support_count),
            filters,
        ).where(placed)
        rows = (await session.execute(query.order_by(Proposal.id.desc()).limit(maplayer.MAX_POINTS))).all()
        return maplayer.points_layer(
            [
                {
                    "id": row.id,
                    "lon": row.lon,
                    "lat": row.lat,
                    "status": row.status.value,
                    "title": row.title,
                    "supports": row.support_count,
                    "url": f"/participation/proposals/{row.id}",
                }
                for row in rows
            ]
        )
    resolution = maplayer.cell_resolution(zoom)
    cell_query: Select[str | None, int]
    if _countable(filters):
        counted = ProposalCount.h3_r6 if resolution == 6 else ProposalCount.h3_r8
        total = func.sum(ProposalCount.count)
        cell_query = (
            keyed(select(counted, total), filters, ProposalCount)
            .where(counted != "")
            .group_by(counted)
            .having(total > 0)
        )
    else:
        column = Proposal.h3_r6 if resolution == 6 else Proposal.h3_r8
        cell_query = filtered(select(column, func.count()), filters).where(column.is_not(None)).group_by(column)
    return maplayer.cells_layer(((row[0], row[1]) for row in (await session.execute(cell_query)).all()), resolution)


async def author_names(session: AsyncSession, author_ids: Sequence[int | None]) -> dict[int, str]:
    """Public pseudonyms of authors (display names are public by design), from people in one statement."""
    return await people.display_names(session, author_ids)
