"""Taking part: who a participant is (an account, or an anonymous participation cookie where the conversation
allows it), voting agree / disagree / pass (changeable), writing a statement, the next statement to vote on and
the progress count; and the moderators' decisions on participants' statements (the moderators are
participation's: `moderation.is_moderator`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    SmallInteger,
    String,
    Table,
    bindparam,
    exists,
    false,
    func,
    literal,
    null,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from citoyen.db import UTCDateTime, utcnow
from citoyen.i18n import N_, squeeze_spaces
from citoyen.opinions.conversations import check_statement_text, is_open, next_tid
from citoyen.opinions.errors import OpinionError
from citoyen.opinions.maps import mark_stale
from citoyen.opinions.models import Conversation, OpinionVote, Participant, Statement, StatementStatus, Vote
from citoyen.participation.moderation import service as moderation
from citoyen.people.service import Claim, Person, claim_holds_in_postgresql, claim_holds_now
from citoyen.verification import service as verification

VOTES = cast(Table, OpinionVote.__table__)
VOTE_VALUES = {vote.value for vote in Vote}
JOIN_ATTEMPTS = 50
VOTE_NAMES = {"agree": Vote.AGREE, "disagree": Vote.DISAGREE, "pass": Vote.PASS}
SIGNED_OUT = N_("Log in to take part in this conversation.")


@dataclass(frozen=True)
class Voter:
    """Who is asking: a signed-in person (their account, or only the signed session's `claim`, which the vote's
    statement checks as it writes), or the token of an anonymous participation cookie (or neither)."""

    person: Person | None = None
    anonymous_token: str | None = None
    claim: Claim | None = None

    @property
    def person_id(self) -> int | None:
        if self.person is not None:
            return self.person.id
        return self.claim.person_id if self.claim is not None else None

    @property
    def signed_in(self) -> bool:
        return self.person_id is not None

    @property
    def anonymous_key(self) -> str | None:
        if self.anonymous_token is None:
            return None
        return hashlib.sha256(self.anonymous_token.encode()).hexdigest()


@dataclass(frozen=True)
class Progress:
    voted: int
    total: int

    @property
    def remaining(self) -> int:
        return max(self.total - self.voted, 0)


def parse_vote(value: str | int) -> int:
    """agree / disagree / pass, or 1 / -1 / 0; anything else refused."""
    if isinstance(value, str):
        named = VOTE_NAMES.get(value.strip().lower())
        if named is not None:
            return named.value
        try:
            value = int(value)
        except ValueError:
            value = 99
    if value not in VOTE_VALUES:
        raise OpinionError(N_("A vote is agree, disagree or pass."), field="vote")
    return int(value)


def _participant_key(conversation: Conversation, voter: Voter) -> ColumnElement[bool] | None:
    """How the voter's participant row is found (by account, or by the anonymous cookie where allowed)."""
    if voter.person_id is not None:
        return Participant.person_id == voter.person_id
    if voter.anonymous_key is not None and conversation.anonymous_allowed:
        return Participant.anonymous_key == voter.anonymous_key
    return None


async def find_participant(session: AsyncSession, conversation: Conversation, voter: Voter) -> Participant | None:
    key = _participant_key(conversation, voter)
    if key is None:
        return None
    query = select(Participant).where(Participant.conversation_id == conversation.id, key)
    return (await session.execute(query)).scalar_one_or_none()


async def _may_take_part(
    session: AsyncSession, conversation: Conversation, voter: Voter, known_open: bool = False
) -> None:
    """Refused unless the conversation is open (`known_open`: the caller's frame says so, not read again) and
    the voter may take part (signed in, or anonymous where allowed; verified where required)."""
    if not known_open and not await is_open(session, conversation):
        raise OpinionError(N_("This conversation is closed."), "closed")
    person_id = voter.person_id
    if person_id is None:
        if not conversation.anonymous_allowed or voter.anonymous_token is None:
            raise OpinionError(SIGNED_OUT, "signed_out")
        return
    # With a claim alone, whose account the vote's statement checks as it writes.
    if conversation.verified_only and not await verification.is_verified(session, person_id):
        raise OpinionError(N_("Only verified residents take part in this conversation."), "not_verified")


