"""Participation's queries, apart from the rules that use them: a process's phases, categories, scope and
proposal counts (what its frame and overview read), the statements of a support and its withdrawal (built
once at import, the busiest write), and the filters, orderings and shuffled walk that proposal searches,
counts and the map compose. Functions take the session (or a statement) and return rows, models or
statements; the refusals stay in the service modules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, TypeVarTuple, cast

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    Table,
    any_,
    bindparam,
    delete,
    func,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from citoyen.db import UTCDateTime
from citoyen.participation.models import (
    RANDOM_KEYS,
    Phase,
    Process,
    ProcessCategory,
    ProcessNeighbourhood,
    Proposal,
    ProposalCount,
    ProposalStatus,
    Support,
    SupportCount,
)
from citoyen.people.service import Claim, claim_holds_in_postgresql, claim_holds_now
from citoyen.textsearch import has_words, words_match, words_rank

Columns = TypeVarTuple("Columns")


def _insert_for(session: AsyncSession) -> Any:
    bind = session.bind
    return pg_insert if bind is not None and bind.dialect.name == "postgresql" else sqlite_insert


# --- processes --------------------------------------------------------------------------------


async def phases_of(session: AsyncSession, process_ids: Sequence[int]) -> dict[int, list[Phase]]:
    result: dict[int, list[Phase]] = {process_id: [] for process_id in process_ids}
    if process_ids:
        query = select(Phase).where(Phase.process_id.in_(process_ids)).order_by(Phase.process_id, Phase.position)
        for phase in (await session.execute(query)).scalars():
            result[phase.process_id].append(phase)
    return result


async def categories_of(session: AsyncSession, process_id: int) -> list[ProcessCategory]:
    query = select(ProcessCategory).where(ProcessCategory.process_id == process_id).order_by(ProcessCategory.position)
    return list((await session.execute(query)).scalars())


async def scope_of(session: AsyncSession, process: Process) -> list[int]:
    """The neighbourhood ids a process is limited to; empty for a city-wide process."""
    if process.whole_city:
        return []
    query = select(ProcessNeighbourhood.neighbourhood_id).where(ProcessNeighbourhood.process_id == process.id)
    return sorted((await session.execute(query)).scalars())


async def process_structure(
    session: AsyncSession, ids: Sequence[int]
) -> tuple[dict[int, list[Phase]], dict[int, list[ProcessCategory]], dict[int, list[int]]]:
    """Phases, categories and neighbourhood scope of these processes (three queries in all)."""
    phases = await phases_of(session, ids)
    categories: dict[int, list[ProcessCategory]] = {process_id: [] for process_id in ids}
    scopes: dict[int, list[int]] = {process_id: [] for process_id in ids}
    if ids:
        category_query = (
            select(ProcessCategory).where(ProcessCategory.process_id.in_(ids)).order_by(ProcessCategory.position)
        )
        for category in (await session.execute(category_query)).scalars():
            categories[category.process_id].append(category)
        scope_query = (
            select(ProcessNeighbourhood)
            .where(ProcessNeighbourhood.process_id.in_(ids))
            .order_by(ProcessNeighbourhood.neighbourhood_id)
        )
        for row in (await session.execute(scope_query)).scalars():
            scopes[row.process_id].append(row.neighbourhood_id)
    return phases, categories, scopes


async def process_summaries(session: AsyncSession, process_ids: Sequence[int]) -> dict[int, int]:
    """How many visible proposals each process has."""
    if not process_ids:
        return {}
    query = (
        select(ProposalCount.process_id, func.sum(ProposalCount.count))
        .where(ProposalCount.process_id.in_(process_ids))
        .group_by(ProposalCount.process_id)
    )
    return {row[0]: int(row[1]) for row in (await session.execute(query)).all() if row[1]}


# --- supports ---------------------------------------------------------------------------------


class SupportTarget(NamedTuple):
    """What taking or withdrawing a support needs of a proposal, and what its support box shows: read
    without the ORM, a support being the busiest write."""

    id: int
    process_id: int
    withdrawn_at: datetime | None
    hidden_at: datetime | None
    support_count: int


_PROPOSALS, _COUNTS = cast(Table, Proposal.__table__), cast(Table, SupportCount.__table__)


def _support_target(count: ColumnElement[int]) -> Select[Any]:
    """A SupportTarget's columns, in its order, the count taken from `count`."""
    return select(_PROPOSALS.c.id, _PROPOSALS.c.process_id, _PROPOSALS.c.withdrawn_at, _PROPOSALS.c.hidden_at, count)


