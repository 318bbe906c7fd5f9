"""Test data for surveys: an open survey with one question of each kind."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.participation.surveys import service as surveys
from citoyen.participation.surveys.models import QuestionKind, Survey
from tests.participation.helpers import create_process

OPTIONS = [("Vélo", "Bike"), ("Bus", "Bus"), ("Marche", "Walking")]


async def create_survey(
    session: AsyncSession, public_results: bool = False, slug: str = "mobilite", binding: bool = False
) -> Survey:
    process = await create_process(session, slug=slug)
    now = utcnow()
    data = surveys.SurveyInput(
        process_id=process.id,
        title="Vos déplacements",
        title_en="How you get around",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=7),
        public_results=public_results,
        binding=binding,
        questions=[
            surveys.QuestionInput(QuestionKind.SINGLE, "Mode principal ?", "Main mode?", options=OPTIONS),
            surveys.QuestionInput(
                QuestionKind.MULTIPLE, "Autres modes ?", "Other modes?", required=False, options=OPTIONS
            ),
            surveys.QuestionInput(QuestionKind.SHORT_TEXT, "Votre rue ?", "Your street?", required=False),
            surveys.QuestionInput(QuestionKind.LONG_TEXT, "Une idée ?", "An idea?", required=False),
            surveys.QuestionInput(QuestionKind.SCALE, "Satisfaction ?", "Satisfaction?"),
            surveys.QuestionInput(QuestionKind.RANKING, "Priorités ?", "Priorities?", options=OPTIONS),
        ],
    )
    return await surveys.save_survey(session, data)


async def question_ids(session: AsyncSession, survey: Survey) -> list[int]:
    return [question.id for question in await surveys.questions_of(session, survey.id)]
