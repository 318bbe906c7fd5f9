"""The feed's rules: items from the other domains' events, keyset pages, who may post, moderation, personal data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.app import build_personal_data_registry
from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.errors import Kind
from citoyen.feed import service as feed
from citoyen.feed.models import FeedItem, Flag, Home, ItemKind, Post, Reply
from citoyen.indicators import service as indicators
from citoyen.notifications.models import Notification
from citoyen.participation import service as participation
from citoyen.participation.models import ProposalStatus
from citoyen.participation.moderation import service as participation_moderation
from citoyen.people import service as people
from citoyen.people.models import Role
from citoyen.projects import service as projects
from citoyen.reports import service as reports
from citoyen.reports.models import ReportStatus
from tests.factories import create_person
from tests.feed.helpers import JUDGED_AT, post, quartiers, resident, unusual_week_of_reports
from tests.participation.helpers import create_process, neighbourhood_ids, submit
from tests.projects.helpers import create_project, create_world
from tests.reports.helpers import WEST, create_reports_world, file_report


async def items_of(session: AsyncSession, neighbourhood_id: int) -> list[FeedItem]:
    return (await feed.page(session, [neighbourhood_id], limit=100)).items


async def test_a_report_and_its_public_answer_enter_the_quartiers_feed_without_the_reporter(
    session: AsyncSession, settings: Settings
) -> None:
    world = await create_reports_world(session)
    ouest = (await neighbourhood_ids(session))["Ouest"]
    report = await file_report(session, world, WEST, description="Mme Durand, 06 12 34 56 78", email="x@example.org")
    [filed] = await items_of(session, ouest)
    assert filed.kind == ItemKind.REPORT_FILED
    assert (filed.title, filed.title_en) == (
        "Nouveau signalement\u00a0: Lampadaire en panne",  # the no-break space French puts before ":"
        "New report: Street light out",
    )
    assert "Durand" not in filed.title + filed.summary and filed.link == f"/reports/{report.id}"

    staff = await create_person(session, role=Role.ADMIN)
    await reports.update_report(
        session,
        settings,
        staff,
        report,
        reports.StaffUpdate(internal_note="appelé la riveraine"),
    )
    assert len(await items_of(session, ouest)) == 1  # an internal note is not news
    change = reports.StaffUpdate(status=ReportStatus.IN_PROGRESS, public_answer="Une équipe passe jeudi.")
    await reports.update_report(session, settings, staff, report, change)
    answered = (await items_of(session, ouest))[0]
    assert answered.kind == ItemKind.REPORT_UPDATED and answered.summary == "Une équipe passe jeudi."
    assert "riveraine" not in answered.summary

    # A report stored in bulk, without its events (the demo's): the history writes what filing and answering would
    # have, once.
    address = filed.summary
    await session.execute(delete(FeedItem))
    assert await feed.write_history(session, per_quartier=5, simulated=True) == 2
    history = await items_of(session, ouest)
    assert [(item.kind, item.title_en, item.summary) for item in history] == [
        (ItemKind.REPORT_UPDATED, f"Report {report.id}: in progress", "Une équipe passe jeudi."),
        (ItemKind.REPORT_FILED, "New report: Street light out", address),
    ]
    assert all(item.simulated for item in history) and "Durand" not in str([i.summary for i in history])
    assert await feed.write_history(session, per_quartier=5, simulated=True) == 0


async def test_a_proposal_and_its_answer_enter_the_feed_of_its_quartier_only(session: AsyncSession) -> None:
    ids = await quartiers(session)
    process = await create_process(session)
    author = await create_person(session)
    proposal = await submit(session, process, author)
    staff = await create_person(session, role=Role.STAFF)
    await participation.answer_proposal(session, staff, proposal, ProposalStatus.ACCEPTED, "Oui, dès mars.")
    kinds = [item.kind for item in await items_of(session, ids["Ouest"])]
    assert kinds == [ItemKind.PROPOSAL_ANSWERED, ItemKind.PROPOSAL_PUBLISHED]
    assert await items_of(session, ids["Est"]) == []
    await session.execute(delete(FeedItem))
    assert await feed.write_history(session, per_quartier=5, simulated=True) == 2
    assert [item.kind for item in await items_of(session, ids["Ouest"])] == kinds
    flagger = await create_person(session)
    await participation_moderation.flag(session, flagger, "proposal", proposal.id, "spam")
    [case] = await participation_moderation.queue(session)
    moderator = await create_person(session, role=Role.MODERATOR)
    await participation_moderation.hide(session, moderator, case.case.id, "Publicité")
    assert await items_of(session, ids["Ouest"]) == []  # a hidden proposal leaves the feed


async def test_pages_follow_each_other_by_keyset_without_gaps_or_repeats(session: AsyncSession) -> None:
    ouest = (await quartiers(session))["Ouest"]
    moment = utcnow()
    for number in range(7):  # two items share each moment: the id breaks the tie
        await feed.add_item(
            session,
            ouest,
            ItemKind.POST,
            number,
            (f"n{number}", f"n{number}"),
            occurred_at=moment - timedelta(minutes=number // 2),
        )
    seen: list[str] = []
    cursor = None
    while True:
        page = await feed.page(session, [ouest], cursor, limit=3)
        seen += [item.title for item in page.items]
        if page.next is None:
            break
        cursor = feed.Cursor.parse(page.next.token)
    assert seen == ["n1", "n0", "n3", "n2", "n5", "n4", "n6"]  # newest first; the later id first at one moment


@pytest.mark.parametrize("token", ["abc", "12-", "-3", "1" * 25 + "-1", "9" * 19 + "-1"])
async def test_a_broken_page_address_is_a_400(token: str) -> None:
    with pytest.raises(feed.FeedError) as refused:
        feed.Cursor.parse(token)
    assert refused.value.kind == Kind.INVALID


async def test_one_posts_only_where_one_follows_or_lives(session: AsyncSession) -> None:
    ids = await quartiers(session)
    stranger = await create_person(session)
    with pytest.raises(feed.FeedError) as refused:
        await post(session, stranger, ids["Ouest"])
    assert refused.value.kind == Kind.FORBIDDEN
    await feed.declare_home(session, stranger, ids["Ouest"])
    written = await post(session, stranger, ids["Ouest"])
    [item] = await items_of(session, ids["Ouest"])
    assert (item.kind, item.source_id, item.link) == (ItemKind.POST, written.id, f"/quartiers/posts/{written.id}")
    with pytest.raises(feed.FeedError):
        await post(session, stranger, ids["Est"])
    assert await session.scalar(select(func.count()).select_from(Post)) == 1


async def test_an_event_needs_a_date_to_come_and_a_place(session: AsyncSession) -> None:
    ouest = (await quartiers(session))["Ouest"]
    author = await resident(session, ouest)
    with pytest.raises(feed.FeedError) as refused:
        await post(session, author, ouest, kind="event", place="Square")
    assert refused.value.field == "starts_at"
    start = utcnow() + timedelta(days=2)
    with pytest.raises(feed.FeedError) as refused:
        await post(session, author, ouest, kind="event", starts_at=start)
    assert refused.value.field == "place"
    with pytest.raises(feed.FeedError) as refused:
        await post(
            session, author, ouest, kind="event", starts_at=start, ends_at=start - timedelta(hours=1), place="Square"
        )
    assert refused.value.field == "ends_at"
    event = await post(session, author, ouest, kind="event", starts_at=start, place="Square des Lilas")
    assert [found.id for found in await feed.upcoming_events(session, ouest)] == [event.id]


async def test_a_reply_tells_the_posts_author(session: AsyncSession) -> None:
    ouest = (await quartiers(session))["Ouest"]
    author = await resident(session, ouest)
    neighbour = await resident(session, ouest, display_name="Voisine du 3e")
    question = await post(session, author, ouest, "Qui connaît un bon cordonnier ?", kind="question")
    await feed.reply_to(session, neighbour, question.id, "Rue Oberkampf, au 12.")
    told = (
        (await session.execute(select(Notification.title).where(Notification.person_id == author.id))).scalars().all()
    )
    assert told == ["Voisine du 3e a répondu à votre message «\u00a0Qui connaît un bon cordonnier ?\u00a0»"]


async def test_a_hidden_post_leaves_every_feed_behind_its_public_reason(session: AsyncSession) -> None:
    ouest = (await quartiers(session))["Ouest"]
    author = await resident(session, ouest)
    flagger = await resident(session, ouest)
    spam = await post(session, author, ouest, "Achetez mes montres")
    await feed.flag(session, flagger, "post", spam.id, "spam")
    with pytest.raises(feed.FeedError):
        await feed.flag(session, flagger, "post", spam.id, "spam")
    [waiting] = await feed.queue(session)
    assert (waiting.kind, waiting.id, waiting.flag_count) == ("post", spam.id, 1)
    with pytest.raises(feed.FeedError) as refused:
        await feed.hide(session, flagger, "post", spam.id, "Publicité")
    assert refused.value.kind == Kind.FORBIDDEN
    moderator = await create_person(session, role=Role.MODERATOR)
    await feed.hide(session, moderator, "post", spam.id, "Publicité")
    assert await items_of(session, ouest) == []
    assert (await feed.get_post(session, spam.id)).hidden_reason == "Publicité"
    assert await feed.queue(session) == []


async def test_export_and_erase_posts_replies_flags_and_home(session: AsyncSession) -> None:
    ouest = (await quartiers(session))["Ouest"]
    author = await resident(session, ouest)
    other = await resident(session, ouest)
    await feed.declare_home(session, author, ouest)
    written = await post(session, author, ouest)
    await feed.reply_to(session, author, written.id, "Merci à tous")
    theirs = await post(session, other, ouest, "Chat perdu", kind="lost_found")
    await feed.flag(session, author, "post", theirs.id, "off_topic")
    registry = build_personal_data_registry()
    exported = await people.export_personal_data(session, registry, author)
    tables = exported["domains"]["feed"]["tables"]
    assert [p["title"] for p in tables["posts"]] == ["Vide-grenier rue des Lilas"]
    assert [r["body"] for r in tables["replies"]] == ["Merci à tous"]
    assert [f["reason"] for f in tables["flags"]] == ["off_topic"]
    assert tables["home"][0]["neighbourhood_id"] == ouest
    await people.erase_person(session, registry, author)
    assert await session.scalar(select(func.count()).select_from(Post).where(Post.author_id == author.id)) == 0
    assert await session.scalar(select(func.count()).select_from(Reply).where(Reply.author_id == author.id)) == 0
    assert await session.scalar(select(func.count()).select_from(Flag).where(Flag.person_id == author.id)) == 0
    assert await session.get(Home, author.id) is None
    assert (await feed.get_post(session, written.id)).title == "Vide-grenier rue des Lilas"  # the post stays, detached


async def test_a_project_update_reaches_the_feeds_and_followers_of_its_quartiers(session: AsyncSession) -> None:
    world = await create_world(session)
    ids = await neighbourhood_ids(session)
    neighbour = await resident(session, ids["Est"])
    project = await create_project(session, world)  # a street across both quartiers
    await projects.post_update(session, world.staff, project.id, "Travaux dès lundi, rue fermée.", "Works from Monday.")
    for name in ("Ouest", "Est"):
        [item] = await items_of(session, ids[name])
        assert (item.kind, item.link) == (ItemKind.PROJECT_UPDATE, f"/projects/{project.id}#updates")
        assert (item.summary, item.summary_en) == ("Travaux dès lundi, rue fermée.", "Works from Monday.")
    told = (await session.execute(select(Notification.title).where(Notification.person_id == neighbour.id))).scalars()
    assert list(told) == [
        "Du nouveau sur le projet «\u00a0Piste cyclable rue de l'Ouest\u00a0» dans un quartier que vous suivez"
    ]


async def test_an_indicator_leaving_its_usual_range_enters_the_feed_once_and_tells_followers(
    session: AsyncSession,
) -> None:
    ids = await quartiers(session)
    ouest, est = ids["Ouest"], ids["Est"]
    neighbour, reader = await resident(session, ouest), await resident(session, ouest)
    reader.locale = "en"
    now = JUDGED_AT
    assert indicators.judged_week(now) == datetime(2026, 11, 30, tzinfo=UTC)
    await unusual_week_of_reports(session, ouest, est)

    assert await indicators.detect_changes(session, now) == 1
    assert await items_of(session, est) == []
    [item] = await items_of(session, ouest)
    assert (item.kind, item.link) == (
        ItemKind.INDICATOR_CHANGE,
        f"/indicators/quartiers/{ouest}#indicator-reports-filed",
    )
    assert (item.title, item.title_en) == (
        "Signalements déposés\u00a0: +100\u00a0% la semaine du 30 novembre 2026",
        "Reports filed: +100% in the week of 30 November 2026",
    )
    assert item.summary_en == "14 reports that week, against 7 on average (from 6 to 8) over the 8 weeks before."
    assert item.summary == (
        "14 signalements cette semaine-là, contre 7 en moyenne (de 6 à 8) sur les 8 semaines précédentes."
    )
    # Each follower's notification keeps both languages; the page shows the reader's (the English reader's too).
    told = select(Notification.person_id, Notification.title, Notification.title_en, Notification.link)
    wording = (
        "Un indicateur a bougé dans un quartier que vous suivez\u00a0: Signalements déposés",
        "An indicator moved in a quartier you follow: Reports filed",
    )
    assert [tuple(row) for row in await session.execute(told.order_by(Notification.person_id))] == [
        (neighbour.id, *wording, item.link),
        (reader.id, *wording, item.link),
    ]

    # The week is judged once: a later round, or the same counts again, adds nothing.
    assert await indicators.detect_changes(session, now + timedelta(hours=3)) == 0
    assert len(await items_of(session, ouest)) == 1