SUPPORT_TARGET = (
    _support_target(_COUNTS.c.support_count)
    .join_from(_PROPOSALS, _COUNTS, _COUNTS.c.proposal_id == _PROPOSALS.c.id)
    .where(_PROPOSALS.c.id == bindparam("proposal"))
)


def _takes_supports(postgresql: bool) -> tuple[ColumnElement[bool], ...]:
    """A proposal takes supports (and their withdrawal) from the person asking: visible, not withdrawn, in
    one of the `open` processes. PostgreSQL receives them as one array, a statement the same for any
    number of them, and checks the person's claim too (SQLite's caller reads the account first)."""
    visible = (_PROPOSALS.c.hidden_at.is_(None), _PROPOSALS.c.withdrawn_at.is_(None))
    if not postgresql:
        return (*visible, _PROPOSALS.c.process_id.in_(bindparam("open", expanding=True)))
    return (
        *visible,
        _PROPOSALS.c.process_id == any_(bindparam("open", type_=ARRAY(Integer))),
        claim_holds_in_postgresql(
            bindparam("person", type_=Integer), bindparam("stamp", type_=String), bindparam("session", type_=String)
        ),
    )


class _SupportStatements(NamedTuple):
    """A support's (or withdrawal's) statements, built once: a support is the busiest write, and building
    them cost as much as running them. PostgreSQL runs `in_one`, which checks who is asking, writes,
    counts and returns the SupportTarget in one round trip; SQLite reads the account, then runs `write`,
    then (if it wrote) `count`, then `mark`."""

    in_one: Any
    write: Any
    count: Any
    mark: Any | None


def _counted(delta: int, proposal_id: ColumnElement[int]) -> Any:
    """Moves the proposal's count in one atomic UPDATE, so concurrent supports never lose an increment."""
    return (
        update(_COUNTS)
        .values(support_count=_COUNTS.c.support_count + delta)
        .where(_COUNTS.c.proposal_id == proposal_id)
        .returning(_COUNTS.c.proposal_id, _COUNTS.c.support_count)
    )


def _marked(proposal_id: ColumnElement[int], count: ColumnElement[int]) -> Any:
    """Reaching the process's threshold marks a proposal still awaiting an answer (`count >= NULL`, a
    process without threshold, is never true)."""
    processes = cast(Table, Process.__table__)
    threshold = select(processes.c.support_threshold).where(processes.c.id == _PROPOSALS.c.process_id)
    return (
        update(_PROPOSALS)
        .values(answer_required=True)
        .where(
            _PROPOSALS.c.id == proposal_id,
            _PROPOSALS.c.status == ProposalStatus.PUBLISHED.value,
            _PROPOSALS.c.answer_required.is_(False),
            count >= threshold.scalar_subquery(),
        )
    )


async def mark_over_threshold(session: AsyncSession, process_id: int, threshold: int) -> int:
    """Marks the process's unanswered proposals already at or past `threshold` supports as awaiting an answer,
    as a support reaching it does (`_marked`): a threshold set or lowered flags them at once. Reads the
    ranking index of support counts from the threshold up; returns how many were marked."""
    over = select(SupportCount.proposal_id).where(
        SupportCount.process_id == process_id, SupportCount.support_count >= threshold
    )
    statement = (
        update(Proposal)
        .where(
            Proposal.process_id == process_id,
            Proposal.status == ProposalStatus.PUBLISHED,
            Proposal.answer_required.is_(False),
            Proposal.withdrawn_at.is_(None),
            Proposal.id.in_(over),
        )
        .values(answer_required=True)
        .execution_options(synchronize_session="fetch")
    )
    return cast(int, getattr(await session.execute(statement), "rowcount", 0))