async def participant_for(
    session: AsyncSession, conversation: Conversation, voter: Voter, checked: bool = False
) -> Participant:
    """The voter's participant in the conversation, made on their first vote or statement (next pseudonymous
    number); refused when they may not take part (unless the caller `checked` already)."""
    if not checked:
        await _may_take_part(session, conversation, voter)
    found = await find_participant(session, conversation, voter)
    if found is not None:
        return found
    # One statement each try, atomic by itself (no savepoint: a vote may run in autocommit): the next number, or
    # nothing when another request made this voter's row or took that number at the same moment; then the row.
    for _attempt in range(JOIN_ATTEMPTS):
        top = (
            select(func.coalesce(func.max(Participant.pid) + 1, 0))
            .where(Participant.conversation_id == conversation.id)
            .scalar_subquery()
        )
        made = (
            _insert_for(session)(Participant)
            .values(
                conversation_id=conversation.id,
                pid=top,
                person_id=voter.person_id,
                anonymous_key=None if voter.signed_in else voter.anonymous_key,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )
        await session.execute(made)
        found = await find_participant(session, conversation, voter)
        if found is not None:
            return found
    raise OpinionError(N_("Too many people are joining at once: try again."), "throttled")


async def visible_statement(session: AsyncSession, conversation: Conversation, statement_id: int) -> Statement:
    statement = await session.get(Statement, statement_id)
    if (
        statement is None
        or statement.conversation_id != conversation.id
        or statement.status != StatementStatus.ACCEPTED.value
    ):
        raise OpinionError(N_("This statement does not exist or was moderated out."), "not_found")
    return statement


def _insert_for(session: AsyncSession):  # type: ignore[no-untyped-def]
    bind = session.bind
    return pg_insert if bind is not None and bind.dialect.name == "postgresql" else sqlite_insert


async def _write_vote(session: AsyncSession, participant: Participant, statement: Statement, value: int) -> None:
    now = utcnow()
    insert = _insert_for(session)(OpinionVote).values(
        participant_id=participant.id,
        statement_id=statement.id,
        conversation_id=statement.conversation_id,
        value=value,
        modified_at=now,
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["participant_id", "statement_id"], set_={"value": value, "modified_at": now}
        )
    )


def _known_vote_upsert(dialect: str, by: str) -> Any:
    """The usual vote as one statement: the voter's existing participant row and the published statement are
    found by the upsert itself (`INSERT … SELECT … ON CONFLICT DO UPDATE … RETURNING`); `by` "claim" (PostgreSQL)
    checks there too that the signed session's claim holds (the live session and the account, each by its primary
    key), as a support does, so that a signed-in vote reads no account first. Built once per dialect and kind of
    voter ("person", "claim", "anonymous"), with bound parameters: a vote neither builds nor hashes an
    expression."""
    key = (
        Participant.person_id == bindparam("person_id")
        if by != "anonymous"
        else Participant.anonymous_key == bindparam("anonymous_key", type_=String)
    )
    claimed: tuple[ColumnElement[bool], ...] = ()
    if by == "claim":
        claimed = (
            claim_holds_in_postgresql(
                bindparam("person_id", type_=Integer),
                bindparam("stamp", type_=String),
                bindparam("session", type_=String),
            ),
        )
    chosen = (
        select(
            Participant.id,
            Statement.id,
            Statement.conversation_id,
            bindparam("value", type_=SmallInteger),
            bindparam("now", type_=UTCDateTime),
        )
        # Joined on the statement's key (not on the shared conversation, which leads PostgreSQL's planner to walk
        # the conversation's statements rather than take the one by its primary key).
        .join(Statement, Statement.id == bindparam("statement_id"))
        # The conversation not closed, checked here too: a vote may come with a cached frame (`ConversationFrames`).
        .join(Conversation, Conversation.id == bindparam("conversation_id"))
        .where(
            Conversation.closed == false(),
            Participant.conversation_id == bindparam("conversation_id"),
            key,
            Statement.conversation_id == bindparam("conversation_id"),
            Statement.status == StatementStatus.ACCEPTED.value,
            *claimed,
        )
    )
    insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(VOTES).from_select(
        ["participant_id", "statement_id", "conversation_id", "value", "modified_at"], chosen
    )
    return insert.on_conflict_do_update(
        index_elements=["participant_id", "statement_id"],
        set_={"value": insert.excluded.value, "modified_at": insert.excluded.modified_at},
    ).returning(VOTES.c.participant_id)


