"""Moderation: one flag per person and item, the queue by number of flags, hiding with a public reason
(the author is told; the content is gone from the pages), dismissing, and who may moderate."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.app import build_personal_data_registry
from citoyen.config import Settings
from citoyen.notifications import service as notifications
from citoyen.participation.debate import service as debate
from citoyen.participation.debate.models import Comment
from citoyen.participation.debate.service import DebateError, Target
from citoyen.participation.moderation import service as moderation
from citoyen.participation.moderation.models import CaseStatus, Flag
from citoyen.people import service as people
from citoyen.people.models import Role
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.participation.debate_world import DebateWorld, create_debate_world

EN = {"Accept-Language": "en"}


@pytest.fixture
async def world(session: AsyncSession) -> DebateWorld:
    return await create_debate_world(session)


async def a_comment(
    session: AsyncSession, settings: Settings, world: DebateWorld, text: str = "Achetez ici"
) -> Comment:
    return await debate.add_comment(session, settings, world.bruno, Target(world.process, world.proposal), text)


async def flag_count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Flag))).scalar_one())


async def test_one_flag_per_person_and_item(session: AsyncSession, settings: Settings, world: DebateWorld) -> None:
    comment = await a_comment(session, settings, world)
    await moderation.flag(session, world.alice, "comment", comment.id, "spam")
    with pytest.raises(DebateError, match="already flagged"):
        await moderation.flag(session, world.alice, "comment", comment.id, "offensive")
    assert await flag_count(session) == 1


@pytest.mark.parametrize(
    ("reason", "details", "message"),
    [
        ("other", "  ", "Say in a few words"),
        ("because", "", "Choose why"),
        ("spam", "x" * 501, "too long"),
    ],
)
async def test_bad_flags_are_refused(
    session: AsyncSession, settings: Settings, world: DebateWorld, reason: str, details: str, message: str
) -> None:
    comment = await a_comment(session, settings, world)
    with pytest.raises(DebateError, match=message):
        await moderation.flag(session, world.alice, "comment", comment.id, reason, details)
    with pytest.raises(DebateError, match="does not exist"):
        await moderation.flag(session, world.alice, "comment", 999_999, "spam")
    with pytest.raises(DebateError, match="what you wrote"):
        await moderation.flag(session, world.bruno, "comment", comment.id, "spam")
    assert await flag_count(session) == 0


async def test_the_queue_lists_the_most_flagged_first_with_reasons(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    once = await a_comment(session, settings, world, "Un peu hors sujet")
    twice = await a_comment(session, settings, world, "Publicité")
    await moderation.flag(session, world.alice, "comment", once.id, "off_topic")
    await moderation.flag(session, world.alice, "comment", twice.id, "spam")
    await moderation.flag(session, world.author, "comment", twice.id, "other", "Lien vers une boutique")
    await moderation.flag(session, world.alice, "proposal", world.proposal.id, "offensive")
    items = await moderation.queue(session)
    assert items[0].text == "Publicité"
    assert items[0].case.flag_count == 2
    assert items[0].reasons == {"spam": 1, "other": 1}
    assert items[0].details == ["Lien vers une boutique"]
    assert {item.kind for item in items} == {"comment", "proposal"}


async def test_hiding_a_comment_replaces_it_and_tells_its_author(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    world.bruno.locale = "en"
    comment = await a_comment(session, settings, world)
    await moderation.flag(session, world.alice, "comment", comment.id, "spam")
    case = (await moderation.queue(session))[0].case
    with pytest.raises(DebateError, match="public reason"):
        await moderation.hide(session, world.moderator, case.id, "   ")
    await moderation.hide(session, world.moderator, case.id, "publicité")
    assert comment.hidden_at is not None and comment.hidden_reason == "publicité"
    assert await moderation.queue(session) == []
    told = await notifications.list_notifications(session, world.bruno)
    assert told[0].title_in(world.bruno.locale) == "Your comment was hidden by moderation: publicité"
    with pytest.raises(DebateError, match="already decided"):
        await moderation.dismiss(session, world.moderator, case.id)
    with pytest.raises(DebateError, match="already hidden"):
        await moderation.flag(session, world.author, "comment", comment.id, "spam")


async def test_hiding_a_proposal_and_its_public_reason(session: AsyncSession, world: DebateWorld) -> None:
    await moderation.flag(session, world.alice, "proposal", world.proposal.id, "offensive")
    case = (await moderation.queue(session))[0].case
    await moderation.hide(session, world.moderator, case.id, "propos haineux")
    assert world.proposal.hidden_at is not None
    assert await moderation.hidden_reasons(session, "proposal", [world.proposal.id]) == {
        world.proposal.id: "propos haineux"
    }
    assert len(await notifications.list_notifications(session, world.author)) == 1


async def test_dismissing_keeps_the_item_and_new_flags_bring_it_back(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    comment = await a_comment(session, settings, world, "Je ne suis pas d'accord")
    await moderation.flag(session, world.alice, "comment", comment.id, "offensive")
    case = (await moderation.queue(session))[0].case
    await moderation.dismiss(session, world.moderator, case.id)
    assert case.status == CaseStatus.DISMISSED.value and comment.hidden_at is None
    assert await moderation.queue(session) == []
    await moderation.flag(session, world.author, "comment", comment.id, "offensive")
    again = await moderation.queue(session)
    assert len(again) == 1 and again[0].case.flag_count == 2


async def test_flags_are_exported_and_erased(session: AsyncSession, settings: Settings, world: DebateWorld) -> None:
    registry = build_personal_data_registry()
    comment = await a_comment(session, settings, world)
    await moderation.flag(session, world.alice, "comment", comment.id, "spam")
    export = await people.export_personal_data(session, registry, world.alice)
    assert export["domains"]["moderation"]["tables"]["flags"][0]["reason"] == "spam"
    await people.erase_person(session, registry, world.alice)
    assert await flag_count(session) == 0


async def test_pages_flag_queue_and_decisions(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    comment = await a_comment(session, settings, world, "Contenu douteux")
    citizen = await create_person(session, role=Role.CITIZEN)
    await session.commit()
    await log_in(client, citizen.email)
    token = await csrf_token(client, "/")
    back = f"/participation/proposals/{world.proposal.id}/comments"
    form = {"kind": "comment", "target_id": str(comment.id), "reason": "spam", "next": back, "csrf_token": token}
    flagged = await client.post("/participation/flags", data=form)
    assert flagged.status_code == 303 and flagged.headers["location"] == back
    again = await client.post("/participation/flags", data={**form, "details": "encore"}, headers=EN)
    assert again.status_code == 409 and "already flagged" in again.text and "encore" in again.text
    assert (await client.get("/staff/moderation")).status_code == 403

    await client.post("/logout", data={"csrf_token": token})
    await log_in(client, world.moderator.email)
    queue = await client.get("/staff/moderation", headers=EN)
    assert queue.status_code == 200 and "Contenu douteux" in queue.text and "1 flag" in queue.text
    token = await csrf_token(client, "/staff/moderation")
    case_id = (await moderation.queue(session))[0].case.id
    empty = await client.post(f"/staff/moderation/{case_id}/hide", data={"reason": "", "csrf_token": token}, headers=EN)
    assert empty.status_code == 400 and "Give the public reason" in empty.text
    hidden = await client.post(
        f"/staff/moderation/{case_id}/hide", data={"reason": "spam commercial", "csrf_token": token}
    )
    assert hidden.status_code == 303
    page = await client.get(back, headers=EN)
    assert "Contenu douteux" not in page.text and "Hidden by moderation: spam commercial" in page.text


async def test_moderators_staff_and_admins_moderate(session: AsyncSession) -> None:
    assert moderation.is_moderator(await create_person(session, role=Role.MODERATOR))
    assert moderation.is_moderator(await create_person(session, role=Role.STAFF))
    assert not moderation.is_moderator(await create_person(session, role=Role.CITIZEN))
    assert not moderation.is_moderator(None)
