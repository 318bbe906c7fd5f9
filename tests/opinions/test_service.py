"""Taking part in a conversation, moderation, the recomputed map and a participant's data, on both databases."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from citoyen.app import build_event_hub, build_personal_data_registry
from citoyen.db import make_sessionmaker
from citoyen.opinions import maps, tasks
from citoyen.opinions import service as opinions
from citoyen.opinions.models import OpinionVote, Statement
from citoyen.people import service as people
from citoyen.people.service import Role
from tests.factories import create_person
from tests.opinions.helpers import SEEDS, create_conversation


async def _vote_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(OpinionVote)) or 0)


async def test_votes_one_statement_at_a_time_and_changes_a_vote(session: AsyncSession) -> None:
    conversation = await create_conversation(session)
    # The question on one line, its French no-break space kept.
    assert conversation.question == "Que faire de la place de la Mairie\u202f?"
    voter = opinions.Voter(await create_person(session))
    assert await opinions.progress(session, conversation, voter) == opinions.Progress(0, len(SEEDS))
    seen = []
    for value in ("agree", "disagree", "pass"):
        statement = await opinions.next_statement(session, conversation, voter)
        assert statement is not None and statement.id not in seen
        seen.append(statement.id)
        await opinions.vote(session, conversation, voter, statement.id, value)
    assert await opinions.progress(session, conversation, voter) == opinions.Progress(3, len(SEEDS))
    participant = await opinions.find_participant(session, conversation, voter)
    assert participant is not None and participant.pid == 0
    await opinions.vote(session, conversation, voter, seen[0], "disagree")
    assert (await opinions.votes_of(session, participant)) == {seen[0]: -1, seen[1]: -1, seen[2]: 0}
    # A second participant gets the next pseudonymous number.
    other = opinions.Voter(await create_person(session))
    await opinions.vote(session, conversation, other, seen[0], 1)
    found = await opinions.find_participant(session, conversation, other)
    assert found is not None and found.pid == 1
    # The next statement is always one not voted on yet, until every one is voted.
    while (statement := await opinions.next_statement(session, conversation, voter)) is not None:
        assert statement.id not in seen
        seen.append(statement.id)
        await opinions.vote(session, conversation, voter, statement.id, "pass")
    assert len(seen) == len(SEEDS)
    assert await opinions.progress(session, conversation, voter) == opinions.Progress(len(SEEDS), len(SEEDS))


async def test_bad_votes_and_statements_are_refused_and_store_nothing(session: AsyncSession) -> None:
    conversation = await create_conversation(session)
    voter = opinions.Voter(await create_person(session))
    statement = (await opinions.statements_of(session, conversation.id))[0]
    for value in ("maybe", "2", 5):
        with pytest.raises(opinions.OpinionError) as refused:
            await opinions.vote(session, conversation, voter, statement.id, value)
        assert refused.value.status_code == 400
    with pytest.raises(opinions.OpinionError) as refused:
        await opinions.vote(session, conversation, voter, 999_999, "agree")
    assert refused.value.status_code == 404
    for body in ("", "   ", "x" * 281):
        with pytest.raises(opinions.OpinionError) as refused:
            await opinions.write_statement(session, conversation, voter, body)
        assert refused.value.status_code == 400
    assert await _vote_count(session) == 0
    assert len(await opinions.statements_of(session, conversation.id)) == len(SEEDS)
    # Signed out, without anonymous participation allowed.
    with pytest.raises(opinions.OpinionError) as refused:
        await opinions.vote(session, conversation, opinions.Voter(anonymous_token="abc"), statement.id, "agree")
    assert refused.value.status_code == 401
    await opinions.set_closed(session, conversation, True)
    with pytest.raises(opinions.OpinionError) as refused:
        await opinions.vote(session, conversation, voter, statement.id, "agree")
    assert refused.value.status_code == 409


async def test_anonymous_participants_where_allowed_and_verified_only(session: AsyncSession) -> None:
    conversation = await create_conversation(session, anonymous_allowed=True)
    statement = (await opinions.statements_of(session, conversation.id))[0]
    anonymous = opinions.Voter(anonymous_token="cookie-token-1")
    await opinions.vote(session, conversation, anonymous, statement.id, "agree")
    assert (await opinions.progress(session, conversation, anonymous)).voted == 1
    assert (await opinions.progress(session, conversation, opinions.Voter(anonymous_token="another"))).voted == 0
    verified_only = await create_conversation(session, slug="verifies", verified_only=True)
    seed = (await opinions.statements_of(session, verified_only.id))[0]
    with pytest.raises(opinions.OpinionError) as refused:
        await opinions.vote(session, verified_only, opinions.Voter(await create_person(session)), seed.id, "agree")
    assert refused.value.status_code == 403


async def test_statements_moderated_before_publication(session: AsyncSession) -> None:
    conversation = await create_conversation(session, moderate_before=True)
    author = opinions.Voter(await create_person(session))
    written = await opinions.write_statement(session, conversation, author, "  Un  kiosque à musique.  ")
    assert written.body == "Un kiosque à musique." and written.status == opinions.StatementStatus.PENDING
    voter = opinions.Voter(await create_person(session))
    with pytest.raises(opinions.OpinionError) as refused:
        await opinions.vote(session, conversation, voter, written.id, "agree")
    assert refused.value.status_code == 404
    assert [s.id for s in await opinions.moderation_queue(session, conversation)] == [written.id]
    citizen = await create_person(session)
    with pytest.raises(opinions.OpinionError):
        await opinions.moderate(session, citizen, written.id, accept=True)
    moderator = await create_person(session, role=Role.MODERATOR)
    await opinions.moderate(session, moderator, written.id, accept=True)
    await opinions.vote(session, conversation, voter, written.id, "agree")
    assert written.tid == len(SEEDS)
    # Moderated out afterwards: no longer shown nor voted on.
    await opinions.moderate(session, moderator, written.id, accept=False, reason="Hors sujet")
    with pytest.raises(opinions.OpinionError):
        await opinions.vote(session, conversation, voter, written.id, "disagree")
    assert written.id not in [s.id for s in await opinions.statements_of(session, conversation.id)]


async def test_map_is_recomputed_when_votes_change_and_after_an_erasure(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    conversation = await create_conversation(session)
    statements = await opinions.statements_of(session, conversation.id)
    voters = [opinions.Voter(await create_person(session)) for _ in range(12)]
    for number, voter in enumerate(voters):
        for position, statement in enumerate(statements):
            side = 1 if number % 2 == 0 else -1
            await opinions.vote(session, conversation, voter, statement.id, side if position % 2 else 1)
    assert await opinions.is_stale(session, conversation.id)
    await session.commit()
    # The background task's round: the map behind its votes is recomputed, then nothing until votes change.
    [done] = await tasks.recompute_stale(sessionmaker)
    assert (done.vote_count, done.participant_count, done.group_count) == (96, 12, 2)
    assert await tasks.recompute_stale(sessionmaker) == []
    assert not await opinions.is_stale(session, conversation.id)
    stored = await opinions.stored_map(session, conversation.id)
    assert stored is not None and sorted(g["size"] for g in stored.groups) == [6, 6]
    assert {item["tid"] for item in stored.consensus} == {0, 2, 4, 6}
    # Each participant's point is read by its key; the picture is stored ready.
    placed = await maps.groups_by_pid(session, conversation.id)
    assert len(placed) == 12 and set(placed.values()) == {group["id"] for group in stored.groups}
    assert stored.picture["clustered"] == 12 and len(stored.picture["layers"]) == 2
    # Debounced: a map just recomputed waits its turn, even with a newer vote.
    await opinions.vote(session, conversation, voters[1], statements[0].id, -1)
    await session.commit()
    assert await tasks.recompute_stale(sessionmaker, not_before={conversation.id: time.monotonic() + 60}) == []
    assert await opinions.is_stale(session, conversation.id)

    # A participant's data: their votes and statements; erasure removes the votes and keeps a moderated
    # statement, signed by no one.
    registry = build_personal_data_registry()
    leaving = voters[0].person
    assert leaving is not None
    written = await opinions.write_statement(session, conversation, voters[0], "Des jeux pour enfants.")
    exported = await people.export_personal_data(session, registry, leaving)
    tables = exported["domains"]["opinions"]["tables"]
    assert len(tables["opinion_votes"]) == len(statements) + 1
    assert tables["opinion_statements"][0]["text"] == "Des jeux pour enfants."
    left = await opinions.find_participant(session, conversation, voters[0])
    assert left is not None and await maps.point_of(session, conversation.id, left.pid) is not None
    await people.erase_person(session, registry, leaving)
    await session.flush()
    assert await maps.point_of(session, conversation.id, left.pid) is None  # off the map at once
    assert await _vote_count(session) == 96 - len(statements)
    kept = await session.get(Statement, written.id)
    assert kept is not None and kept.author_id is None
    assert await opinions.is_stale(session, conversation.id)
    assert (await opinions.recompute(session, conversation.id)).participant_count == 11


async def test_a_map_another_web_worker_is_computing_is_skipped(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """Each web worker runs the recomputation rounds: the conversation's lease, taken before its votes are read
    and held until its map is stored, lets one compute while the others skip it (another worker: a session of
    its own connection)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite is served by one web process: no lease to share")
    conversation = await create_conversation(session, anonymous_allowed=True)
    statements = await opinions.statements_of(session, conversation.id)
    for number in range(4):
        voter = opinions.Voter(anonymous_token=f"token-{number}")
        for statement in statements[:3]:
            await opinions.vote(session, conversation, voter, statement.id, 1 if number % 2 else -1)
    await session.commit()
    other_worker = make_sessionmaker(engine, build_event_hub())
    async with tasks.lease(other_worker, conversation.id) as taken:
        assert taken
        async with tasks.lease(sessionmaker, conversation.id) as also:
            assert not also
        assert await tasks.recompute_stale(sessionmaker) == []  # computing elsewhere: skipped
        assert await opinions.is_stale(session, conversation.id)
    # Let go: the next round computes it, once.
    [done] = await tasks.recompute_stale(sessionmaker)
    assert (done.conversation_id, done.vote_count) == (conversation.id, 12)
    assert await tasks.recompute_stale(sessionmaker) == []
