"""Following and what it brings: in-app notifications at once for events where a person follows,
and, for people who consented to e-mail, at most one digest e-mail a day (never one per event).

Following hears what happens through domain events subscribed in the transaction (`register_subscribers`, at
app build): a proposal published, answered or given a milestone, a comment posted. The publishers don't know
this module; the notifications and the digest's news commit or roll back with the change they tell of."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.addresses import base_url
from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.errors import Refusal
from citoyen.events import (
    CommentPosted,
    EventHub,
    FollowedNewsTold,
    MilestoneRecorded,
    ProposalAnswered,
    ProposalPublished,
)
from citoyen.i18n import N_, get_translations, localized
from citoyen.notifications import service as notifications
from citoyen.participation.answers import STATUS_LABELS
from citoyen.participation.debate.models import Comment
from citoyen.participation.follows.models import DigestDelivery, DigestEntry, Follow, FollowKind
from citoyen.participation.models import Milestone, Process, Proposal, ProposalFollow
from citoyen.people import service as people
from citoyen.people.mail import send_mail
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person, Recipient
from citoyen.territory import service as territory

log = logging.getLogger(__name__)
EMAIL_PURPOSE = "email_notifications"
# Proposals are followed in the participation domain's own table (their authors follow them from the start).
PROPOSAL = "proposal"
Translate = Callable[[str], str]


class FollowError(Refusal):
    """A refused follow (`citoyen.errors.Refusal`); the message is an English msgid."""


# --- following -------------------------------------------------------------------------------


async def _check_target(session: AsyncSession, kind: str, target_id: int) -> None:
    if kind == PROPOSAL:
        proposal = await session.get(Proposal, target_id)
        if proposal is None or proposal.hidden_at is not None:
            raise FollowError(N_("This proposal does not exist."))
    elif kind == FollowKind.PROCESS.value:
        process = await session.get(Process, target_id)
        if process is None or not process.published:
            raise FollowError(N_("This process does not exist."))
    elif kind == FollowKind.NEIGHBOURHOOD.value:
        if await territory.get_neighbourhood(session, target_id) is None:
            raise FollowError(N_("This neighbourhood does not exist."))
    else:
        raise FollowError(N_("Only processes, proposals and neighbourhoods can be followed."))


async def follow(session: AsyncSession, person: Person, kind: str, target_id: int) -> None:
    await _check_target(session, kind, target_id)
    if not await is_following(session, person.id, kind, target_id):
        try:
            async with session.begin_nested():
                if kind == PROPOSAL:
                    session.add(ProposalFollow(proposal_id=target_id, person_id=person.id))
                else:
                    session.add(Follow(person_id=person.id, target_kind=kind, target_id=target_id))
                await session.flush()
        except IntegrityError:  # followed twice at once: once is what they wanted
            pass


async def unfollow(session: AsyncSession, person: Person, kind: str, target_id: int) -> None:
    if kind == PROPOSAL:
        await session.execute(
            delete(ProposalFollow).where(ProposalFollow.person_id == person.id, ProposalFollow.proposal_id == target_id)
        )
        return
    await session.execute(
        delete(Follow).where(Follow.person_id == person.id, Follow.target_kind == kind, Follow.target_id == target_id)
    )


async def is_following(session: AsyncSession, person_id: int, kind: str, target_id: int) -> bool:
    if kind == PROPOSAL:
        found = select(ProposalFollow.id).where(
            ProposalFollow.person_id == person_id, ProposalFollow.proposal_id == target_id
        )
        return (await session.execute(found)).first() is not None
    query = select(Follow.id).where(
        Follow.person_id == person_id, Follow.target_kind == kind, Follow.target_id == target_id
    )
    return (await session.execute(query)).first() is not None


async def follows_of(session: AsyncSession, person_id: int) -> list[Follow]:
    query = select(Follow).where(Follow.person_id == person_id).order_by(Follow.created_at.desc())
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True)
class Followed:
    """One thing a person follows, as their list of follows shows it."""

    kind: str  # "proposal", "process" or "neighbourhood"
    target_id: int
    name: str
    link: str  # its page (a neighbourhood's is its feed)
    status: str = ""  # a proposal's ProposalStatus value


async def everything_followed(session: AsyncSession, person_id: int, locale: str) -> list[Followed]:
    """The proposals the person follows (their own among them, hidden ones left out), then the processes and
    neighbourhoods, each most recently followed first."""
    proposals = (
        await session.execute(
            select(Proposal.id, Proposal.title, Proposal.status)
            .join(ProposalFollow, ProposalFollow.proposal_id == Proposal.id)
            .where(ProposalFollow.person_id == person_id, Proposal.hidden_at.is_(None))
            .order_by(ProposalFollow.created_at.desc(), ProposalFollow.id.desc())
        )
    ).all()
    found = [
        Followed(PROPOSAL, row.id, row.title, f"/participation/proposals/{row.id}", row.status.value)
        for row in proposals
    ]
    follows = await follows_of(session, person_id)
    process_ids = [f.target_id for f in follows if f.target_kind == FollowKind.PROCESS.value]
    processes = {
        process.id: process
        for process in (await session.execute(select(Process).where(Process.id.in_(process_ids)))).scalars()
    }
    neighbourhoods = await territory.neighbourhood_names(session)
    for item in follows:
        process = processes.get(item.target_id)
        if item.target_kind == FollowKind.PROCESS.value and process is not None:
            link = f"/participation/processes/{process.slug}"
            found.append(Followed(item.target_kind, item.target_id, process.label(locale), link))
        elif item.target_kind == FollowKind.NEIGHBOURHOOD.value and item.target_id in neighbourhoods:
            link = f"/quartiers/{item.target_id}"
            found.append(Followed(item.target_kind, item.target_id, neighbourhoods[item.target_id], link))
    return found


async def _followers(session: AsyncSession, kind: str, target_id: int) -> set[int]:
    rows = await session.execute(
        select(Follow.person_id).where(Follow.target_kind == kind, Follow.target_id == target_id)
    )
    return {int(row.person_id) for row in rows}


async def neighbourhood_followers(session: AsyncSession, neighbourhood_id: int) -> set[int]:
    """Who follows this neighbourhood (the neighbourhood feed tells them of what happens there)."""
    return await _followers(session, FollowKind.NEIGHBOURHOOD.value, neighbourhood_id)


async def proposal_followers(session: AsyncSession, proposal_id: int) -> set[int]:
    rows = await session.execute(select(ProposalFollow.person_id).where(ProposalFollow.proposal_id == proposal_id))
    return {int(row.person_id) for row in rows}


# --- telling people --------------------------------------------------------------------------


async def tell(
    session: AsyncSession, person_ids: Iterable[int], wording: Callable[[Translate], str], link: str, body: str = ""
) -> int:
    """Notify each person in the app, in their language, now; queue the event for the daily e-mail of
    those who consented. Returns how many were told."""
    ids = sorted(set(person_ids))
    if not ids:
        return 0
    recipients = await people.active_recipients(session, ids)
    french, english = notifications.in_both_languages(lambda gettext, _locale: wording(gettext))
    for recipient in recipients:
        await notifications.notify(session, recipient.id, french, body, link, title_en=english)
    await _queue_digest(session, recipients, french, english, link)
    return len(recipients)


async def _queue_digest(
    session: AsyncSession, recipients: list[Recipient], french: str, english: str, link: str
) -> None:
    """The daily e-mail's line, in each person's language, for those of `recipients` who consented to it."""
    consenting = await people.consenting(session, [recipient.id for recipient in recipients], EMAIL_PURPOSE)
    for recipient in recipients:
        if recipient.id in consenting:
            title = localized(recipient.locale, french, english)
            session.add(DigestEntry(person_id=recipient.id, title=title[:300], link=link[:500]))
    await session.flush()


def _quoted(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def comment_posted(
    session: AsyncSession,
    process: Process,
    proposal: Proposal | None,
    comment: Comment,
    parent: Comment | None,
    author_name: str,
) -> None:
    """A reply tells the author of the comment replied to; any comment tells the proposal's (or the
    process's) followers."""
    link = f"/participation/comments/{comment.id}"
    subject = _quoted(proposal.title if proposal else process.title)
    told: set[int] = {comment.author_id} if comment.author_id is not None else set()
    if parent is not None and parent.author_id is not None and parent.author_id not in told:
        await tell(
            session,
            [parent.author_id],
            lambda _: _("%(name)s replied to your comment on “%(title)s”") % {"name": author_name, "title": subject},
            link,
        )
        told.add(parent.author_id)
    if proposal is not None:
        followers = await proposal_followers(session, proposal.id)
    else:
        followers = await _followers(session, FollowKind.PROCESS.value, process.id)
    await tell(
        session,
        followers - told,
        lambda _: _("New comment by %(name)s on “%(title)s”") % {"name": author_name, "title": subject},
        link,
    )


