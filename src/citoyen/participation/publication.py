"""What participation publishes as open data: proposals and their official answers (never who wrote or supported
them), participatory budgets' results once voting has ended, and for the open-data privacy layer the counts
about people (participants per neighbourhood, survey answers per option) with the bound on each person's part.

Only what the public pages show: proposals of published processes, neither hidden by moderation nor withdrawn;
budget results once public; surveys whose results the administrator made public. Rows are read in batches by
id (`citoyen.db.keyset_batches`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, union, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import keyset_batches
from citoyen.participation.budgets import service as budgets
from citoyen.participation.debate.models import Comment, CommentVote
from citoyen.participation.models import (
    Milestone,
    Phase,
    Process,
    ProcessCategory,
    Proposal,
    ProposalAnswer,
    Support,
)
from citoyen.participation.surveys.models import QuestionKind, Survey, SurveyAnswer, SurveyQuestion, SurveyResponse

PUBLICATION_BATCH = 5000


def _visible() -> tuple[Any, ...]:
    return (
        Proposal.hidden_at.is_(None),
        Proposal.withdrawn_at.is_(None),
        Proposal.process_id.in_(select(Process.id).where(Process.published.is_(True))),
    )


def _of_process(process_id: int | None) -> tuple[Any, ...]:
    return () if process_id is None else (Proposal.process_id == process_id,)


async def public_proposals(
    session: AsyncSession, batch: int = PUBLICATION_BATCH, process_id: int | None = None
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every proposal the public sees (of one process, given `process_id`), in batches ordered by id: text,
    place, status, counts; no author."""
    slugs = {row[0]: row[1] for row in (await session.execute(select(Process.id, Process.slug))).all()}
    categories = {
        row[0]: row[1] for row in (await session.execute(select(ProcessCategory.id, ProcessCategory.name))).all()
    }
    query = select(Proposal).where(*_visible(), *_of_process(process_id))
    async for rows in keyset_batches(session, query, Proposal.id, batch):
        yield [
            {
                "id": proposal.id,
                "process": slugs[proposal.process_id],
                "category": categories.get(proposal.category_id) if proposal.category_id is not None else None,
                "title": proposal.title,
                "body": proposal.body,
                "language": proposal.locale,
                "neighbourhood_id": proposal.neighbourhood_id,
                "lon": proposal.lon,
                "lat": proposal.lat,
                "status": proposal.status.value,
                "progress": proposal.progress,
                "supports": proposal.support_count or 0,
                "comments": proposal.comment_count,
                "created_at": proposal.created_at,
                "answered_at": proposal.answered_at,
            }
            for (proposal,) in rows
        ]


async def public_answers(
    session: AsyncSession, batch: int = PUBLICATION_BATCH, process_id: int | None = None
) -> AsyncIterator[list[dict[str, Any]]]:
    """The city's official answers to public proposals (of one process, given `process_id`), in batches
    ordered by id (never who answered)."""
    columns = (ProposalAnswer.id, ProposalAnswer.proposal_id, ProposalAnswer.status, ProposalAnswer.text)
    more = (ProposalAnswer.progress, ProposalAnswer.created_at)
    query = (
        select(*columns, *more)
        .join(Proposal, Proposal.id == ProposalAnswer.proposal_id)
        .where(*_visible(), *_of_process(process_id))
    )
    async for rows in keyset_batches(session, query, ProposalAnswer.id, batch):
        yield [
            {
                "id": row[0],
                "proposal_id": row[1],
                "status": row[2].value,
                "answer": row[3],
                "progress": row[4],
                "answered_at": row[5],
            }
            for row in rows
        ]


