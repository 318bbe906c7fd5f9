"""Pol.is's export format, in and out: `comments.csv` (timestamp, datetime, comment-id, author-id, agrees,
disagrees, moderated, comment-body), `votes.csv` (timestamp, datetime, comment-id, voter-id, vote) and, on the way
out, `participants-votes.csv` (participant, group-id, n-comments, n-votes, n-agree, n-disagree, then one column per
comment id). Participants and statements keep their Pol.is numbers (`pid`, `tid`), so a round trip keeps them.

Reading checks everything before anything is stored: an unknown column, a duplicate vote, a vote on a missing
statement or a value out of range is refused naming its file and line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import squeeze_spaces
from citoyen.opinions.conversations import ConversationInput, create_conversation, get_conversation
from citoyen.opinions.maps import groups_by_pid
from citoyen.opinions.models import STATEMENT_MAX, Conversation, OpinionVote, Participant, Statement, StatementStatus

COMMENT_COLUMNS = (
    "timestamp",
    "datetime",
    "comment-id",
    "author-id",
    "agrees",
    "disagrees",
    "moderated",
    "comment-body",
)
# Columns some Pol.is versions add to comments.csv; read and ignored (is-seed marks seeds).
OPTIONAL_COMMENT_COLUMNS = ("is-seed", "is-meta")
VOTE_COLUMNS = ("timestamp", "datetime", "comment-id", "voter-id", "vote")
MODERATED = {StatementStatus.ACCEPTED.value: 1, StatementStatus.PENDING.value: 0, StatementStatus.REJECTED.value: -1}


class PolisFormatError(ValueError):
    """A file that is not a Pol.is export as we read it: its name, the line and what is wrong."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}, line {line}: {message}")
        self.file = file
        self.line = line


@dataclass
class PolisComment:
    tid: int
    author: int | None
    body: str
    status: str
    created_at: datetime
    is_seed: bool = False


@dataclass
class PolisExport:
    comments: list[PolisComment] = field(default_factory=list)
    votes: list[tuple[int, int, int, datetime]] = field(default_factory=list)  # (pid, tid, value, at)


def _when(file: str, line: int, value: str) -> datetime:
    try:
        stamp = float(value)
    except ValueError:
        raise PolisFormatError(file, line, f"timestamp {value!r} is not a number") from None
    if stamp > 1e11:  # milliseconds, as some exports write
        stamp /= 1000
    return datetime.fromtimestamp(stamp, UTC)


def _integer(file: str, line: int, name: str, value: str, allow_empty: bool = False) -> int | None:
    if allow_empty and value.strip() == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise PolisFormatError(file, line, f"{name} {value!r} is not a whole number") from None