async def proposal_published(session: AsyncSession, proposal: Proposal) -> None:
    """A new proposal tells the followers of its process and of its neighbourhood."""
    followers = await _followers(session, FollowKind.PROCESS.value, proposal.process_id)
    if proposal.neighbourhood_id is not None:
        followers |= await _followers(session, FollowKind.NEIGHBOURHOOD.value, proposal.neighbourhood_id)
    followers.discard(proposal.author_id or 0)
    title = _quoted(proposal.title)
    await tell(
        session,
        followers,
        lambda _: _("New proposal: “%(title)s”") % {"title": title},
        f"/participation/proposals/{proposal.id}",
    )


async def proposal_changed(
    session: AsyncSession, proposal: Proposal, wording: Callable[[Translate], str], body: str
) -> None:
    """An official answer or a milestone tells the proposal's author and followers (in the app, and in
    the digest of those who consented)."""
    followers = await proposal_followers(session, proposal.id)
    if proposal.author_id is not None:
        followers.add(proposal.author_id)
    await tell(session, followers, wording, f"/participation/proposals/{proposal.id}", body)


# --- what following hears (in the publisher's transaction) --------------------------------------


async def _on_proposal_published(session: AsyncSession, event: ProposalPublished) -> None:
    proposal = await session.get(Proposal, event.proposal_id)
    if proposal is not None:
        await proposal_published(session, proposal)


