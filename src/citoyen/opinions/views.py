"""The opinion pages' typed views: the voting page (one statement at a time, with progress) and the map (groups,
representative, consensus and divisive statements, where the viewer stands), each built by one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opinions import conversations, maps, voting
from citoyen.opinions.models import Conversation, Statement
from citoyen.participation import service as participation

# The picture draws at most this many participants (an even sample); the counts and tables use them all.
MAX_POINTS = 2000
SVG_SIZE = 400
SVG_MARGIN = 16
# Colour-blind-safe palette (Okabe–Ito), one per group id; groups are also told apart by their number.
GROUP_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000"]


@dataclass(frozen=True)
class VoteView:
    conversation: Conversation
    process: Any
    open: bool
    statement: Statement | None
    progress: voting.Progress
    may_take_part: bool
    writes: bool


@dataclass(frozen=True)
class StatementLine:
    tid: int
    text: str
    direction: str = ""
    agreed: float = 0.0
    disagreed: float = 0.0
    shares: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupView:
    id: int
    letter: str
    colour: str
    size: int
    representative: list[StatementLine]


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    colour: str
    own: bool = False


@dataclass(frozen=True)
class MapView:
    conversation: Conversation
    process: Any
    computed_at: datetime | None
    participant_count: int
    vote_count: int
    groups: list[GroupView]
    consensus: list[StatementLine]
    divisive: list[StatementLine]
    points: list[Point]
    sampled: bool
    own_group: GroupView | None
    own_votes: int
    clustered: int
    unclustered: int


def letter(group_id: int) -> str:
    return chr(ord("A") + group_id) if 0 <= group_id < 26 else str(group_id)


def colour(group_id: int) -> str:
    return GROUP_COLOURS[group_id % len(GROUP_COLOURS)] if group_id >= 0 else "#999999"


async def vote_view(session: AsyncSession, conversation: Conversation, voter: voting.Voter) -> VoteView:
    process = await participation.get_process(session, conversation.process_id, include_unpublished=True)
    is_open = await conversations.is_open(session, conversation)
    person = voter.person
    may = is_open and (person is not None or conversation.anonymous_allowed)
    return VoteView(
        conversation=conversation,
        process=process,
        open=is_open,
        statement=await voting.next_statement(session, conversation, voter) if is_open else None,
        progress=await voting.progress(session, conversation, voter),
        may_take_part=may,
        writes=may and conversation.participants_write,
    )


def _scale(points: list[list[Any]]) -> tuple[float, float, float, float]:
    xs = [float(point[1]) for point in points] or [0.0]
    ys = [float(point[2]) for point in points] or [0.0]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    return min(xs), min(ys), span, (SVG_SIZE - 2 * SVG_MARGIN) / span


async def map_view(session: AsyncSession, conversation: Conversation, voter: voting.Voter) -> MapView:
    process = await participation.get_process(session, conversation.process_id, include_unpublished=True)
    stored = await maps.stored_map(session, conversation.id)
    texts = {statement.tid: statement.body for statement in await conversations.statements_of(session, conversation.id)}
    participant = await voting.find_participant(session, conversation, voter)
    own_pid = participant.pid if participant is not None else None
    own_votes = len(await voting.votes_of(session, participant)) if participant is not None else 0
    if stored is None:
        return MapView(conversation, process, None, 0, 0, [], [], [], [], False, None, own_votes, 0, 0)
    groups = [
        GroupView(
            id=int(group["id"]),
            letter=letter(int(group["id"])),
            colour=colour(int(group["id"])),
            size=int(group["size"]),
            representative=[
                StatementLine(
                    int(item["tid"]), texts[item["tid"]], item["direction"], item["agreed"], item["disagreed"]
                )
                for item in group["representative"]
                if item["tid"] in texts
            ],
        )
        for group in stored.groups
    ]
    consensus = [
        StatementLine(
            int(item["tid"]),
            texts[item["tid"]],
            item["direction"],
            shares={int(group): share for group, share in item["shares"].items()},
        )
        for item in stored.consensus
        if item["tid"] in texts
    ]
    divisive = [
        StatementLine(
            int(item["tid"]), texts[item["tid"]], shares={int(group): share for group, share in item["shares"].items()}
        )
        for item in stored.divisive
        if item["tid"] in texts
    ]
    all_points = list(stored.points)
    step = max(1, len(all_points) // MAX_POINTS)
    shown = all_points[::step]
    own_point = next((point for point in all_points if point[0] == own_pid), None)
    min_x, min_y, _span, factor = _scale(all_points)

    def placed(point: list[Any], own: bool = False) -> Point:
        x = SVG_MARGIN + (float(point[1]) - min_x) * factor
        y = SVG_SIZE - SVG_MARGIN - (float(point[2]) - min_y) * factor
        return Point(round(x, 1), round(y, 1), colour(int(point[3])), own)

    points = [placed(point) for point in shown if point[0] != own_pid]
    if own_point is not None:
        points.append(placed(own_point, own=True))
    by_id = {group.id: group for group in groups}
    own_group = by_id.get(int(own_point[3])) if own_point is not None else None
    clustered = sum(1 for point in all_points if int(point[3]) >= 0)
    return MapView(
        conversation,
        process,
        stored.computed_at,
        stored.participant_count,
        stored.vote_count,
        groups,
        consensus,
        divisive,
        points,
        step > 1,
        own_group,
        own_votes,
        clustered,
        len(all_points) - clustered,
    )