def _rows(path: Path, expected: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[tuple[int, dict[str, str]]]:
    name = path.name
    if not path.is_file():
        raise PolisFormatError(name, 0, "file not found")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise PolisFormatError(name, 1, "the file is empty")
        header = [column.strip() for column in header]
        unknown = [column for column in header if column not in expected + optional]
        if unknown:
            raise PolisFormatError(name, 1, f"unknown column {unknown[0]!r} (expected {', '.join(expected)})")
        missing = [column for column in expected if column not in header]
        if missing:
            raise PolisFormatError(name, 1, f"missing column {missing[0]!r}")
        rows = []
        for number, values in enumerate(reader, start=2):
            if not values:
                continue
            if len(values) != len(header):
                raise PolisFormatError(name, number, f"{len(values)} fields where the header has {len(header)}")
            rows.append((number, dict(zip(header, values, strict=True))))
        return rows


def read_polis_export(directory: Path) -> PolisExport:
    """Read and check a Pol.is export directory (comments.csv and votes.csv)."""
    export = PolisExport()
    seen: dict[int, int] = {}
    for line, row in _rows(directory / "comments.csv", COMMENT_COLUMNS, OPTIONAL_COMMENT_COLUMNS):
        tid = _integer("comments.csv", line, "comment-id", row["comment-id"])
        assert tid is not None
        if tid in seen:
            raise PolisFormatError("comments.csv", line, f"comment-id {tid} already on line {seen[tid]}")
        seen[tid] = line
        body = squeeze_spaces(row["comment-body"])
        if not body or len(body) > STATEMENT_MAX:
            raise PolisFormatError("comments.csv", line, f"a statement has 1 to {STATEMENT_MAX} characters")
        moderated = _integer("comments.csv", line, "moderated", row["moderated"] or "0")
        if moderated not in (-1, 0, 1):
            raise PolisFormatError("comments.csv", line, f"moderated {moderated} is not -1, 0 or 1")
        export.comments.append(
            PolisComment(
                tid=tid,
                author=_integer("comments.csv", line, "author-id", row["author-id"], allow_empty=True),
                body=body,
                status=StatementStatus.REJECTED.value if moderated == -1 else StatementStatus.ACCEPTED.value,
                created_at=_when("comments.csv", line, row["timestamp"]),
                is_seed=row.get("is-seed", "").strip().lower() in ("true", "1"),
            )
        )
    votes_seen: dict[tuple[int, int], int] = {}
    for line, row in _rows(directory / "votes.csv", VOTE_COLUMNS):
        tid = _integer("votes.csv", line, "comment-id", row["comment-id"])
        pid = _integer("votes.csv", line, "voter-id", row["voter-id"])
        value = _integer("votes.csv", line, "vote", row["vote"])
        assert tid is not None and pid is not None and value is not None
        if tid not in seen:
            raise PolisFormatError("votes.csv", line, f"comment-id {tid} is not in comments.csv")
        if value not in (-1, 0, 1):
            raise PolisFormatError("votes.csv", line, f"vote {value} is not 1 (agree), -1 (disagree) or 0 (pass)")
        if (pid, tid) in votes_seen:
            raise PolisFormatError(
                "votes.csv", line, f"voter {pid} already voted on comment {tid} on line {votes_seen[(pid, tid)]}"
            )
        votes_seen[(pid, tid)] = line
        export.votes.append((pid, tid, value, _when("votes.csv", line, row["timestamp"])))
    return export


async def import_polis(session: AsyncSession, process_id: int, export: PolisExport, question: str) -> Conversation:
    """A new conversation in the process holding the export's statements and votes, with their Pol.is numbers."""
    conversation = await create_conversation(
        session, ConversationInput(process_id=process_id, question=question, anonymous_allowed=False)
    )
    pids = sorted({pid for pid, _, _, _ in export.votes} | {c.author for c in export.comments if c.author is not None})
    participants = {pid: Participant(conversation_id=conversation.id, pid=pid) for pid in pids}
    session.add_all(participants.values())
    await session.flush()
    statements = {
        comment.tid: Statement(
            conversation_id=conversation.id,
            tid=comment.tid,
            body=comment.body,
            author_id=participants[comment.author].id if comment.author is not None else None,
            is_seed=comment.is_seed,
            status=comment.status,
            created_at=comment.created_at,
        )
        for comment in export.comments
    }
    session.add_all(statements.values())
    await session.flush()
    batch = [
        {
            "participant_id": participants[pid].id,
            "statement_id": statements[tid].id,
            "conversation_id": conversation.id,
            "value": value,
            "modified_at": at,
        }
        for pid, tid, value, at in export.votes
    ]
    for start in range(0, len(batch), 5000):
        await session.execute(insert(OpinionVote), batch[start : start + 5000])
    return conversation


PARTICIPANT_COLUMNS = ("participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree")


def _polis_time(moment: datetime) -> tuple[int, str]:
    return int(moment.timestamp()), moment.astimezone(UTC).strftime("%a %b %d %Y %H:%M:%S GMT+0000 (UTC)")


def _day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class PolisTables:
    """The three files of a Pol.is export as rows of values in their columns' order (`participants-votes.csv`'s
    header is PARTICIPANT_COLUMNS then one column per comment id, `comment_ids`). A missing value is None."""

    comments: list[list[object]]
    votes: list[list[object]]
    participants: list[list[object]]
    comment_ids: list[int]

    @property
    def participant_header(self) -> list[str]:
        return [*PARTICIPANT_COLUMNS, *(str(tid) for tid in self.comment_ids)]


async def polis_tables(session: AsyncSession, conversation_id: int, public: bool = False) -> PolisTables:
    """A conversation's Pol.is export, with each participant's group. `public` (the open-data release) keeps
    only the published statements and the votes on them, and gives every time to the day only (midnight UTC):
    a vote's moment could single out who was seen voting then."""
    conversation = await get_conversation(session, conversation_id, include_unpublished=True)
    participants = {
        row.id: row.pid
        for row in await session.execute(
            select(Participant.id, Participant.pid).where(Participant.conversation_id == conversation.id)
        )
    }
    query = select(Statement).where(Statement.conversation_id == conversation.id)
    if public:
        query = query.where(Statement.status == StatementStatus.ACCEPTED.value)
    statements = list((await session.execute(query.order_by(Statement.tid))).scalars())
    tids = {statement.id: statement.tid for statement in statements}
    when = _day if public else (lambda moment: moment)
    votes = [
        (participants[row.participant_id], tids[row.statement_id], int(row.value), when(row.modified_at))
        for row in await session.execute(
            select(
                OpinionVote.participant_id, OpinionVote.statement_id, OpinionVote.value, OpinionVote.modified_at
            ).where(OpinionVote.conversation_id == conversation.id)
        )
        if row.statement_id in tids
    ]
    votes.sort(key=lambda vote: (vote[1], vote[0]))
    counts: dict[int, list[int]] = {statement.tid: [0, 0] for statement in statements}
    by_participant: dict[int, dict[int, int]] = {pid: {} for pid in participants.values()}
    for pid, tid, value, _ in votes:
        if value == 1:
            counts[tid][0] += 1
        elif value == -1:
            counts[tid][1] += 1
        by_participant[pid][tid] = value
    comments: list[list[object]] = [
        [
            *_polis_time(when(statement.created_at)),
            statement.tid,
            participants.get(statement.author_id) if statement.author_id is not None else None,
            counts[statement.tid][0],
            counts[statement.tid][1],
            MODERATED[statement.status],
            statement.body,
        ]
        for statement in statements
    ]
    vote_rows: list[list[object]] = [[*_polis_time(at), tid, pid, value] for pid, tid, value, at in votes]
    groups = await groups_by_pid(session, conversation.id)
    authored: dict[int, int] = {}
    for statement in statements:
        if statement.author_id is not None and statement.author_id in participants:
            pid = participants[statement.author_id]
            authored[pid] = authored.get(pid, 0) + 1
    participant_rows: list[list[object]] = []
    for pid in sorted(by_participant):
        own = by_participant[pid]
        if public and not own and pid not in authored:
            continue  # nothing of theirs is published
        group = groups.get(pid, -1)
        participant_rows.append(
            [
                pid,
                group if group >= 0 else None,
                authored.get(pid, 0),
                len(own),
                sum(1 for value in own.values() if value == 1),
                sum(1 for value in own.values() if value == -1),
                *(own.get(statement.tid) for statement in statements),
            ]
        )
    return PolisTables(comments, vote_rows, participant_rows, [statement.tid for statement in statements])


async def export_polis(session: AsyncSession, conversation_id: int) -> dict[str, str]:
    """The texts of comments.csv, votes.csv and participants-votes.csv (with each participant's group), by file
    name."""
    tables = await polis_tables(session, conversation_id)
    files = {}
    for name, header, rows in (
        ("comments.csv", list(COMMENT_COLUMNS), tables.comments),
        ("votes.csv", list(VOTE_COLUMNS), tables.votes),
        ("participants-votes.csv", tables.participant_header, tables.participants),
    ):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(["" if value is None else value for value in row] for row in rows)
        files[name] = text.getvalue()
    return files