KNOWN_VOTE = {("postgresql", by): _known_vote_upsert("postgresql", by) for by in ("person", "claim", "anonymous")} | {
    ("sqlite", by): _known_vote_upsert("sqlite", by) for by in ("person", "anonymous")
}


async def _write_known_vote(
    session: AsyncSession, conversation: Conversation, voter: Voter, statement_id: int, value: int
) -> int | None:
    """A returning participant's vote on a published statement, in one statement (`KNOWN_VOTE`). Returns the
    participant's id, or None when nothing was written (a first vote, a statement not published here, or on
    PostgreSQL a claim that no longer holds). On SQLite a claim is checked first, by a read."""
    bind = session.bind
    dialect = "postgresql" if bind is not None and bind.dialect.name == "postgresql" else "sqlite"
    key: dict[str, object]
    if voter.person is not None:
        by, key = "person", {"person_id": voter.person.id}
    elif voter.claim is not None:
        claim = voter.claim
        if dialect == "postgresql":
            by, key = "claim", {"person_id": claim.person_id, "stamp": claim.stamp, "session": claim.session}
        elif await claim_holds_now(session, claim):
            by, key = "person", {"person_id": claim.person_id}
        else:
            raise OpinionError(SIGNED_OUT, "signed_out")
    elif voter.anonymous_key is not None and conversation.anonymous_allowed:
        by, key = "anonymous", {"anonymous_key": voter.anonymous_key}
    else:
        return None
    parameters = {
        "conversation_id": conversation.id,
        "statement_id": statement_id,
        "value": value,
        "now": utcnow(),
        **key,
    }
    found = await session.execute(KNOWN_VOTE[(dialect, by)], parameters)
    return cast(int | None, found.scalar_one_or_none())


async def vote(
    session: AsyncSession,
    conversation: Conversation,
    voter: Voter,
    statement_id: int,
    value: str | int,
    known_open: bool = False,
) -> int:
    """Agree, disagree or pass on a published statement; a second vote replaces the first. Returns the
    participant's id. A returning participant's vote is one statement; the first vote (which makes the
    participant) and a refused one take the longer way, which says why. With `known_open` (the conversation
    comes from a frame kept between requests, which says it is open) nothing is read before that statement;
    the longer way then reads the conversation again. A voter known by their session's claim alone is refused
    as signed out ("signed_out") when the claim no longer holds."""
    parsed = parse_vote(value)
    await _may_take_part(session, conversation, voter, known_open)
    written = await _write_known_vote(session, conversation, voter, statement_id, parsed)
    if written is not None:
        return written
    if voter.person is None and voter.claim is not None and not await claim_holds_now(session, voter.claim):
        raise OpinionError(SIGNED_OUT, "signed_out")
    if known_open:
        fresh = await session.get(Conversation, conversation.id, populate_existing=True)
        if fresh is None:
            raise OpinionError(N_("Unknown conversation."), "not_found")
        conversation = fresh
        await _may_take_part(session, conversation, voter)
    statement = await visible_statement(session, conversation, statement_id)
    participant = await participant_for(session, conversation, voter, checked=True)
    await _write_vote(session, participant, statement, parsed)
    return participant.id


async def write_statement(session: AsyncSession, conversation: Conversation, voter: Voter, body: str) -> Statement:
    """A participant's statement: published at once (moderated after) or waiting for a moderator (moderated
    before); its author agrees with it, as on Pol.is."""
    text = check_statement_text(body)
    if not conversation.participants_write:
        raise OpinionError(N_("Participants do not add statements to this conversation."), "forbidden")
    participant = await participant_for(session, conversation, voter)
    duplicate = await session.scalar(
        select(Statement.id).where(Statement.conversation_id == conversation.id, Statement.body == text)
    )
    if duplicate is not None:
        raise OpinionError(N_("This statement is already in the conversation."), "conflict", field="body")
    status = StatementStatus.PENDING if conversation.moderate_before else StatementStatus.ACCEPTED
    statement: Statement | None = None
    for _attempt in range(JOIN_ATTEMPTS):
        candidate = Statement(
            conversation_id=conversation.id,
            tid=await next_tid(session, conversation.id),
            body=text,
            author_id=participant.id,
            status=status.value,
        )
        try:
            async with session.begin_nested():
                session.add(candidate)
                await session.flush()
            statement = candidate
            break
        except IntegrityError:
            continue
    if statement is None:
        raise OpinionError(N_("Too many statements are arriving at once: try again."), "throttled")
    await _write_vote(session, participant, statement, Vote.AGREE.value)
    return statement