def _status_wording(proposal: Proposal) -> Callable[[Translate], str]:
    def wording(_: Translate) -> str:
        return _("Your followed proposal “%(title)s” is now: %(status)s") % {
            "title": proposal.title,
            "status": _(STATUS_LABELS[proposal.status]),
        }

    return wording


async def _on_proposal_answered(session: AsyncSession, event: ProposalAnswered) -> None:
    proposal = await session.get(Proposal, event.proposal_id)
    if proposal is not None:
        await proposal_changed(session, proposal, _status_wording(proposal), event.answer)


async def _on_milestone_recorded(session: AsyncSession, event: MilestoneRecorded) -> None:
    proposal = await session.get(Proposal, event.proposal_id)
    milestone = await session.get(Milestone, event.milestone_id)
    if proposal is not None and milestone is not None:
        await proposal_changed(session, proposal, _status_wording(proposal), milestone.title)


async def _on_comment_posted(session: AsyncSession, event: CommentPosted) -> None:
    comment = await session.get(Comment, event.comment_id)
    process = await session.get(Process, event.process_id)
    if comment is None or process is None:
        return
    proposal = await session.get(Proposal, event.proposal_id) if event.proposal_id is not None else None
    parent = await session.get(Comment, comment.parent_id) if comment.parent_id is not None else None
    names = await people.display_names(session, [comment.author_id])
    await comment_posted(session, process, proposal, comment, parent, names.get(comment.author_id or 0, ""))


def register_subscribers(hub: EventHub) -> None:
    """Following's rules, heard in the transaction of the change they tell of (citoyen.app.build_event_hub)."""
    hub.subscribe_in_transaction(ProposalPublished, _on_proposal_published)
    hub.subscribe_in_transaction(ProposalAnswered, _on_proposal_answered)
    hub.subscribe_in_transaction(MilestoneRecorded, _on_milestone_recorded)
    hub.subscribe_in_transaction(CommentPosted, _on_comment_posted)
    hub.subscribe_in_transaction(FollowedNewsTold, _on_followed_news_told)


async def _on_followed_news_told(session: AsyncSession, event: FollowedNewsTold) -> None:
    """News another domain told its followers in the app (an urban project's) goes in the daily e-mail too, in
    each person's language, for those who consented."""
    recipients = await people.active_recipients(session, event.person_ids)
    await _queue_digest(session, recipients, event.title_fr, event.title_en, event.link)


# --- the daily digest ------------------------------------------------------------------------


@dataclass
class DigestRun:
    sent: int = 0
    already_sent: int = 0
    without_consent: int = 0


