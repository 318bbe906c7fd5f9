"""The typed views of the projects' pages, each built by one call: the map and list, a project's page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import squeeze_spaces
from citoyen.participation import service as participation
from citoyen.people import service as people
from citoyen.people.service import Person
from citoyen.projects import service as projects
from citoyen.projects.models import Project, ProjectFeedback, ProjectPhase, ProjectQuestion, ProjectUpdate
from citoyen.territory import service as territory
from citoyen.web import atom


@dataclass(frozen=True)
class Near:
    """The place of "works near me this month": its point, its name when typed, the works found."""

    lon: float
    lat: float
    label: str
    month_start: date
    found: list[tuple[Project, float]]


@dataclass(frozen=True)
class ProjectsPage:
    projects: list[Project]
    total: int
    neighbourhoods: dict[int, str]
    near: Near | None


async def projects_page(
    session: AsyncSession,
    cache: territory.TerritoryIndexCache,
    filters: projects.ProjectFilters,
    limit: int,
    offset: int,
    at: tuple[float, float, str] | None,
    today: date,
) -> ProjectsPage:
    found, total = await projects.list_projects(session, filters, limit, offset)
    near = None
    if at is not None:
        lon, lat, label = at
        near = Near(lon, lat, label, projects.month_of(today)[0], await projects.works_near(session, lon, lat, today))
    return ProjectsPage(found, total, await territory.neighbourhood_names(session, cache), near)


@dataclass(frozen=True)
class Linked:
    label: str
    link: str


@dataclass(frozen=True)
class ProjectView:
    project: Project
    phases: list[ProjectPhase]
    documents: list[projects.DocumentInfo]
    updates: list[ProjectUpdate]
    questions: list[ProjectQuestion]
    feedback: list[ProjectFeedback]
    useful: int
    worried: int
    neighbourhoods: list[str]
    department: str
    process: Linked | None
    proposals: list[Linked]
    following: bool
    followers: int
    staff: bool
    moderator: bool


async def project_view(session: AsyncSession, project_id: int, person: Person | None, locale: str) -> ProjectView:
    project = await projects.get_project(session, project_id)
    names = await territory.neighbourhood_names(session)
    departments = await people.department_names(session, locale)
    process = None
    if project.process_id is not None:
        try:
            found = await participation.get_process(session, project.process_id)
            process = Linked(found.label(locale), f"/participation/processes/{found.slug}")
        except participation.ParticipationError:
            process = None
    proposals = []
    for proposal_id in project.proposal_ids:
        try:
            proposal = await participation.get_proposal(session, proposal_id)
        except participation.ParticipationError:
            continue
        proposals.append(Linked(proposal.title, f"/participation/proposals/{proposal.id}"))
    feedback = await projects.feedback_of(session, project.id)
    visible = [item for item in feedback if item.hidden_at is None]
    return ProjectView(
        project=project,
        phases=await projects.phases_of(session, project.id),
        documents=await projects.documents_of(session, project.id),
        updates=await projects.updates_of(session, project.id),
        questions=await projects.questions_of(session, project.id),
        feedback=feedback,
        useful=sum(1 for item in visible if item.kind == projects.FeedbackKind.USEFUL),
        worried=sum(1 for item in visible if item.kind == projects.FeedbackKind.WORRIED),
        neighbourhoods=[names[i] for i in await projects.neighbourhood_ids_of(session, project.id) if i in names],
        department=departments.get(project.department_id or 0, ""),
        process=process,
        proposals=proposals,
        following=person is not None and await projects.is_following(session, person.id, project.id),
        followers=await projects.follower_count(session, project.id),
        staff=projects.is_staff(person),
        moderator=projects.is_moderator(person),
    )


ATOM_ENTRIES = 50


def _headline(text: str, limit: int = 90) -> str:
    line = squeeze_spaces(text)
    return line if len(line) <= limit else line[: limit - 1] + "…"


async def project_atom(
    session: AsyncSession, project_id: int, base: str, locale: str, gettext: Callable[[str], str], now: datetime
) -> bytes:
    """A project's news and answered questions, newest first, as Atom 1.0 (no account needed). Neither who
    asked nor who answered is in it: the department signs, as on the page."""
    project = await projects.get_project(session, project_id)
    page = f"{base}/projects/{project.id}"
    entries = [
        atom.Entry(
            id=f"{page}#update-{update.id}",
            title=_headline(update.text(locale)),
            moment=update.created_at,
            link=f"{page}#update-{update.id}",
            summary=update.text(locale),
            category="update",
        )
        for update in await projects.updates_of(session, project.id)
    ]
    for question in await projects.questions_of(session, project.id):
        if question.answered_at is None:
            continue
        entries.append(
            atom.Entry(
                id=f"{page}#question-{question.id}",
                title=gettext("Answer: %(question)s") % {"question": _headline(question.body, 80)},
                moment=question.answered_at,
                link=f"{page}#question-{question.id}",
                summary=gettext("Question: %(question)s") % {"question": question.body}
                + "\n\n"
                + gettext("Answer of the department: %(answer)s") % {"answer": question.answer},
                category="answer",
            )
        )
    entries.sort(key=lambda entry: entry.moment, reverse=True)
    return atom.document(page, project.label(locale), entries[:ATOM_ENTRIES], locale, now)
