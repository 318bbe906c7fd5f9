"""The opinion pages' typed views: the voting page (one statement at a time, with progress) and the map (groups,
representative, consensus and divisive statements, where the viewer stands), each built by one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opinions import conversations, maps, voting
from citoyen.opinions.models import Conversation, Statement
from citoyen.opinions.picture import place
from citoyen.participation import service as participation

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
class Layer:
    """One group's dots in the picture: a path, drawn ready at the recomputation."""

    colour: str
    d: str


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
    layers: list[Layer]
    own_point: Point | None
    sampled: bool
    own_group: GroupView | None
    own_votes: int
    clustered: int
    unclustered: int


def letter(group_id: int) -> str:
    return chr(ord("A") + group_id) if 0 <= group_id < 26 else str(group_id)


def colour(group_id: int) -> str:
    return GROUP_COLOURS[group_id % len(GROUP_COLOURS)] if group_id >= 0 else "#999999"


async def vote_view(
    session: AsyncSession,
    conversation: Conversation,
    voter: voting.Voter,
    frame: conversations.ConversationFrame | None = None,
) -> VoteView:
    """The voting page: the process, whether it is open (from the `frame` kept between requests when given),
    the voter's progress and next statement (one statement for these: `voting.standing_and_next`)."""
    if frame is not None:
        process, is_open = frame.process, frame.is_open()
    else:
        process = await participation.get_process(session, conversation.process_id, include_unpublished=True)
        is_open = await conversations.is_open(session, conversation)
    may = is_open and (voter.signed_in or conversation.anonymous_allowed)
    if is_open:
        found, statement = await voting.standing_and_next(session, conversation, voter)
    else:
        found, statement = await voting.standing(session, conversation, voter), None
    return VoteView(
        conversation=conversation,
        process=process,
        open=is_open,
        statement=statement,
        progress=found.progress,
        may_take_part=may,
        writes=may and conversation.participants_write,
    )


def _mentioned(stored: Any) -> set[int]:
    tids = {int(item["tid"]) for group in stored.groups for item in group["representative"]}
    return tids | {int(item["tid"]) for item in [*stored.consensus, *stored.divisive]}


async def map_view(session: AsyncSession, conversation: Conversation, voter: voting.Voter) -> MapView:
    """The stored map as it is (one row), the texts of the statements it names and the viewer's own point (by
    its key): never the votes, never every participant."""
    process = await participation.get_process(session, conversation.process_id, include_unpublished=True)
    stored = await maps.stored_map(session, conversation.id)
    participant = await voting.find_participant(session, conversation, voter)
    own_votes = len(await voting.votes_of(session, participant)) if participant is not None else 0
    if stored is None:
        return MapView(conversation, process, None, 0, 0, [], [], [], [], None, False, None, own_votes, 0, 0)
    texts = await conversations.texts_of(session, conversation.id, _mentioned(stored))
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
    picture = stored.picture or {}
    layers = [Layer(colour(int(layer["group"])), str(layer["d"])) for layer in picture.get("layers", [])]
    own_point = await maps.point_of(session, conversation.id, participant.pid) if participant is not None else None
    own: Point | None = None
    if own_point is not None and picture.get("scale"):
        x, y = place(picture["scale"], own_point.x, own_point.y)
        own = Point(x, y, colour(own_point.group_id), own=True)
    by_id = {group.id: group for group in groups}
    own_group = by_id.get(own_point.group_id) if own_point is not None else None
    return MapView(
        conversation,
        process,
        stored.computed_at,
        stored.participant_count,
        stored.vote_count,
        groups,
        consensus,
        divisive,
        layers,
        own,
        bool(picture.get("sampled")),
        own_group,
        own_votes,
        int(picture.get("clustered", 0)),
        int(picture.get("unclustered", 0)),
    )
