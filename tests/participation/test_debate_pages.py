"""Debate pages: posting and replying with and without htmx, refused comments keep their text, votes,
links to a comment, hidden comments show only the moderators' reason."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.participation.debate import service as debate
from citoyen.participation.debate.models import Comment
from citoyen.participation.debate.service import Target
from tests.conftest import csrf_token
from tests.factories import log_in
from tests.participation.debate_world import DebateWorld, create_debate_world

HTMX = {"HX-Request": "true", "Accept-Language": "en"}
EN = {"Accept-Language": "en"}


@pytest.fixture
async def world(session: AsyncSession) -> DebateWorld:
    world = await create_debate_world(session)
    await session.commit()
    return world


def comments_url(world: DebateWorld) -> str:
    return f"/participation/proposals/{world.proposal.id}/comments"


async def signed_in(client: httpx.AsyncClient, world: DebateWorld) -> str:
    await log_in(client, world.alice.email)
    return await csrf_token(client, comments_url(world))


async def stored_comments(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Comment))).scalar_one())


async def test_the_debate_page_shows_comments_and_the_form(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    await debate.add_comment(session, settings, world.bruno, Target(world.process, world.proposal), "Très bien")
    await session.commit()
    page = await client.get(comments_url(world), headers=EN)
    assert page.status_code == 200
    assert "Très bien" in page.text and world.bruno.display_name in page.text
    assert "Log in to comment" in page.text
    await signed_in(client, world)
    page = await client.get(comments_url(world), headers=EN)
    assert 'name="body"' in page.text and "Reply" in page.text


async def test_posting_without_javascript_redirects_to_the_comment(
    client: httpx.AsyncClient, session: AsyncSession, world: DebateWorld
) -> None:
    token = await signed_in(client, world)
    response = await client.post(comments_url(world), data={"body": "Je soutiens", "csrf_token": token}, headers=EN)
    assert response.status_code == 303
    comment = (await session.execute(select(Comment))).scalar_one()
    assert response.headers["location"] == f"/participation/comments/{comment.id}"
    assert comment.locale == "en"  # written from the English interface: a French page says so
    french = await client.get(f"/participation/proposals/{world.proposal.id}", headers={"Accept-Language": "fr"})
    assert '<div class="comment-body" lang="en">' in french.text and "(en anglais)" in french.text
    assert "(in English)" not in (await client.get(f"/participation/proposals/{world.proposal.id}", headers=EN)).text
    link = await client.get(response.headers["location"])
    assert link.status_code == 303
    assert link.headers["location"] == f"/participation/proposals/{world.proposal.id}#comment-{comment.id}"


async def test_posting_and_replying_with_htmx_returns_the_section(
    client: httpx.AsyncClient, session: AsyncSession, world: DebateWorld
) -> None:
    token = await signed_in(client, world)
    first = await client.post(comments_url(world), data={"body": "Premier avis", "csrf_token": token}, headers=HTMX)
    assert first.status_code == 200
    assert first.text.lstrip().startswith('<section class="card debate" id="debate"')
    assert "Premier avis" in first.text and "<html" not in first.text
    comment = (await session.execute(select(Comment))).scalar_one()
    assert f'data-focus="{comment.id}"' in first.text
    reply = await client.post(
        comments_url(world),
        data={"body": "Une réponse", "parent_id": str(comment.id), "csrf_token": token},
        headers=HTMX,
    )
    assert reply.status_code == 200 and "Une réponse" in reply.text
    assert 'class="comments replies"' in reply.text


async def test_a_refused_comment_keeps_its_text_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession, world: DebateWorld
) -> None:
    token = await signed_in(client, world)
    too_long = "Trop long. " * 500
    for headers in (HTMX, EN):
        response = await client.post(comments_url(world), data={"body": too_long, "csrf_token": token}, headers=headers)
        assert response.status_code == 400
        assert "Your comment is too long" in response.text
        assert "Trop long. Trop long." in response.text
    world.phase.allows_comments = False
    await session.commit()
    closed = await client.post(comments_url(world), data={"body": "Hors délai", "csrf_token": token}, headers=HTMX)
    assert closed.status_code == 409
    assert "Comments are closed" in closed.text and "Hors délai" in closed.text
    assert await stored_comments(session) == 0


async def test_commenting_needs_an_account_and_a_csrf_token(
    client: httpx.AsyncClient, session: AsyncSession, world: DebateWorld
) -> None:
    token = await csrf_token(client, comments_url(world))
    visitor = await client.post(comments_url(world), data={"body": "Anonyme", "csrf_token": token})
    assert visitor.status_code == 303 and visitor.headers["location"].startswith("/login")
    await signed_in(client, world)
    forged = await client.post(comments_url(world), data={"body": "Sans jeton", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert await stored_comments(session) == 0


async def test_voting_with_htmx_returns_the_votes_and_can_be_changed(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    comment = await debate.add_comment(session, settings, world.bruno, Target(world.process, world.proposal), "Avis")
    await session.commit()
    token = await signed_in(client, world)
    url = f"/participation/comments/{comment.id}/vote"
    up = await client.post(url, data={"value": "up", "csrf_token": token}, headers=HTMX)
    assert up.status_code == 200 and 'id="votes-' in up.text and 'aria-pressed="true"' in up.text
    down = await client.post(url, data={"value": "down", "csrf_token": token}, headers=EN)
    assert down.status_code == 303
    await session.refresh(comment)
    assert (comment.up_votes, comment.down_votes) == (0, 1)


async def test_a_hidden_comment_shows_only_the_reason(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    comment = await debate.add_comment(
        session, settings, world.bruno, Target(world.process, world.proposal), "Texte injurieux"
    )
    await debate.hide_comment(session, comment, "insultes")
    await session.commit()
    page = await client.get(comments_url(world), headers=EN)
    assert "Texte injurieux" not in page.text
    assert "Hidden by moderation: insultes" in page.text


async def test_process_debates_and_unknown_targets(
    client: httpx.AsyncClient, session: AsyncSession, world: DebateWorld
) -> None:
    token = await signed_in(client, world)
    url = f"/participation/processes/{world.process.id}/comments"
    response = await client.post(url, data={"body": "Sur le processus", "csrf_token": token}, headers=HTMX)
    assert response.status_code == 200 and "Sur le processus" in response.text
    assert (await client.get("/participation/proposals/999999/comments")).status_code == 404
    assert (await client.get("/participation/comments/999999")).status_code == 404


async def test_the_proposal_page_carries_its_debate_follow_and_flag(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    await debate.add_comment(session, settings, world.bruno, Target(world.process, world.proposal), "Sous la page")
    await session.commit()
    await log_in(client, world.alice.email)
    page = await client.get(f"/participation/proposals/{world.proposal.id}", headers=EN)
    assert page.status_code == 200
    assert 'id="debate"' in page.text and "Sous la page" in page.text
    assert 'action="/follows"' in page.text and 'name="kind" value="proposal"' in page.text
    assert 'action="/participation/flags"' in page.text
    process_page = await client.get(f"/participation/processes/{world.process.slug}", headers=EN)
    assert process_page.status_code == 200
    assert 'id="debate"' in process_page.text and 'name="kind" value="process"' in process_page.text


async def test_a_hidden_proposal_shows_only_the_reason_to_the_public(
    client: httpx.AsyncClient, session: AsyncSession, world: DebateWorld
) -> None:
    from citoyen.participation.moderation import service as moderation

    await moderation.flag(session, world.alice, "proposal", world.proposal.id, "spam")
    case = (await moderation.queue(session))[0].case
    await moderation.hide(session, world.moderator, case.id, "publicité déguisée")
    await session.commit()
    page = await client.get(f"/participation/proposals/{world.proposal.id}", headers=EN)
    assert page.status_code == 410
    assert "Hidden by moderation: publicité déguisée" in page.text
    assert world.proposal.body not in page.text
