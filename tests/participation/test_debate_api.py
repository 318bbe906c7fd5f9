"""The debate's JSON API: threads with their replies, orders, hidden comments replaced by the reason,
pseudonyms only, JSON errors."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.participation.debate import service as debate
from citoyen.participation.debate.service import Target
from tests.participation.debate_world import DebateWorld, create_debate_world


@pytest.fixture
async def world(session: AsyncSession) -> DebateWorld:
    return await create_debate_world(session)


async def test_comments_as_json_threads(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    target = Target(world.process, world.proposal)
    first = await debate.add_comment(session, settings, world.alice, target, "Premier")
    reply = await debate.add_comment(session, settings, world.bruno, target, "Réponse", first.id)
    second = await debate.add_comment(session, settings, world.bruno, target, "Insulte")
    await debate.vote(session, world.bruno, first, "up")
    await debate.hide_comment(session, second, "propos injurieux")
    await session.commit()

    response = await client.get(f"/api/participation/proposals/{world.proposal.id}/comments")
    assert response.status_code == 200
    data = response.json()
    assert (data["sort"], data["page"], data["pages"], data["threads"]) == ("oldest", 1, 1, 2)
    top, hidden = data["comments"]
    assert top["id"] == first.id and top["author"] == world.alice.display_name and top["up_votes"] == 1
    assert top["replies"][0]["id"] == reply.id and top["replies"][0]["in_reply_to"] == first.id
    assert hidden["hidden"] is True and hidden["body"] == "Hidden by moderation: propos injurieux"
    assert "Insulte" not in response.text and world.alice.email not in response.text

    best = (await client.get(f"/api/participation/proposals/{world.proposal.id}/comments?sort=newest")).json()
    assert [c["id"] for c in best["comments"]] == [second.id, first.id]


async def test_comment_api_errors_are_json(client: httpx.AsyncClient, world: DebateWorld) -> None:
    missing = await client.get("/api/participation/proposals/999999/comments")
    assert missing.status_code == 404 and missing.json()["error"]["status"] == 404
    bad = await client.get(f"/api/participation/proposals/{world.proposal.id}/comments?sort=loudest")
    assert bad.status_code == 400 and bad.json()["error"]["status"] == 400
    process = await client.get(f"/api/participation/processes/{world.process.id}/comments")
    assert process.status_code == 200 and process.json()["comments"] == []
