"""The opinion pages: voting with and without htmx, refusals shown with their status, writing a statement, the map
and its table view in French and English, an administrator opening a conversation."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from citoyen.opinions import service as opinions
from citoyen.people import service as people
from citoyen.people.service import Role
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.opinions.helpers import SEEDS, create_conversation
from tests.participation.helpers import create_process

STATEMENT_ID = re.compile(r'name="statement_id" value="(\d+)"')


async def test_a_citizen_votes_without_javascript_then_with_htmx(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    conversation = await create_conversation(session)
    person = await create_person(session)
    await session.commit()
    await log_in(client, person.email)
    url = f"/participation/conversations/{conversation.id}"
    page = await client.get(url, headers={"Accept-Language": "fr"})
    assert "place de la Mairie" in page.text and f"0 sur {len(SEEDS)}" in page.text
    token = await csrf_token(client, url)
    first = STATEMENT_ID.search(page.text)
    assert first
    voted = await client.post(f"{url}/votes", data={"csrf_token": token, "statement_id": first[1], "vote": "agree"})
    assert voted.status_code == 303 and voted.headers["location"] == url
    again = await client.get(url)
    second = STATEMENT_ID.search(again.text)
    assert second and second[1] != first[1]
    partial = await client.post(
        f"{url}/votes",
        data={"csrf_token": token, "statement_id": second[1], "vote": "disagree"},
        headers={"HX-Request": "true"},
    )
    assert partial.status_code == 200 and partial.text.lstrip().startswith('<section id="opinion-vote"')
    assert 'data-voted="2"' in partial.text
    # Refused: a value that is no vote, a statement that does not exist; nothing is stored.
    bad = await client.post(f"{url}/votes", data={"csrf_token": token, "statement_id": second[1], "vote": "maybe"})
    assert bad.status_code == 400 and "passer" in bad.text
    missing = await client.post(f"{url}/votes", data={"csrf_token": token, "statement_id": "999999", "vote": "agree"})
    assert missing.status_code == 404
    too_long = await client.post(f"{url}/statements", data={"csrf_token": token, "body": "x" * 281})
    assert too_long.status_code == 400 and "280" in too_long.text
    assert (await opinions.progress(session, conversation, opinions.Voter(person))).voted == 2
    written = await client.post(f"{url}/statements", data={"csrf_token": token, "body": "Une fontaine à boire."})
    assert written.status_code == 303
    assert "Une fontaine à boire." in [s.body for s in await opinions.statements_of(session, conversation.id)]
    # Closed: a vote is refused at once, even where the app keeps the conversation's frame between requests (the
    # vote's one statement checks it); the earlier vote stays as it was.
    await opinions.set_closed(session, conversation, True)
    await session.commit()
    late = await client.post(f"{url}/votes", data={"csrf_token": token, "statement_id": first[1], "vote": "disagree"})
    assert late.status_code == 409
    participant = await opinions.find_participant(session, conversation, opinions.Voter(person))
    assert participant is not None
    assert (await opinions.votes_of(session, participant))[int(first[1])] == opinions.Vote.AGREE.value


async def test_signed_out_visitors_vote_anonymously_where_allowed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    closed_to_them = await create_conversation(session)
    open_to_them = await create_conversation(session, slug="anonyme", anonymous_allowed=True)
    await session.commit()
    token = await csrf_token(client, "/login")
    for conversation, status in ((closed_to_them, 401), (open_to_them, 303)):
        statement = (await opinions.statements_of(session, conversation.id))[0]
        response = await client.post(
            f"/participation/conversations/{conversation.id}/votes",
            data={"csrf_token": token, "statement_id": str(statement.id), "vote": "pass"},
        )
        assert response.status_code in ((401, 303) if status == 401 else (303,))
    page = await client.get(f"/participation/conversations/{open_to_them.id}")
    assert 'data-voted="1"' in page.text


async def test_the_map_and_its_table_in_both_languages(client: httpx.AsyncClient, session: AsyncSession) -> None:
    conversation = await create_conversation(session)
    statements = await opinions.statements_of(session, conversation.id)
    people = [await create_person(session) for _ in range(10)]
    for number, person in enumerate(people):
        for position, statement in enumerate(statements):
            side = 1 if number % 2 == 0 else -1
            await opinions.vote(
                session, conversation, opinions.Voter(person), statement.id, side if position % 2 else 1
            )
    await opinions.recompute(session, conversation.id)
    await session.commit()
    await log_in(client, people[0].email)
    url = f"/participation/conversations/{conversation.id}/map"
    french = await client.get(url, headers={"Accept-Language": "fr"})
    assert french.status_code == 200
    assert "Carte des opinions" in french.text and "10 participants" in french.text
    assert 'id="own-group" data-group="' in french.text and "<svg" in french.text
    assert "Ce qui rassemble" in french.text and SEEDS[0] in french.text
    english = await client.get(url + "?view=table", headers={"Accept-Language": "en"})
    assert "Opinion map" in english.text and "What brings everyone together" in english.text
    assert "2 opinion groups" in english.text and "<figure" not in english.text


async def test_an_administrator_opens_a_conversation_with_seed_statements(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    existing = await create_conversation(session)
    admin = await create_person(session, role=Role.ADMIN)
    await session.commit()
    await log_in(client, admin.email)
    url = f"/admin/participation/processes/{existing.process_id}/conversations/new"
    form = await client.get(url)
    assert form.status_code == 200
    token = await csrf_token(client, url)
    data = {
        "csrf_token": token,
        "question": "Quel avenir pour le canal ?",
        "seeds": "Baignade l'été.\n\nPlus de bancs.",
    }
    refused = await client.post(url, data={**data, "seeds": "y" * 300})
    assert refused.status_code == 400 and "y" * 300 in refused.text
    created = await client.post(url, data={**data, "moderation": "before", "participants_write": "1"})
    assert created.status_code == 303
    conversation_id = int(created.headers["location"].rsplit("/", 1)[1])
    conversation = await opinions.get_conversation(session, conversation_id, include_unpublished=True)
    assert conversation.moderate_before and conversation.participants_write
    assert [s.body for s in await opinions.statements_of(session, conversation_id)] == [
        "Baignade l'été.",
        "Plus de bancs.",
    ]


async def test_a_process_page_leads_to_its_conversations(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """The process page loads its conversations' section from this domain (a link without JavaScript); a process
    without any gets an empty section."""
    conversation = await create_conversation(session)
    empty = await create_process(session, slug="sans-conversation")
    await session.commit()
    page = await client.get("/participation/processes/place-mairie", headers={"Accept-Language": "fr"})
    assert 'hx-get="/participation/processes/place-mairie/conversations/section"' in page.text
    assert 'href="/participation/processes/place-mairie/conversations"' in page.text
    section = await client.get(
        "/participation/processes/place-mairie/conversations/section", headers={"Accept-Language": "fr"}
    )
    assert section.status_code == 200
    assert f'href="/participation/conversations/{conversation.id}/map"' in section.text
    assert "Conversations\u00a0: où vous situez-vous\u00a0?" in section.text
    nothing = await client.get(f"/participation/processes/{empty.slug}/conversations/section")
    assert nothing.status_code == 200 and nothing.text.strip() == ""
    assert (await client.get("/participation/processes/inconnu/conversations/section")).status_code == 404


async def test_a_signed_in_vote_is_one_statement_that_checks_the_session(
    client: httpx.AsyncClient, session: AsyncSession, connection: AsyncConnection
) -> None:
    """A returning participant's vote sends one statement to PostgreSQL (it checks the signed session's claim as
    it writes: no account read; SQLite reads the claim first), and the htmx answer one more (the standing and the
    next statement together). A session ended elsewhere votes nothing: 401, and the cookie forgets it."""
    conversation = await create_conversation(session)
    person = await create_person(session)
    await session.commit()
    await log_in(client, person.email)
    url = f"/participation/conversations/{conversation.id}"
    token = await csrf_token(client, url)
    statements = await opinions.statements_of(session, conversation.id)
    first = await client.post(
        f"{url}/votes", data={"csrf_token": token, "statement_id": statements[0].id, "vote": "agree"}
    )
    assert first.status_code == 303
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")):
            sent.append(statement)

    expected = 1 if connection.dialect.name == "postgresql" else 2
    event.listen(connection.sync_connection, "before_cursor_execute", count)
    try:
        plain = {"csrf_token": token, "statement_id": statements[1].id, "vote": "disagree"}
        assert (await client.post(f"{url}/votes", data=plain)).status_code == 303
        assert len(sent) == expected, sent
        sent.clear()
        htmx = {"csrf_token": token, "statement_id": statements[2].id, "vote": "pass"}
        answer = await client.post(f"{url}/votes", data=htmx, headers={"HX-Request": "true"})
        assert answer.status_code == 200 and 'data-voted="3"' in answer.text
        assert len(sent) == expected + 1, sent
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", count)
    await people.end_all_sessions(session, person.id)
    await session.commit()
    ended = {"csrf_token": token, "statement_id": statements[0].id, "vote": "disagree"}
    refused = await client.post(f"{url}/votes", data=ended)
    assert refused.status_code == 401
    participant = await opinions.find_participant(session, conversation, opinions.Voter(person))
    assert participant is not None
    assert (await opinions.votes_of(session, participant))[statements[0].id] == opinions.Vote.AGREE.value
    page = await client.get(url)
    assert 'href="/login?next=' in page.text  # signed out: the cookie forgot the session