async def budget_results(session: AsyncSession) -> list[dict[str, Any]]:
    """Each project of every budget whose results are public (voting ended, process published): its cost,
    votes and whether the official method funds it. These are the official results the budget page shows."""
    rows: list[dict[str, Any]] = []
    for budget in await budgets.list_budgets(session):
        phase = await budgets.phase_of(session, budget)
        process = await budgets.process_of(session, budget)
        if not process.published or not budgets.results_are_public(phase):
            continue
        projects, outcome = await budgets.results(session, budget)
        official = set(outcome.outcome(budget.official_method).selected)
        for project in projects:
            rows.append(
                {
                    "budget_id": budget.id,
                    "budget": budget.title,
                    "budget_en": budget.title_en or budget.title,
                    "process": process.slug,
                    "project_id": project.id,
                    "project": project.title,
                    "project_en": project.title_en or project.title,
                    "neighbourhood_id": project.neighbourhood_id,
                    "cost_cents": project.cost_cents,
                    "votes": outcome.votes.get(project.id, 0),
                    "voters": outcome.voters,
                    "funded": project.id in official,
                    "method": budget.official_method.value,
                    "voting_ended_at": phase.ends_at,
                }
            )
    return rows


async def public_processes(session: AsyncSession) -> list[dict[str, Any]]:
    """Every published process, with its phases ("proposals 2026-11-01/2026-12-01; voting …") and its public
    proposals' count."""
    processes = list(
        (await session.execute(select(Process).where(Process.published.is_(True)).order_by(Process.id))).scalars()
    )
    phases: dict[int, list[Phase]] = {process.id: [] for process in processes}
    query = select(Phase).where(Phase.process_id.in_(list(phases))).order_by(Phase.process_id, Phase.position)
    for phase in (await session.execute(query)).scalars():
        phases[phase.process_id].append(phase)
    counted = select(Proposal.process_id, func.count()).where(*_visible()).group_by(Proposal.process_id)
    counts: dict[int, int] = {row[0]: row[1] for row in (await session.execute(counted)).all()}
    return [
        {
            "id": process.id,
            "slug": process.slug,
            "title": process.title,
            "title_en": process.title_en or process.title,
            "description": process.description,
            "whole_city": process.whole_city,
            "starts_at": process.starts_at,
            "ends_at": process.ends_at,
            "phases": "; ".join(
                f"{phase.kind.value} {phase.starts_at.date().isoformat()}/{phase.ends_at.date().isoformat()}"
                for phase in phases[process.id]
            ),
            "proposals": counts.get(process.id, 0),
        }
        for process in processes
    ]


async def public_budget_projects(session: AsyncSession) -> list[dict[str, Any]]:
    """Every project put to a participatory budget of a published process, while voting runs too (no votes:
    those are in `budget_results` once voting has ended)."""
    rows: list[dict[str, Any]] = []
    for budget in await budgets.list_budgets(session):
        process = await budgets.process_of(session, budget)
        if not process.published:
            continue
        for project in await budgets.projects_of(session, budget.id):
            rows.append(
                {
                    "id": project.id,
                    "budget_id": budget.id,
                    "budget": budget.title,
                    "process": process.slug,
                    "budget_total_cents": budget.total_cents,
                    "title": project.title,
                    "title_en": project.title_en or project.title,
                    "description": project.description,
                    "place": project.place,
                    "neighbourhood_id": project.neighbourhood_id,
                    "cost_cents": project.cost_cents,
                    "proposal_id": project.proposal_id,
                }
            )
    return rows


async def public_milestones(
    session: AsyncSession, batch: int = PUBLICATION_BATCH
) -> AsyncIterator[list[dict[str, Any]]]:
    """How public proposals are carried out: their milestones, in batches ordered by id (never who wrote them)."""
    columns = (Milestone.id, Milestone.proposal_id, Milestone.title, Milestone.description, Milestone.progress)
    query = (
        select(*columns, Milestone.happened_on).join(Proposal, Proposal.id == Milestone.proposal_id).where(*_visible())
    )
    async for rows in keyset_batches(session, query, Milestone.id, batch):
        yield [
            {
                "id": row[0],
                "proposal_id": row[1],
                "title": row[2],
                "description": row[3],
                "progress": row[4],
                "happened_on": row[5],
            }
            for row in rows
        ]