# Where a participant's own order of statements starts: Knuth's multiplicative hash of their participant id,
# modulo the highest published number + 1, computed alike in Python and in SQL (statements are then not all
# voted in the same order).
START_MULTIPLIER = 2_654_435_761


@dataclass(frozen=True)
class Standing:
    """Where a voter is in a conversation: their participant (None before their first vote), their progress,
    and the highest number among the published statements (where their own order of statements starts)."""

    participant_id: int | None
    progress: Progress
    last_tid: int | None

    @property
    def first_tid(self) -> int:
        """A fixed starting point per participant (`START_MULTIPLIER`), as the standing's statement computes it."""
        if self.participant_id is None or self.last_tid is None:
            return 0
        return (self.participant_id * START_MULTIPLIER) % (self.last_tid + 1)


def _published(statement: Any, conversation_id: Any) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return statement.conversation_id == conversation_id, statement.status == StatementStatus.ACCEPTED.value


def _voter_key(conversation: Conversation, voter: Voter) -> tuple[str | None, dict[str, object]]:
    """How the voter's participant row is found (`_participant_key`), as a kind and its parameters."""
    if voter.person_id is not None:
        return "person", {"person_id": voter.person_id}
    if voter.anonymous_key is not None and conversation.anonymous_allowed:
        return "anonymous", {"anonymous_key": voter.anonymous_key}
    return None, {}


def _participant_of(by: str | None) -> Any:
    if by is None:
        return null()
    key = (
        Participant.person_id == bindparam("person_id", type_=Integer)
        if by == "person"
        else Participant.anonymous_key == bindparam("anonymous_key", type_=String)
    )
    conversation_id = bindparam("conversation_id", type_=Integer)
    return select(Participant.id).where(Participant.conversation_id == conversation_id, key).scalar_subquery()


def _last_tid(conversation_id: Any) -> Any:
    return select(func.max(Statement.tid)).where(*_published(Statement, conversation_id)).scalar_subquery()


def _next_id(conversation_id: Any, participant: Any, start: Any) -> Any:
    """The participant's next published statement not voted on yet: the first from `start` on, else the first
    before it. Two index walks (the statements' (conversation, number), with an anti-join on the votes'
    indexes), each stopping at the first statement found: no scan of every statement."""
    candidate = aliased(Statement)
    unvoted: ColumnElement[bool] = true()
    if participant is not None:
        unvoted = ~exists().where(OpinionVote.participant_id == participant, OpinionVote.statement_id == candidate.id)

    def first(*where: ColumnElement[bool]) -> Any:
        query = select(candidate.id).where(*_published(candidate, conversation_id), unvoted, *where)
        return query.order_by(candidate.tid).limit(1).scalar_subquery()

    return func.coalesce(first(candidate.tid >= start), first(candidate.tid < start))


def _standing_columns(by: str | None) -> tuple[Any, Any, Any, Any]:
    conversation_id = bindparam("conversation_id", type_=Integer)
    participant = _participant_of(by)
    published = _published(Statement, conversation_id)
    total = select(func.count()).select_from(Statement).where(*published).scalar_subquery()
    voted = (
        select(func.count())
        .select_from(OpinionVote)
        .join(Statement, Statement.id == OpinionVote.statement_id)
        .where(OpinionVote.participant_id == participant, *published)
        .scalar_subquery()
    )
    return participant, total, voted, _last_tid(conversation_id)


def _standing_and_next_query(by: str | None) -> Any:
    participant, total, voted, last = _standing_columns(by)
    start = func.coalesce((participant * literal(START_MULTIPLIER, BigInteger)) % (last + 1), 0)
    conversation_id = bindparam("conversation_id", type_=Integer)
    numbers = select(
        participant.label("participant_id"),
        total.label("total"),
        voted.label("voted"),
        last.label("last_tid"),
        _next_id(conversation_id, participant if by is not None else None, start).label("next_id"),
    ).subquery()
    query = select(numbers.c.participant_id, numbers.c.total, numbers.c.voted, numbers.c.last_tid, Statement)
    return query.select_from(numbers).outerjoin(Statement, Statement.id == numbers.c.next_id)


