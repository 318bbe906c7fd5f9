"""Debate rules: threads and their depth, the proposal's comment count, when commenting is refused,
votes, orders of reading, alignment, and what erasure keeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.app import build_personal_data_registry
from citoyen.config import Settings
from citoyen.notifications import service as notifications
from citoyen.participation.debate import service as debate
from citoyen.participation.debate.models import Comment, CommentVote
from citoyen.participation.debate.service import DebateError, Target
from citoyen.participation.models import ProposalFollow
from citoyen.people import service as people
from tests.participation.debate_world import DebateWorld, create_debate_world, create_process, create_proposal


@pytest.fixture
async def world(session: AsyncSession) -> DebateWorld:
    return await create_debate_world(session)


def on_proposal(world: DebateWorld) -> Target:
    return Target(world.process, world.proposal)


async def comment_count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Comment))).scalar_one())


async def test_comments_and_replies_are_counted_on_the_proposal(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    first = await debate.add_comment(session, settings, world.alice, on_proposal(world), "  Bonne idée !  ")
    reply = await debate.add_comment(session, settings, world.bruno, on_proposal(world), "D'accord.", first.id)
    assert first.body == "Bonne idée !" and first.depth == 0 and first.thread_id is None
    assert reply.parent_id == first.id and reply.thread_id == first.id and reply.depth == 1
    await session.refresh(world.proposal)
    await session.refresh(first)
    assert world.proposal.comment_count == 2
    assert first.reply_count == 1


async def test_replies_deeper_than_three_levels_join_the_deepest_level(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    target = on_proposal(world)
    level0 = await debate.add_comment(session, settings, world.alice, target, "Niveau 0")
    level1 = await debate.add_comment(session, settings, world.bruno, target, "Niveau 1", level0.id)
    level2 = await debate.add_comment(session, settings, world.alice, target, "Niveau 2", level1.id)
    deeper = await debate.add_comment(session, settings, world.bruno, target, "Niveau 3 ?", level2.id)
    assert level2.depth == debate.MAX_DEPTH == 2
    assert deeper.depth == 2 and deeper.parent_id == level1.id and deeper.thread_id == level0.id
    page = await debate.debate_page(session, target)
    assert [c.id for c in page.children(level1)] == [level2.id, deeper.id]


@pytest.mark.parametrize("text", ["", "   \n ", "x" * (debate.MAX_BODY_LENGTH + 1)])
async def test_empty_or_oversized_comments_are_refused_and_nothing_is_stored(
    session: AsyncSession, settings: Settings, world: DebateWorld, text: str
) -> None:
    with pytest.raises(DebateError):
        await debate.add_comment(session, settings, world.alice, on_proposal(world), text)
    assert await comment_count(session) == 0
    await session.refresh(world.proposal)
    assert world.proposal.comment_count == 0


async def test_no_comment_outside_a_phase_that_takes_comments(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    world.phase.allows_comments = False
    await session.flush()
    with pytest.raises(DebateError, match="Comments are closed") as refused:
        await debate.add_comment(session, settings, world.alice, on_proposal(world), "Trop tard ?")
    assert refused.value.kind == "closed"
    world.phase.allows_comments = True
    world.phase.ends_at = world.phase.starts_at + timedelta(seconds=1)  # a phase that is over
    await session.flush()
    with pytest.raises(DebateError, match="Comments are closed"):
        await debate.add_comment(session, settings, world.alice, on_proposal(world), "Trop tard ?")
    assert await comment_count(session) == 0


async def test_no_comment_on_hidden_content(session: AsyncSession, settings: Settings, world: DebateWorld) -> None:
    target = on_proposal(world)
    first = await debate.add_comment(session, settings, world.alice, target, "Message douteux")
    await debate.hide_comment(session, first, "propos injurieux")
    with pytest.raises(DebateError, match="hidden by moderation"):
        await debate.add_comment(session, settings, world.bruno, target, "Réponse", first.id)
    world.proposal.hidden_at = first.hidden_at
    await session.flush()
    with pytest.raises(DebateError, match="hidden by moderation"):
        await debate.add_comment(session, settings, world.bruno, target, "Sur la proposition")
    assert await comment_count(session) == 1


async def test_a_reply_must_stay_in_its_debate(session: AsyncSession, settings: Settings, world: DebateWorld) -> None:
    other = await create_proposal(session, world.process, world.alice, "Un autre sujet")
    elsewhere = await debate.add_comment(session, settings, world.alice, Target(world.process, other), "Ailleurs")
    with pytest.raises(DebateError, match="does not exist"):
        await debate.add_comment(session, settings, world.bruno, on_proposal(world), "Réponse", elsewhere.id)


async def test_votes_one_per_person_changeable_and_never_on_ones_own_comment(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    comment = await debate.add_comment(session, settings, world.alice, on_proposal(world), "Votez !")
    assert await debate.vote(session, world.bruno, comment, "up") == 1
    assert await debate.vote(session, world.bruno, comment, "up") == 1  # again: still one vote
    assert (comment.up_votes, comment.down_votes, comment.score) == (1, 0, 1)
    assert await debate.vote(session, world.bruno, comment, "down") == -1
    assert (comment.up_votes, comment.down_votes, comment.score) == (0, 1, -1)
    assert await debate.vote(session, world.author, comment, "down") == -1
    assert (comment.up_votes, comment.down_votes, comment.score) == (0, 2, -2)
    assert await debate.vote(session, world.bruno, comment, "none") == 0
    assert (comment.up_votes, comment.down_votes, comment.score) == (0, 1, -1)
    votes = (await session.execute(select(func.count()).select_from(CommentVote))).scalar_one()
    assert votes == 1
    with pytest.raises(DebateError, match="your own comment"):
        await debate.vote(session, world.alice, comment, "up")
    with pytest.raises(DebateError):
        await debate.vote(session, world.bruno, comment, "sideways")


async def test_orders_oldest_newest_best_and_pages(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    target = on_proposal(world)
    first = await debate.add_comment(session, settings, world.alice, target, "Premier")
    second = await debate.add_comment(session, settings, world.alice, target, "Deuxième")
    third = await debate.add_comment(session, settings, world.alice, target, "Troisième")
    await debate.vote(session, world.bruno, second, "up")
    await debate.vote(session, world.bruno, third, "down")
    oldest = await debate.debate_page(session, target, "oldest", viewer_id=world.bruno.id)
    assert [c.id for c in oldest.threads] == [first.id, second.id, third.id]
    assert oldest.my_votes == {second.id: 1, third.id: -1}
    newest = await debate.debate_page(session, target, "newest")
    assert [c.id for c in newest.threads] == [third.id, second.id, first.id]
    best = await debate.debate_page(session, target, "best")
    assert [c.id for c in best.threads] == [second.id, first.id, third.id]
    assert best.author_names[world.alice.id] == world.alice.display_name
    assert await debate.page_of(session, third, "oldest") == 1


async def test_debate_pages_hold_fifty_threads_each(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    target = on_proposal(world)
    made = [
        await debate.add_comment(session, settings, world.alice, target, f"Commentaire {n}")
        for n in range(debate.THREADS_PER_PAGE + 3)
    ]
    first = await debate.debate_page(session, target)
    second = await debate.debate_page(session, target, page=2)
    assert len(first.threads) == debate.THREADS_PER_PAGE and first.pages == 2
    assert [c.id for c in second.threads] == [c.id for c in made[-3:]]
    assert await debate.page_of(session, made[-1]) == 2


async def test_alignment_is_asked_only_when_the_process_enables_it(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    target = on_proposal(world)
    ignored = await debate.add_comment(session, settings, world.alice, target, "Pour !", alignment="for")
    assert ignored.alignment is None
    await debate.set_alignment(session, world.process.id, True)
    against = await debate.add_comment(session, settings, world.alice, target, "Contre.", alignment="against")
    assert against.alignment == -1
    with pytest.raises(DebateError, match="for, against or neutral"):
        await debate.add_comment(session, settings, world.alice, target, "?", alignment="maybe")


async def test_comments_on_a_process_itself(session: AsyncSession, settings: Settings, world: DebateWorld) -> None:
    target = Target(world.process)
    comment = await debate.add_comment(session, settings, world.alice, target, "Sur le processus")
    assert comment.proposal_id is None
    page = await debate.debate_page(session, target)
    assert [c.id for c in page.threads] == [comment.id]
    assert (await debate.debate_page(session, on_proposal(world))).threads == []


async def test_replies_and_new_comments_notify_the_right_people(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    session.add(ProposalFollow(proposal_id=world.proposal.id, person_id=world.author.id))
    world.author.locale = "en"  # each is told in their own language
    await session.flush()
    first = await debate.add_comment(session, settings, world.alice, on_proposal(world), "Question ?")
    assert [n.title_in("en") for n in await notifications.list_notifications(session, world.author)] == [
        f"New comment by {world.alice.display_name} on “Des bancs au square”"
    ]
    await debate.add_comment(session, settings, world.bruno, on_proposal(world), "Réponse", first.id)
    alice_news = await notifications.list_notifications(session, world.alice)
    assert len(alice_news) == 1 and world.bruno.display_name in alice_news[0].title
    assert alice_news[0].link == f"/participation/comments/{first.id + 1}"
    assert len(await notifications.list_notifications(session, world.bruno)) == 0


async def test_erasure_keeps_comments_unsigned_and_removes_votes(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    registry = build_personal_data_registry()
    mine = await debate.add_comment(session, settings, world.alice, on_proposal(world), "Mon avis")
    theirs = await debate.add_comment(session, settings, world.bruno, on_proposal(world), "Le leur")
    await debate.vote(session, world.alice, theirs, "up")
    export = await people.export_personal_data(session, registry, world.alice)
    tables = export["domains"]["debate"]["tables"]
    assert [row["body"] for row in tables["comments"]] == ["Mon avis"]
    assert tables["comment_votes"][0]["comment_id"] == theirs.id
    await people.erase_person(session, registry, world.alice)
    await session.refresh(mine)
    await session.refresh(theirs)
    assert mine.author_id is None and mine.body == "Mon avis"
    assert (theirs.up_votes, theirs.score) == (0, 0)
    page = await debate.debate_page(session, on_proposal(world))
    assert mine.id in [c.id for c in page.threads] and mine.author_id not in page.author_names


async def test_a_closed_process_phase_on_another_process_does_not_open_this_one(
    session: AsyncSession, settings: Settings, world: DebateWorld
) -> None:
    closed_process, _phase = await create_process(session, allows_comments=False)
    proposal = await create_proposal(session, closed_process, world.author)
    with pytest.raises(DebateError, match="Comments are closed"):
        await debate.add_comment(session, settings, world.alice, Target(closed_process, proposal), "Bonjour")