async def participant_counts(
    session: AsyncSession, start: datetime, end: datetime, max_cells_per_person: int = 1
) -> dict[tuple[int], int]:
    """People who proposed or supported a public proposal in [start, end), per neighbourhood of the proposal.

    Bounded for the privacy layer: a person counts once per neighbourhood and in at most
    `max_cells_per_person` neighbourhoods (those of their earliest contributions)."""
    authored = select(
        Proposal.author_id.label("person"), Proposal.neighbourhood_id.label("place"), Proposal.created_at.label("at")
    ).where(
        Proposal.author_id.is_not(None),
        Proposal.neighbourhood_id.is_not(None),
        Proposal.created_at >= start,
        Proposal.created_at < end,
        *_visible(),
    )
    supported = (
        select(Support.person_id, Proposal.neighbourhood_id, Support.created_at)
        .join(Proposal, Proposal.id == Support.proposal_id)
        .where(
            Proposal.neighbourhood_id.is_not(None), Support.created_at >= start, Support.created_at < end, *_visible()
        )
    )
    contributions = union(authored, supported).subquery()
    query = select(contributions.c.person, contributions.c.place).order_by(
        contributions.c.person, contributions.c.at, contributions.c.place
    )
    counts: dict[tuple[int], int] = {}
    current: int | None = None
    places: set[int] = set()
    result = await session.stream(query.execution_options(yield_per=PUBLICATION_BATCH))
    async for person, place in result:
        if person != current:
            current, places = person, set()
        if place in places or len(places) >= max_cells_per_person:
            continue
        places.add(place)
        counts[(place,)] = counts.get((place,), 0) + 1
    return counts


