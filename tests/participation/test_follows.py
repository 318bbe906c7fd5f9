"""Following: processes and neighbourhoods, in-app news at once, and the daily e-mail digest (only
with consent, at most one a day, never one e-mail per event)."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.app import build_personal_data_registry
from citoyen.config import Settings
from citoyen.notifications import service as notifications
from citoyen.participation import service as participation
from citoyen.participation.debate import service as debate
from citoyen.participation.debate.service import Target
from citoyen.participation.follows import service as follows
from citoyen.participation.follows.models import DigestEntry, Follow
from citoyen.participation.follows.tasks import next_run
from citoyen.participation.models import ProposalStatus
from citoyen.people import service as people
from citoyen.people.models import OutboxMessage, Role
from citoyen.territory import service as territory
from tests.conftest import csrf_token
from tests.factories import log_in
from tests.participation.debate_world import DebateWorld, create_debate_world, create_proposal
from tests.territory.helpers import create_territory

DAY = date(2026, 11, 26)


@pytest.fixture
async def world(session: AsyncSession) -> DebateWorld:
    await create_territory(session)
    return await create_debate_world(session)


async def outbox(session: AsyncSession) -> list[OutboxMessage]:
    return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def test_following_is_once_and_can_be_stopped(session: AsyncSession, world: DebateWorld) -> None:
    await follows.follow(session, world.alice, "process", world.process.id)
    await follows.follow(session, world.alice, "process", world.process.id)
    assert len(await follows.follows_of(session, world.alice.id)) == 1
    await follows.unfollow(session, world.alice, "process", world.process.id)
    assert await follows.follows_of(session, world.alice.id) == []
    with pytest.raises(follows.FollowError):
        await follows.follow(session, world.alice, "neighbourhood", 999_999)
    with pytest.raises(follows.FollowError):
        await follows.follow(session, world.alice, "galaxy", 1)


async def test_a_new_proposal_tells_followers_of_its_process_and_neighbourhood(
    session: AsyncSession, world: DebateWorld
) -> None:
    west = (await territory.list_neighbourhoods(session))[0]
    await follows.follow(session, world.alice, "process", world.process.id)
    await follows.follow(session, world.bruno, "neighbourhood", west.id)
    await follows.follow(session, world.author, "process", world.process.id)
    world.alice.locale = world.bruno.locale = "en"
    proposal = await create_proposal(
        session, world.process, world.author, "Un jardin partagé", neighbourhood_id=west.id
    )
    await follows.proposal_published(session, proposal)
    for person in (world.alice, world.bruno):
        news = await notifications.list_notifications(session, person)
        assert [n.title_in("en") for n in news] == ["New proposal: “Un jardin partagé”"]
        assert news[0].link == f"/participation/proposals/{proposal.id}"
    assert await notifications.list_notifications(session, world.author) == []  # not told of one's own


async def test_the_digest_is_one_email_a_day_only_with_consent(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    await people.record_consent(session, world.alice, "email_notifications", True)
    world.alice.locale = "en"
    await follows.follow(session, world.alice, "process", world.process.id)
    await follows.follow(session, world.bruno, "process", world.process.id)  # no consent: in-app only
    for title in ("Premier projet", "Second projet", "Troisième projet"):
        await follows.proposal_published(session, await create_proposal(session, world.process, world.author, title))
    assert len(await notifications.list_notifications(session, world.bruno)) == 3
    assert await outbox(session) == []  # nothing is mailed per event

    first = await follows.send_digests(session, settings, DAY)
    assert first.sent == 1
    mails = await outbox(session)
    assert len(mails) == 1 and mails[0].recipient == world.alice.email
    assert mails[0].subject == "3 pieces of news about what you follow"
    assert "Troisième projet" in mails[0].body and "/participation/proposals/" in mails[0].body

    await follows.proposal_published(session, await create_proposal(session, world.process, world.author, "Quatrième"))
    again = await follows.send_digests(session, settings, DAY)
    assert (again.sent, again.already_sent) == (0, 1)
    assert len(await outbox(session)) == 1  # the same day: nothing more
    tomorrow = await follows.send_digests(session, settings, date(2026, 11, 27))
    assert tomorrow.sent == 1
    latest = (await outbox(session))[-1]
    assert "Quatrième" in latest.body and "Premier projet" not in latest.body


async def test_withdrawing_consent_drops_the_waiting_news(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    await people.record_consent(session, world.alice, "email_notifications", True)
    await follows.follow(session, world.alice, "process", world.process.id)
    await follows.proposal_published(session, await create_proposal(session, world.process, world.author, "Projet"))
    await people.record_consent(session, world.alice, "email_notifications", False)
    result = await follows.send_digests(session, settings, DAY)
    assert (result.sent, result.without_consent) == (0, 1)
    assert await outbox(session) == []
    assert (await session.execute(select(func.count()).select_from(DigestEntry))).scalar_one() == 0


async def test_comments_reach_the_digest_of_consenting_followers(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    await people.record_consent(session, world.alice, "email_notifications", True)
    first = await debate.add_comment(session, settings, world.alice, Target(world.process, world.proposal), "Idée")
    await debate.add_comment(session, settings, world.bruno, Target(world.process, world.proposal), "Oui", first.id)
    assert (await follows.send_digests(session, settings, DAY)).sent == 1
    assert world.bruno.display_name in (await outbox(session))[0].body


async def test_a_comment_rolled_back_tells_nobody(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    await follows.follow(session, world.alice, "process", world.process.id)
    savepoint = await session.begin_nested()
    await debate.add_comment(session, settings, world.bruno, Target(world.process), "Et si on plantait des arbres ?")
    assert len(await notifications.list_notifications(session, world.alice)) == 1  # told with the change...
    await savepoint.rollback()
    assert await notifications.list_notifications(session, world.alice) == []  # ...and undone with it
    await debate.add_comment(session, settings, world.bruno, Target(world.process), "Des arbres, vraiment.")
    assert len(await notifications.list_notifications(session, world.alice)) == 1


async def test_an_answer_and_a_milestone_tell_the_author_and_followers(
    session: AsyncSession, world: DebateWorld
) -> None:
    await follows.follow(session, world.alice, "proposal", world.proposal.id)
    world.alice.locale = "en"
    staff = await people.create_person(session, "staff-follows@example.org", None, "Agent", role=Role.STAFF)
    await participation.answer_proposal(session, staff, world.proposal, ProposalStatus.ACCEPTED, "Bonne idée.")
    await participation.add_milestone(session, staff, world.proposal, "Bancs commandés", 40)
    news = await notifications.list_notifications(session, world.alice)
    assert sorted(n.title_in("en") for n in news) == sorted(
        [
            f"Your followed proposal “{world.proposal.title}” is now: accepted",
            f"Your followed proposal “{world.proposal.title}” is now: in progress",
        ]
    )
    assert {n.body for n in news} == {"Bonne idée.", "Bancs commandés"}


async def test_follows_and_digests_are_exported_and_erased(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    registry = build_personal_data_registry()
    await people.record_consent(session, world.alice, "email_notifications", True)
    await follows.follow(session, world.alice, "process", world.process.id)
    await follows.proposal_published(session, await create_proposal(session, world.process, world.author, "Projet"))
    await follows.send_digests(session, settings, DAY)
    tables = (await people.export_personal_data(session, registry, world.alice))["domains"]["follows"]["tables"]
    assert tables["follows"][0]["target"] == "process"
    assert tables["digests_sent"] == [{"day": "2026-11-26", "news": 1}]
    person_id = world.alice.id
    await people.erase_person(session, registry, world.alice)
    assert (await session.execute(select(Follow).where(Follow.person_id == person_id))).first() is None


def test_the_daily_task_runs_at_the_configured_hour() -> None:
    from datetime import UTC, datetime

    assert next_run(datetime(2026, 11, 26, 5, 30, tzinfo=UTC), 6) == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    assert next_run(datetime(2026, 11, 26, 6, 0, tzinfo=UTC), 6) == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


async def test_follow_pages(client: httpx.AsyncClient, session: AsyncSession, world: DebateWorld) -> None:
    await session.commit()
    await log_in(client, world.alice.email)
    page = await client.get("/account/follows", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Follow a neighbourhood" in page.text
    token = await csrf_token(client, "/account/follows")
    west = (await territory.list_neighbourhoods(session))[0]
    followed = await client.post(
        "/follows", data={"kind": "neighbourhood", "target_id": str(west.id), "action": "follow", "csrf_token": token}
    )
    assert followed.status_code == 303
    page = await client.get("/account/follows", headers={"Accept-Language": "en"})
    assert "Stop following" in page.text and west.name in page.text
    french = await client.get("/account/follows", headers={"Accept-Language": "fr"})
    assert "Quartier\u00a0:" in french.text  # French puts a no-break space before the colon
    await client.post(
        "/follows", data={"kind": "neighbourhood", "target_id": str(west.id), "action": "unfollow", "csrf_token": token}
    )
    assert await follows.follows_of(session, world.alice.id) == []


async def test_the_follows_page_lists_followed_proposals_processes_and_neighbourhoods(
    client: httpx.AsyncClient, session: AsyncSession, world: DebateWorld
) -> None:
    west = (await territory.list_neighbourhoods(session))[0]
    await follows.follow(session, world.alice, "proposal", world.proposal.id)
    await follows.follow(session, world.alice, "process", world.process.id)
    await follows.follow(session, world.alice, "neighbourhood", west.id)
    hidden = await create_proposal(session, world.process, world.author, "Une proposition masquée")
    await follows.follow(session, world.alice, "proposal", hidden.id)
    hidden.hidden_at = hidden.created_at
    await session.commit()
    await log_in(client, world.alice.email)

    page = await client.get("/account/follows", headers={"Accept-Language": "en"})

    assert "Proposal:" in page.text
    assert f'<a href="/participation/proposals/{world.proposal.id}">{world.proposal.title}</a>' in page.text
    assert f'<a href="/participation/processes/{world.process.slug}">' in page.text
    assert west.name in page.text and "Une proposition masquée" not in page.text
    token = await csrf_token(client, "/account/follows")
    form = {"kind": "proposal", "target_id": str(world.proposal.id), "action": "unfollow", "csrf_token": token}
    assert (await client.post("/follows", data=form)).status_code == 303
    page = await client.get("/account/follows", headers={"Accept-Language": "en"})
    assert f"/participation/proposals/{world.proposal.id}" not in page.text