def _in_one(written: Any, delta: int, mark: bool) -> Any:
    """PostgreSQL: the write, the count (moving only if the write took a row), the mark and the answer, in
    one statement of data-modifying CTEs."""
    counted = _counted(delta, written.c.proposal_id).cte("counted")
    answer = _support_target(counted.c.support_count).join_from(
        _PROPOSALS, counted, counted.c.proposal_id == _PROPOSALS.c.id
    )
    return answer.add_cte(_marked(counted.c.proposal_id, counted.c.support_count).cte("marked")) if mark else answer


def _support_statements() -> _SupportStatements:
    """Parameters: proposal, person, stamp, at, open (the processes taking supports now); SQLite's `mark`
    also count. The support is added only to a visible proposal of an open process, so one statement
    checks and writes."""
    supports = cast(Table, Support.__table__)

    def added(insert: Any) -> Any:
        supportable = select(
            _PROPOSALS.c.id, bindparam("person", type_=Integer), bindparam("at", type_=UTCDateTime())
        ).where(_PROPOSALS.c.id == bindparam("proposal"), *_takes_supports(insert is pg_insert))
        return (
            insert(supports)
            .from_select(["proposal_id", "person_id", "created_at"], supportable)
            .on_conflict_do_nothing(index_elements=["proposal_id", "person_id"])
            .returning(supports.c.proposal_id)
        )

    proposal = bindparam("proposal", type_=Integer)
    return _SupportStatements(
        in_one=_in_one(added(pg_insert).cte("added"), 1, mark=True),
        write=added(sqlite_insert),
        count=_counted(1, proposal),
        mark=_marked(proposal, bindparam("count", type_=Integer)),
    )


def _withdrawal_statements() -> _SupportStatements:
    """As `_support_statements`, for taking a support back. Parameters: proposal, person, stamp, open."""
    supports = cast(Table, Support.__table__)

    def removed(postgresql: bool) -> Any:
        withdrawable = (
            select(_PROPOSALS.c.id)
            .where(_PROPOSALS.c.id == bindparam("proposal"), *_takes_supports(postgresql))
            .scalar_subquery()
        )
        return (
            delete(supports)
            .where(supports.c.proposal_id == withdrawable, supports.c.person_id == bindparam("person"))
            .returning(supports.c.proposal_id)
        )

    return _SupportStatements(
        in_one=_in_one(removed(postgresql=True).cte("removed"), -1, mark=False),
        write=removed(postgresql=False),
        count=_counted(-1, bindparam("proposal", type_=Integer)),
        mark=None,
    )


SUPPORTING, WITHDRAWING = _support_statements(), _withdrawal_statements()


async def write_then_count(
    session: AsyncSession, statements: _SupportStatements, claim: Claim, values: dict[str, Any]
) -> Any:
    """Run a support's (or withdrawal's) statements; the proposal's SupportTarget row, or None when
    nothing was written."""
    values |= {"person": claim.person_id, "stamp": claim.stamp, "session": claim.session}
    if _insert_for(session) is pg_insert:
        return (await session.execute(statements.in_one, values)).one_or_none()
    if not await claim_holds_now(session, claim):
        return None
    if await session.scalar(statements.write, values) is None:
        return None
    _, count = (await session.execute(statements.count, values)).one()
    if statements.mark is not None:
        await session.execute(statements.mark, values | {"count": count})
    return (await session.execute(SUPPORT_TARGET, values)).one()


# --- searching --------------------------------------------------------------------------------


# The table whose full-text index (its migration's) proposal searches read.
SEARCHED_TABLE = "participation_proposals"


@dataclass
class ProposalFilters:
    process_id: int | None = None
    neighbourhood_id: int | None = None
    category_id: int | None = None
    statuses: list[ProposalStatus] | None = None
    text: str = ""
    include_withdrawn: bool = False
    bbox: tuple[float, float, float, float] | None = None
    answer_required: bool | None = None