# Built once per kind of voter, with bound parameters: the voting page and every htmx vote read them, and building
# and hashing them cost more than running them (a profile of htmx votes).
STANDING = {by: select(*_standing_columns(by)) for by in ("person", "anonymous", None)}
STANDING_AND_NEXT = {by: _standing_and_next_query(by) for by in ("person", "anonymous", None)}


def _standing_of(participant_id: Any, total: Any, voted: Any, last_tid: Any) -> Standing:
    return Standing(
        None if participant_id is None else int(participant_id),
        Progress(int(voted or 0), int(total or 0)),
        None if last_tid is None else int(last_tid),
    )


async def standing(session: AsyncSession, conversation: Conversation, voter: Voter) -> Standing:
    """The voter's participant, progress and the last published number, in one statement."""
    by, key = _voter_key(conversation, voter)
    row = (await session.execute(STANDING[by], {"conversation_id": conversation.id, **key})).one()
    return _standing_of(*row)


async def standing_and_next(
    session: AsyncSession, conversation: Conversation, voter: Voter
) -> tuple[Standing, Statement | None]:
    """The voter's standing and their next statement (None when they voted on every one), in one statement: the
    voting page's and a vote's htmx answer's one read."""
    by, key = _voter_key(conversation, voter)
    found = await session.execute(STANDING_AND_NEXT[by], {"conversation_id": conversation.id, **key})
    participant_id, total_count, voted_count, last_tid, statement = found.one()
    return _standing_of(participant_id, total_count, voted_count, last_tid), statement


async def next_for(session: AsyncSession, conversation: Conversation, found: Standing) -> Statement | None:
    """The participant's next published statement not voted on yet, from their standing (`_next_id`)."""
    participant = None if found.participant_id is None else literal(found.participant_id, Integer)
    chosen = _next_id(conversation.id, participant, found.first_tid)
    return (await session.execute(select(Statement).where(Statement.id == chosen))).scalar_one_or_none()


async def next_statement(session: AsyncSession, conversation: Conversation, voter: Voter) -> Statement | None:
    """A published statement the voter has not voted on yet (None when they voted on all)."""
    return (await standing_and_next(session, conversation, voter))[1]


async def progress(session: AsyncSession, conversation: Conversation, voter: Voter) -> Progress:
    """How many published statements the voter has voted on, out of how many."""
    return (await standing(session, conversation, voter)).progress


async def votes_of(session: AsyncSession, participant: Participant) -> dict[int, int]:
    """The participant's votes, by statement id."""
    rows = await session.execute(
        select(OpinionVote.statement_id, OpinionVote.value).where(OpinionVote.participant_id == participant.id)
    )
    return {int(row.statement_id): int(row.value) for row in rows}


# --- moderation -----------------------------------------------------------------------------------


async def moderation_queue(session: AsyncSession, conversation: Conversation) -> list[Statement]:
    """Participants' statements waiting for a moderator, oldest first."""
    query = (
        select(Statement)
        .where(Statement.conversation_id == conversation.id, Statement.status == StatementStatus.PENDING.value)
        .order_by(Statement.id)
    )
    return list((await session.execute(query)).scalars())


async def moderate(
    session: AsyncSession, moderator: Person, statement_id: int, accept: bool, reason: str = ""
) -> Statement:
    """Publish a statement, or moderate it out (with a reason: it is then never shown and counts for nothing in
    the map). A published statement can be moderated out later (moderation after publication)."""
    if not moderation.is_moderator(moderator):
        raise OpinionError(N_("Only moderators decide on statements."), "forbidden")
    statement = await session.get(Statement, statement_id)
    if statement is None:
        raise OpinionError(N_("This statement does not exist or was moderated out."), "not_found")
    reason = squeeze_spaces(reason)
    if not accept and not reason:
        raise OpinionError(N_("Give the reason for moderating this statement out."), field="reason")
    if len(reason) > moderation.MAX_REASON_LENGTH:
        raise OpinionError(
            N_("The reason is too long: %(length)d characters, at most %(max)d."),
            field="reason",
            length=len(reason),
            max=moderation.MAX_REASON_LENGTH,
        )
    statement.status = (StatementStatus.ACCEPTED if accept else StatementStatus.REJECTED).value
    statement.moderation_reason = "" if accept else reason
    statement.moderated_by_id = moderator.id
    await session.flush()
    await mark_stale(session, statement.conversation_id)
    return statement