def _monday(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


async def participants_per_week(
    session: AsyncSession, start: datetime, end: datetime
) -> dict[tuple[int | None, datetime], int]:
    """How many different people took part in [start, end), per UTC week (its Monday) and neighbourhood of the
    proposal they took part on, and for the whole city (neighbourhood None): who published a proposal, supported
    one, commented (on a proposal, or on a process: the city only) or voted on a comment. A person counts once per
    week in each neighbourhood they took part in, and once per week in the city. Only counts leave: what the
    indicators publish as participants per 1,000 residents (they withhold the small ones). Public proposals only
    (see `_visible`); hidden comments count (the person took part), budget ballots do not (they are tied to a
    register entry, not to an account)."""
    visible = (Proposal.hidden_at.is_(None), Proposal.withdrawn_at.is_(None))
    published = Process.published.is_(True)
    authored = (
        select(Proposal.author_id, Proposal.neighbourhood_id, Proposal.created_at)
        .join(Process, Process.id == Proposal.process_id)
        .where(Proposal.author_id.is_not(None), Proposal.created_at >= start, Proposal.created_at < end, published)
        .where(*visible)
    )
    supported = (
        select(Support.person_id, Proposal.neighbourhood_id, Support.created_at)
        .join(Proposal, Proposal.id == Support.proposal_id)
        .join(Process, Process.id == Proposal.process_id)
        .where(Support.created_at >= start, Support.created_at < end, published, *visible)
    )
    commented = (
        select(Comment.author_id, Proposal.neighbourhood_id, Comment.created_at)
        .join(Process, Process.id == Comment.process_id)
        .outerjoin(Proposal, Proposal.id == Comment.proposal_id)
        .where(Comment.author_id.is_not(None), Comment.created_at >= start, Comment.created_at < end, published)
    )
    voted = (
        select(CommentVote.person_id, Proposal.neighbourhood_id, CommentVote.created_at)
        .join(Comment, Comment.id == CommentVote.comment_id)
        .join(Process, Process.id == Comment.process_id)
        .outerjoin(Proposal, Proposal.id == Comment.proposal_id)
        .where(CommentVote.created_at >= start, CommentVote.created_at < end, published)
    )
    seen: set[tuple[int | None, datetime, int]] = set()
    result: Any = await session.stream(
        union_all(authored, supported, commented, voted).execution_options(yield_per=PUBLICATION_BATCH)
    )
    async for person, place, moment in result:
        week = _monday(moment)
        seen.add((None, week, person))
        if place is not None:
            seen.add((place, week, person))
    counts: dict[tuple[int | None, datetime], int] = {}
    for place, week, _person in seen:
        counts[(place, week)] = counts.get((place, week), 0) + 1
    return counts


@dataclass(frozen=True)
class SurveyCounts:
    """Answers per option of one survey with public results, and its public grid of cells
    (question position, option key), zeros included. `max_contributions` is how many cells one respondent
    can change (one per single-choice, scale or ranking question, each option of a multiple-choice one)."""

    survey_id: int
    title: str
    title_en: str
    process: str
    opens_at: datetime
    closes_at: datetime
    labels: dict[tuple[int, str], tuple[str, str, str]]  # cell -> (question, option, option_en)
    counts: dict[tuple[int, str], int]
    max_contributions: int


def _survey_cells(question: SurveyQuestion) -> list[tuple[str, str, str]]:
    if question.kind == QuestionKind.SCALE:
        return [(str(value), str(value), str(value)) for value in range(1, 6)]
    return [(option["key"], option["label"], option.get("label_en") or option["label"]) for option in question.options]


async def survey_counts(session: AsyncSession, closed_by: datetime | None = None) -> list[SurveyCounts]:
    """For each survey of a published process whose results are public (and, given `closed_by`, that closed by
    then): respondents per option of its choice and scale questions (for a ranking, who put the option first).
    Free-text answers are never counted here."""
    processes = {
        row[0]: row[1]
        for row in (await session.execute(select(Process.id, Process.slug).where(Process.published.is_(True)))).all()
    }
    query = select(Survey).where(Survey.public_results.is_(True)).order_by(Survey.id)
    if closed_by is not None:
        query = query.where(Survey.closes_at <= closed_by)
    found: list[SurveyCounts] = []
    for survey in (await session.execute(query)).scalars():
        if survey.process_id not in processes:
            continue
        questions = (
            await session.execute(
                select(SurveyQuestion)
                .where(SurveyQuestion.survey_id == survey.id)
                .order_by(SurveyQuestion.position, SurveyQuestion.id)
            )
        ).scalars()
        counted = [q for q in questions if q.kind not in (QuestionKind.SHORT_TEXT, QuestionKind.LONG_TEXT)]
        labels: dict[tuple[int, str], tuple[str, str, str]] = {}
        position = {question.id: number for number, question in enumerate(counted, start=1)}
        bound = 0
        for question in counted:
            bound += len(question.options) if question.kind == QuestionKind.MULTIPLE else 1
            for key, label, label_en in _survey_cells(question):
                labels[(position[question.id], key)] = (question.prompt, label, label_en)
        counts = dict.fromkeys(labels, 0)
        answers = (
            select(SurveyAnswer.question_id, SurveyAnswer.choices, SurveyAnswer.scale)
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .where(SurveyResponse.survey_id == survey.id, SurveyAnswer.question_id.in_(list(position)))
            .execution_options(yield_per=PUBLICATION_BATCH)
        )
        kinds = {question.id: question.kind for question in counted}
        async for question_id, choices, scale in await session.stream(answers):
            number, kind = position[question_id], kinds[question_id]
            if kind == QuestionKind.SCALE:
                keys = [str(scale)] if scale is not None else []
            elif kind == QuestionKind.RANKING:
                keys = list(choices or [])[:1]
            else:
                keys = list(dict.fromkeys(choices or []))
            for key in keys:
                if (number, key) in counts:
                    counts[(number, key)] += 1
        found.append(
            SurveyCounts(
                survey_id=survey.id,
                title=survey.title,
                title_en=survey.title_en or survey.title,
                process=processes[survey.process_id],
                opens_at=survey.opens_at,
                closes_at=survey.closes_at,
                labels=labels,
                counts=counts,
                max_contributions=max(bound, 1),
            )
        )
    return found