def keyed(
    query: Select[*Columns], filters: ProposalFilters, table: type[Proposal] | type[ProposalCount]
) -> Select[*Columns]:
    """The filters both the proposals and their counts know: process, neighbourhood, category, status."""
    if filters.process_id is not None:
        query = query.where(table.process_id == filters.process_id)
    if filters.neighbourhood_id is not None:
        query = query.where(table.neighbourhood_id == filters.neighbourhood_id)
    if filters.category_id is not None:
        query = query.where(table.category_id == filters.category_id)
    if filters.statuses:
        query = query.where(table.status.in_(filters.statuses))
    return query


def filtered(query: Select[*Columns], filters: ProposalFilters) -> Select[*Columns]:
    query = keyed(query.where(Proposal.hidden_at.is_(None)), filters, Proposal)
    if not filters.include_withdrawn:
        query = query.where(Proposal.withdrawn_at.is_(None))
    if filters.answer_required is not None:
        query = query.where(Proposal.answer_required.is_(filters.answer_required))
    if filters.bbox is not None:
        # Sent as literals: with parameters, PostgreSQL's generic plan (chosen after a few runs of a prepared
        # statement) takes any box for a tiny one and walks the lon/lat index of the whole process (100 ms
        # instead of 4 for a neighbourhood's points).
        bounds: list[BindParameter[float]] = [
            bindparam(None, value, Float, literal_execute=True) for value in filters.bbox
        ]
        min_lon, min_lat, max_lon, max_lat = bounds
        query = query.where(Proposal.lon.between(min_lon, max_lon), Proposal.lat.between(min_lat, max_lat))
    if has_words(filters.text):
        # Every word, in any order, accents and plurals folded, read from the full-text index.
        query = query.where(words_match(SEARCHED_TABLE, Proposal.id, filters.text))
    return query


def with_support_counts(query: Select[*Columns]) -> Select[*Columns]:
    """Proposals joined to their support counts, to order by them."""
    return query.join(SupportCount, SupportCount.proposal_id == Proposal.id)


def sort_order(sort: str, text: str = "") -> tuple[ColumnElement[Any], ...]:
    """The order of a sort; "relevance" (best match first) needs words, and is "recent" without them."""
    if sort == "relevance" and has_words(text):
        return (words_rank(SEARCHED_TABLE, Proposal.id, text), Proposal.id.desc())
    if sort == "supports":
        return (Proposal.support_count.desc(), Proposal.id.desc())
    if sort == "comments":
        return (Proposal.comment_count.desc(), Proposal.id.desc())
    return (Proposal.created_at.desc(), Proposal.id.desc())


async def shuffled(
    session: AsyncSession, filters: ProposalFilters, seed: int, limit: int, offset: int, placed_only: bool
) -> list[Proposal]:
    """The "random" order, the same for a seed on every page: proposals by their random key, from a point
    the seed picks, wrapping round to the lowest keys. Each half is a walk along the index of visible
    proposals by key, read no further than the page (a shuffle of all ids would sort the whole process
    on every page)."""
    start = (seed * 1_103_515_245 + 12_345) % RANDOM_KEYS
    wanted = offset + limit

    def half(part: int, condition: ColumnElement[bool]) -> Select[tuple[int, int, int]]:
        query = filtered(select(Proposal.id, Proposal.random_key, literal(part).label("part")), filters)
        if placed_only:
            query = query.where(Proposal.lon.is_not(None))
        walked = query.where(condition).order_by(Proposal.random_key, Proposal.id).limit(wanted).subquery()
        return select(walked)

    both = union_all(half(0, Proposal.random_key >= start), half(1, Proposal.random_key < start)).subquery()
    page = (
        select(both.c.id, both.c.part, both.c.random_key)
        .order_by(both.c.part, both.c.random_key, both.c.id)
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    query = select(Proposal).join(page, Proposal.id == page.c.id).order_by(page.c.part, page.c.random_key, page.c.id)
    return list((await session.execute(query)).scalars())