def _digest_text(settings: Settings, person: Person, entries: list[DigestEntry]) -> tuple[str, str]:
    translations = get_translations(person.locale)
    base = base_url(settings)
    subject = translations.ngettext(
        "%(num)d piece of news about what you follow", "%(num)d pieces of news about what you follow", len(entries)
    ) % {"num": len(entries)}
    lines = [translations.gettext("Hello %(name)s,") % {"name": person.display_name}, ""]
    lines.append(translations.gettext("Here is what happened where you take part:"))
    lines.append("")
    for entry in entries:
        lines.append(f"- {entry.title}")
        if entry.link:
            lines.append(f"  {base}{entry.link}")
    lines += [
        "",
        translations.gettext(
            "You receive this e-mail at most once a day because you asked for it. To stop, withdraw your "
            "consent to e-mail notifications on your account page:"
        ),
        f"{base}/account",
    ]
    return subject, "\n".join(lines)


async def send_digests(session: AsyncSession, settings: Settings, today: date | None = None) -> DigestRun:
    """One e-mail per person with news, once a day; running it again the same day sends nothing more.

    The day's delivery row is written before the mail goes: a second worker running at the same
    time fails on its unique key and sends nothing."""
    today = today or utcnow().date()
    run = DigestRun()
    pending = (
        await session.execute(select(DigestEntry.person_id).where(DigestEntry.sent_on.is_(None)).distinct())
    ).all()
    person_ids = sorted(int(row.person_id) for row in pending)
    consenting = await people.consenting(session, person_ids, EMAIL_PURPOSE)
    for person_id in person_ids:
        if person_id not in consenting:
            # Consent withdrawn since: the queued news is dropped, nothing is mailed.
            await session.execute(
                delete(DigestEntry).where(DigestEntry.person_id == person_id, DigestEntry.sent_on.is_(None))
            )
            run.without_consent += 1
            continue
        delivered = await session.execute(
            select(DigestDelivery.id).where(DigestDelivery.person_id == person_id, DigestDelivery.day == today)
        )
        if delivered.first() is not None:
            run.already_sent += 1
            continue
        person = await people.get_person(session, person_id)
        if person is None or not person.is_active:
            continue
        entries = list(
            (
                await session.execute(
                    select(DigestEntry)
                    .where(DigestEntry.person_id == person_id, DigestEntry.sent_on.is_(None))
                    .order_by(DigestEntry.created_at, DigestEntry.id)
                )
            ).scalars()
        )
        subject, body = _digest_text(settings, person, entries)
        try:
            async with session.begin_nested():
                session.add(DigestDelivery(person_id=person_id, day=today, entry_count=len(entries)))
                for entry in entries:
                    entry.sent_on = today
                await session.flush()
                await send_mail(session, settings, person.email, subject, body, person.id)
        except IntegrityError:
            run.already_sent += 1
            continue
        run.sent += 1
    await session.flush()
    return run


# --- personal data ---------------------------------------------------------------------------


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    follows = await follows_of(session, person.id)
    entries = (
        await session.execute(select(DigestEntry).where(DigestEntry.person_id == person.id).order_by(DigestEntry.id))
    ).scalars()
    deliveries = (
        await session.execute(
            select(DigestDelivery).where(DigestDelivery.person_id == person.id).order_by(DigestDelivery.id)
        )
    ).scalars()
    return {
        "follows": [
            {"target": f.target_kind, "target_id": f.target_id, "created_at": f.created_at.isoformat()} for f in follows
        ],
        "digest_news": [
            {
                "title": e.title,
                "link": e.link,
                "created_at": e.created_at.isoformat(),
                "sent_on": e.sent_on.isoformat() if e.sent_on else None,
            }
            for e in entries
        ],
        "digests_sent": [{"day": d.day.isoformat(), "news": d.entry_count} for d in deliveries],
    }


async def _erase(session: AsyncSession, person: Person) -> None:
    await session.execute(delete(Follow).where(Follow.person_id == person.id))
    await session.execute(delete(DigestEntry).where(DigestEntry.person_id == person.id))
    await session.execute(delete(DigestDelivery).where(DigestDelivery.person_id == person.id))


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="follows",
            description=N_("the processes and neighbourhoods you follow, and the daily e-mails of news you asked for"),
            export=_export,
            erase=_erase,
        )
    )
