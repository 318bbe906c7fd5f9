"""Views gathered from several domains' services, each built by one call:

- a neighbourhood's panel: open reports per category, the participatory processes running there with their
  proposals in it, and the sensors placed there with their latest values;
- a person's follows: the proposals, processes and neighbourhoods (participation) and the reports they follow.

Every item carries the address of its own page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.participation import service as participation
from citoyen.participation.follows import service as follows
from citoyen.people import service as people
from citoyen.people.service import Person
from citoyen.reports import service as reports
from citoyen.sensing import service as sensing
from citoyen.territory import service as territory
from citoyen.territory.models import Neighbourhood

# Proposals listed under each running process (the newest); its page lists the others.
PROPOSALS_SHOWN = 3


@dataclass(frozen=True)
class ReportCount:
    name: str
    name_en: str
    count: int
    url: str


@dataclass(frozen=True)
class ProposalLink:
    title: str
    status: str  # a ProposalStatus value (participation.STATUS_LABELS names it)
    url: str


@dataclass(frozen=True)
class RunningProcess:
    title: str
    title_en: str
    ends_at: datetime
    whole_city: bool
    proposal_count: int  # visible proposals placed in this neighbourhood
    proposals: list[ProposalLink]
    url: str  # the process's page, its proposals narrowed to this neighbourhood


@dataclass(frozen=True)
class SensorReading:
    observed_property: str
    observed_property_en: str
    unit_symbol: str
    unit_symbol_en: str
    value: float | None
    time: datetime | None
    is_hourly_mean: bool


@dataclass(frozen=True)
class SensorHere:
    name: str
    name_en: str
    kind: str
    url: str
    readings: list[SensorReading]


@dataclass(frozen=True)
class NeighbourhoodPanel:
    neighbourhood: Neighbourhood
    open_reports: list[ReportCount]
    open_report_total: int
    reports_url: str
    processes: list[RunningProcess]
    sensors: list[SensorHere]


async def neighbourhood_panel(
    session: AsyncSession, neighbourhood_id: int, now: datetime | None = None
) -> NeighbourhoodPanel | None:
    """The panel of one neighbourhood (None when there is no such neighbourhood)."""
    neighbourhood = await territory.get_neighbourhood(session, neighbourhood_id)
    if neighbourhood is None:
        return None
    here = {"neighbourhood": str(neighbourhood_id)}
    counts = await reports.open_by_category(session, neighbourhood_id)
    open_reports = [
        ReportCount(
            category.name, category.name_en, count, "/reports?" + urlencode({**here, "category": category.code})
        )
        for category, count in counts
    ]
    return NeighbourhoodPanel(
        neighbourhood=neighbourhood,
        open_reports=open_reports,
        open_report_total=sum(item.count for item in open_reports),
        reports_url="/reports?" + urlencode(here),
        processes=await _running_processes(session, neighbourhood_id, now or utcnow()),
        sensors=await _sensors(session, neighbourhood_id),
    )


async def _running_processes(session: AsyncSession, neighbourhood_id: int, now: datetime) -> list[RunningProcess]:
    """Published processes open at `now` that take in this neighbourhood (city-wide, or limited to it)."""
    processes = [
        process for process in await participation.list_processes(session) if process.starts_at <= now < process.ends_at
    ]
    running: list[RunningProcess] = []
    for view in await participation.overview(session, processes, now, with_counts=False):
        process = view.process
        if view.scope and neighbourhood_id not in view.scope:
            continue
        filters = participation.ProposalFilters(process_id=process.id, neighbourhood_id=neighbourhood_id)
        found = await participation.search_proposals(session, filters, sort="recent", limit=PROPOSALS_SHOWN)
        running.append(
            RunningProcess(
                title=process.title,
                title_en=process.title_en,
                ends_at=process.ends_at,
                whole_city=process.whole_city,
                proposal_count=await participation.count_proposals(session, filters),
                proposals=[ProposalLink(p.title, p.status.value, f"/participation/proposals/{p.id}") for p in found],
                url=f"/participation/processes/{process.slug}?" + urlencode({"neighbourhood": str(neighbourhood_id)}),
            )
        )
    return running


async def _sensors(session: AsyncSession, neighbourhood_id: int) -> list[SensorHere]:
    return [
        SensorHere(
            name=placed.thing.name,
            name_en=placed.thing.name_en,
            kind=placed.thing.kind.value,
            url=f"/sensing/things/{placed.thing.id}",
            readings=[
                SensorReading(
                    reading.observed_property,
                    reading.observed_property_en,
                    reading.unit_symbol,
                    reading.unit_symbol_en,
                    reading.latest.value if reading.latest else None,
                    reading.latest.time if reading.latest else None,
                    reading.latest.is_hourly_mean if reading.latest else False,
                )
                for reading in placed.readings
            ],
        )
        for placed in await sensing.sensors_in(session, neighbourhood_id)
    ]


@dataclass(frozen=True)
class FollowedReport:
    id: int
    category: str
    category_en: str
    status: str  # a ReportStatus value (reports.STATUS_LABELS names it)
    address: str
    url: str


@dataclass(frozen=True)
class FollowsPage:
    followed: list[follows.Followed]  # proposals, then processes and neighbourhoods
    reports: list[FollowedReport]
    unfollowed_neighbourhoods: list[Neighbourhood]  # those the person may still choose to follow
    email_digest: bool  # whether news also goes out by e-mail (the person's consent)


async def follows_page(session: AsyncSession, person: Person, locale: str) -> FollowsPage:
    """Everything a person follows, in every domain, most recently followed first within each kind."""
    followed = await follows.everything_followed(session, person.id, locale)
    chosen = {item.target_id for item in followed if item.kind == "neighbourhood"}
    return FollowsPage(
        followed=followed,
        reports=[
            FollowedReport(
                report.id, category.name, category.name_en, report.status.value, report.address, f"/reports/{report.id}"
            )
            for report, category in await reports.followed_by(session, person.id)
        ],
        unfollowed_neighbourhoods=[n for n in await territory.list_neighbourhoods(session) if n.id not in chosen],
        email_digest=await people.has_consent(session, person, follows.EMAIL_PURPOSE),
    )
