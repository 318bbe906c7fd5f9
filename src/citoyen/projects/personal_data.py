"""What the projects domain keeps about a person (questions asked, feedback given and flagged, projects followed):
their export, and their erasure, which keeps questions and feedback unsigned (the public exchange needs them) and
removes flags and follows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import N_
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person
from citoyen.projects.models import ProjectFeedback, ProjectFeedbackFlag, ProjectFollow, ProjectQuestion


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    questions = await session.execute(
        select(ProjectQuestion).where(ProjectQuestion.author_id == person.id).order_by(ProjectQuestion.id)
    )
    feedback = await session.execute(
        select(ProjectFeedback).where(ProjectFeedback.author_id == person.id).order_by(ProjectFeedback.id)
    )
    flags = await session.execute(
        select(ProjectFeedbackFlag).where(ProjectFeedbackFlag.person_id == person.id).order_by(ProjectFeedbackFlag.id)
    )
    follows = await session.execute(
        select(ProjectFollow).where(ProjectFollow.person_id == person.id).order_by(ProjectFollow.id)
    )
    return {
        "project_questions": [
            {
                "project_id": q.project_id,
                "question": q.body,
                "asked_at": q.created_at.isoformat(),
                "answer": q.answer,
                "answered_at": q.answered_at.isoformat() if q.answered_at else None,
            }
            for q in questions.scalars()
        ],
        "project_feedback": [
            {
                "project_id": f.project_id,
                "kind": f.kind,
                "text": f.body,
                "given_at": f.created_at.isoformat(),
                "hidden_reason": f.hidden_reason,
            }
            for f in feedback.scalars()
        ],
        "project_feedback_flagged": [
            {"feedback_id": f.feedback_id, "at": f.created_at.isoformat()} for f in flags.scalars()
        ],
        "projects_followed": [
            {"project_id": f.project_id, "since": f.created_at.isoformat()} for f in follows.scalars()
        ],
    }


async def _erase(session: AsyncSession, person: Person) -> None:
    for model in (ProjectQuestion, ProjectFeedback):
        await session.execute(
            update(model)
            .where(model.author_id == person.id)
            .values(author_id=None)
            .execution_options(synchronize_session=False)
        )
    await session.execute(delete(ProjectFeedbackFlag).where(ProjectFeedbackFlag.person_id == person.id))
    await session.execute(delete(ProjectFollow).where(ProjectFollow.person_id == person.id))


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="projects",
            description=N_(
                "the questions you asked and the feedback you gave on the city's projects (kept, unsigned, after "
                "erasure), the feedback you flagged and the projects you follow"
            ),
            export=_export,
            erase=_erase,
        )
    )
