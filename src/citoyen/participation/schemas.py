"""Participation JSON shapes (read-only API): processes with their phases, proposals, the map layer,
GeoJSON. Authors appear by their public pseudonym only, or as a deleted participant."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from citoyen.participation.models import Phase, Process, ProcessCategory, Proposal

PhaseKindValue = Literal["information", "proposals", "debate", "voting", "implementation"]
ProposalStatusValue = Literal["published", "evaluating", "accepted", "rejected", "in_progress", "done"]


class ParticipationErrorBody(BaseModel):
    status: int
    message: str


class ParticipationErrorOut(BaseModel):
    error: ParticipationErrorBody


class PhaseOut(BaseModel):
    id: int
    kind: PhaseKindValue
    title: str
    starts_at: datetime
    ends_at: datetime
    allows_proposals: bool
    allows_comments: bool
    allows_supports: bool
    allows_votes: bool

    @classmethod
    def of(cls, phase: Phase, locale: str) -> PhaseOut:
        return cls(
            id=phase.id,
            kind=phase.kind.value,
            title=phase.label(locale),
            starts_at=phase.starts_at,
            ends_at=phase.ends_at,
            allows_proposals=phase.allows_proposals,
            allows_comments=phase.allows_comments,
            allows_supports=phase.allows_supports,
            allows_votes=phase.allows_votes,
        )


class ProcessCategoryOut(BaseModel):
    id: int
    name: str

    @classmethod
    def of(cls, category: ProcessCategory, locale: str) -> ProcessCategoryOut:
        return cls(id=category.id, name=category.label(locale))


class ProcessOut(BaseModel):
    """A participatory process, labelled in the request's language."""

    id: int
    slug: str
    title: str
    description: str
    whole_city: bool
    neighbourhood_ids: list[int] = Field(description="The neighbourhoods it is limited to (empty: city-wide).")
    starts_at: datetime
    ends_at: datetime
    support_threshold: int | None
    edit_window_minutes: int
    active_phase: PhaseOut | None = Field(description="The phase running now, if any.")
    phases: list[PhaseOut]
    categories: list[ProcessCategoryOut]
    proposal_count: int
    image_url: str | None
    url: str

    @classmethod
    def of(
        cls,
        process: Process,
        locale: str,
        phases: list[Phase],
        active: Phase | None,
        categories: list[ProcessCategory],
        scope: list[int],
        proposal_count: int,
    ) -> ProcessOut:
        return cls(
            id=process.id,
            slug=process.slug,
            title=process.label(locale),
            description=process.text(locale),
            whole_city=process.whole_city,
            neighbourhood_ids=scope,
            starts_at=process.starts_at,
            ends_at=process.ends_at,
            support_threshold=process.support_threshold,
            edit_window_minutes=process.edit_window_minutes,
            active_phase=PhaseOut.of(active, locale) if active else None,
            phases=[PhaseOut.of(phase, locale) for phase in phases],
            categories=[ProcessCategoryOut.of(category, locale) for category in categories],
            proposal_count=proposal_count,
            image_url=f"/participation/images/{process.image_id}" if process.image_id else None,
            url=f"/participation/processes/{process.slug}",
        )


class ProposalOut(BaseModel):
    """A proposal's public fields."""

    id: int
    process_id: int
    title: str
    body: str
    locale: str
    category_id: int | None
    author: str | None = Field(description="The author's public pseudonym; null once they erased their account.")
    status: ProposalStatusValue
    answer_required: bool
    progress: int | None
    support_count: int
    comment_count: int
    neighbourhood_id: int | None
    lon: float | None
    lat: float | None
    address: str
    withdrawn: bool
    created_at: datetime
    answered_at: datetime | None
    image_url: str | None
    url: str

    @classmethod
    def of(cls, proposal: Proposal, author: str | None) -> ProposalOut:
        return cls(
            id=proposal.id,
            process_id=proposal.process_id,
            title=proposal.title,
            body=proposal.body,
            locale=proposal.locale,
            category_id=proposal.category_id,
            author=author,
            status=proposal.status.value,
            answer_required=proposal.answer_required,
            progress=proposal.progress,
            support_count=proposal.support_count,
            comment_count=proposal.comment_count,
            neighbourhood_id=proposal.neighbourhood_id,
            lon=proposal.lon,
            lat=proposal.lat,
            address=proposal.address,
            withdrawn=proposal.withdrawn_at is not None,
            created_at=proposal.created_at,
            answered_at=proposal.answered_at,
            image_url=f"/participation/images/{proposal.image_id}" if proposal.image_id else None,
            url=f"/participation/proposals/{proposal.id}",
        )


class ProposalPage(BaseModel):
    total: int
    limit: int
    offset: int
    proposals: list[ProposalOut]


class ProposalMapPoint(BaseModel):
    id: int
    lon: float
    lat: float
    status: ProposalStatusValue
    title: str
    supports: int
    url: str


class ProposalMapPoints(BaseModel):
    """At high zoom: one point per placed proposal (the newest first): zoom 16 and 17 when the view holds at
    most 400 of them, from zoom 18 always (at most 5000)."""

    kind: Literal["points"]
    points: list[ProposalMapPoint]


class ProposalMapCell(BaseModel):
    cell: str = Field(description="The H3 cell id.")
    count: int
    lon: float = Field(description="The cell's centre.")
    lat: float


class ProposalMapCells(BaseModel):
    """The number of proposals per H3 cell: resolution 6 below zoom 12, 8 below 16, and 10 (about 100 m)
    at zoom 16 and 17 when the view holds more than 400 proposals."""

    kind: Literal["cells"]
    resolution: int
    cells: list[ProposalMapCell]


ProposalMapLayer = Annotated[ProposalMapPoints | ProposalMapCells, Field(discriminator="kind")]


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: list[float] = Field(description="[longitude, latitude] (WGS84).")


class ProposalFeature(BaseModel):
    type: Literal["Feature"]
    id: int
    geometry: PointGeometry
    properties: dict[str, Any]


class ProposalCollection(BaseModel):
    """RFC 7946 FeatureCollection of placed proposals (properties: the fields of ProposalOut)."""

    type: Literal["FeatureCollection"]
    features: list[ProposalFeature]
