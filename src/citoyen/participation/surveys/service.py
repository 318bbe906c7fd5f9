"""Surveys: building them (administrators), answering once (signed-in people, while open), and the
aggregated results (staff always; everyone when the administrator allows it).

Ranking questions are counted with the Borda count: with n options, a first place earns n-1 points, a
last place 0; the page also shows each option's average rank (1 = first). Free-text answers are shown
to staff only, never in public results: they may say who wrote them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.errors import Refusal
from citoyen.i18n import N_, localized
from citoyen.participation.models import Process
from citoyen.participation.surveys.models import QuestionKind, Survey, SurveyAnswer, SurveyQuestion, SurveyResponse
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person
from citoyen.verification import service as verification

SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 5000
SCALE = range(1, 6)
INVALID_RANKING = "?"  # not an option key: the answer check refuses it
CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.RANKING)
KIND_LABELS = {
    QuestionKind.SINGLE: N_("One choice"),
    QuestionKind.MULTIPLE: N_("Several choices"),
    QuestionKind.SHORT_TEXT: N_("Short text"),
    QuestionKind.LONG_TEXT: N_("Long text"),
    QuestionKind.SCALE: N_("Scale from 1 to 5"),
    QuestionKind.RANKING: N_("Ranking"),
}


class SurveyError(Refusal):
    """A refused request (`citoyen.errors.Refusal`); kinds: invalid, not_found, closed, answered, not_verified."""


@dataclass
class QuestionInput:
    kind: QuestionKind
    prompt: str
    prompt_en: str = ""
    required: bool = True
    # Option labels: [(label, label_en)]; keys are given in order ("1", "2", ...).
    options: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SurveyInput:
    process_id: int
    title: str
    opens_at: datetime
    closes_at: datetime
    title_en: str = ""
    description: str = ""
    description_en: str = ""
    public_results: bool = False
    binding: bool = False
    questions: list[QuestionInput] = field(default_factory=list)


async def response_count(session: AsyncSession, survey_id: int) -> int:
    query = select(func.count()).select_from(SurveyResponse).where(SurveyResponse.survey_id == survey_id)
    return int(await session.scalar(query) or 0)


async def save_survey(session: AsyncSession, data: SurveyInput, survey: Survey | None = None) -> Survey:
    """Create or update a survey; its questions can change only until someone has answered."""
    if await session.get(Process, data.process_id) is None:
        raise SurveyError(N_("Unknown process."), "not_found")
    if not data.title.strip():
        raise SurveyError(N_("A survey needs a title."))
    if data.closes_at <= data.opens_at:
        raise SurveyError(N_("A survey must close after it opens."))
    if not data.questions:
        raise SurveyError(N_("A survey needs at least one question."))
    for number, question in enumerate(data.questions, start=1):
        if not question.prompt.strip():
            raise SurveyError(N_("Question %(number)d has no text."), number=number)
        labels = [label for label, _ in question.options if label.strip()]
        if question.kind in CHOICE_KINDS and len(labels) < 2:
            raise SurveyError(N_("Question %(number)d needs at least two options."), number=number)
    if survey is None:
        survey = Survey(process_id=data.process_id)
        session.add(survey)
    elif await response_count(session, survey.id):
        current = await questions_of(session, survey.id)
        if [(q.kind, q.prompt, q.options) for q in current] != [
            (q.kind, q.prompt.strip(), _options(q)) for q in data.questions
        ]:
            raise SurveyError(N_("People have already answered: the questions can no longer change."), "answered")
    survey.process_id = data.process_id
    survey.title = data.title.strip()[:200]
    survey.title_en = data.title_en.strip()[:200]
    survey.description = data.description.strip()
    survey.description_en = data.description_en.strip()
    survey.opens_at = data.opens_at
    survey.closes_at = data.closes_at
    survey.public_results = data.public_results
    survey.binding = data.binding
    await session.flush()
    if not await response_count(session, survey.id):
        await session.execute(delete(SurveyQuestion).where(SurveyQuestion.survey_id == survey.id))
        for position, question in enumerate(data.questions):
            session.add(
                SurveyQuestion(
                    survey_id=survey.id,
                    position=position,
                    kind=question.kind,
                    prompt=question.prompt.strip()[:500],
                    prompt_en=question.prompt_en.strip()[:500],
                    required=question.required,
                    options=_options(question),
                )
            )
        await session.flush()
    return survey


def _options(question: QuestionInput) -> list[dict[str, str]]:
    if question.kind not in CHOICE_KINDS:
        return []
    labels = [(label.strip(), label_en.strip()) for label, label_en in question.options if label.strip()]
    return [
        {"key": str(index), "label": label, "label_en": label_en} for index, (label, label_en) in enumerate(labels, 1)
    ]


def option_label(option: dict[str, str], locale: str) -> str:
    return localized(locale, option["label"], option.get("label_en"))


async def get_survey(session: AsyncSession, survey_id: int) -> Survey:
    survey = await session.get(Survey, survey_id)
    if survey is None:
        raise SurveyError(N_("Unknown survey."), "not_found")
    return survey


async def list_surveys(session: AsyncSession, process_id: int | None = None) -> list[Survey]:
    query = select(Survey).order_by(Survey.opens_at.desc(), Survey.id.desc())
    if process_id is not None:
        query = query.where(Survey.process_id == process_id)
    return list((await session.execute(query)).scalars())


async def questions_of(session: AsyncSession, survey_id: int) -> list[SurveyQuestion]:
    query = select(SurveyQuestion).where(SurveyQuestion.survey_id == survey_id).order_by(SurveyQuestion.position)
    return list((await session.execute(query)).scalars())


def is_open(survey: Survey, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return survey.opens_at <= now < survey.closes_at


async def has_answered(session: AsyncSession, survey: Survey, person: Person) -> bool:
    query = select(SurveyResponse.id).where(
        SurveyResponse.survey_id == survey.id, SurveyResponse.person_id == person.id
    )
    return (await session.execute(query)).first() is not None


# --- answering --------------------------------------------------------------------------------


def _answer(question: SurveyQuestion, given: list[str], number: int) -> SurveyAnswer | None:
    """The stored answer to one question, or None when it was left empty (refused if required)."""
    values = [value.strip() for value in given if value.strip()]
    keys = [option["key"] for option in question.options]
    if not values:
        if question.required:
            raise SurveyError(N_("Question %(number)d needs an answer."), number=number)
        return None
    answer = SurveyAnswer(question_id=question.id, choices=[])
    if question.kind == QuestionKind.SINGLE:
        if len(values) != 1 or values[0] not in keys:
            raise SurveyError(N_("Question %(number)d: choose one of the options."), number=number)
        answer.choices = values
    elif question.kind == QuestionKind.MULTIPLE:
        if not set(values) <= set(keys):
            raise SurveyError(N_("Question %(number)d: choose among the options."), number=number)
        answer.choices = sorted(set(values), key=keys.index)
    elif question.kind == QuestionKind.RANKING:
        if sorted(values) != sorted(keys):
            raise SurveyError(N_("Question %(number)d: give each option a different rank."), number=number)
        answer.choices = values
    elif question.kind == QuestionKind.SCALE:
        if len(values) != 1 or not values[0].isdigit() or int(values[0]) not in SCALE:
            raise SurveyError(N_("Question %(number)d: choose a value from 1 to 5."), number=number)
        answer.scale = int(values[0])
    else:
        limit = SHORT_TEXT_MAX if question.kind == QuestionKind.SHORT_TEXT else LONG_TEXT_MAX
        text = "\n".join(values)
        if len(text) > limit:
            raise SurveyError(N_("Question %(number)d: at most %(limit)d characters."), number=number, limit=limit)
        answer.text = text
    return answer


async def submit_response(
    session: AsyncSession,
    survey: Survey,
    person: Person,
    answers: dict[int, list[str]],
    now: datetime | None = None,
) -> SurveyResponse:
    """Record a person's one response. `answers`: question id -> given values (a ranking: option keys
    from first to last). Nothing is stored when anything is refused."""
    if not is_open(survey, now):
        raise SurveyError(N_("This survey is not open."), "closed")
    if await has_answered(session, survey, person):
        raise SurveyError(N_("You have already answered this survey: one response per person."), "answered")
    if survey.binding and not await verification.is_verified(session, person.id):
        raise SurveyError(
            N_("This consultation is binding: only verified residents may answer. Verify your residence first."),
            "not_verified",
        )
    questions = await questions_of(session, survey.id)
    stored = [
        answer
        for number, question in enumerate(questions, start=1)
        if (answer := _answer(question, answers.get(question.id, []), number)) is not None
    ]
    response = SurveyResponse(survey_id=survey.id, person_id=person.id)
    try:
        async with session.begin_nested():
            session.add(response)
            await session.flush()
    except IntegrityError:  # the same person answering twice at the same moment
        raise SurveyError(N_("You have already answered this survey: one response per person."), "answered") from None
    for answer in stored:
        answer.response_id = response.id
    session.add_all(stored)
    await session.flush()
    return response


def ranking_from_form(keys: list[str], ranks: dict[str, str]) -> list[str]:
    """Option keys from first to last, from the rank chosen for each option ("1", "2", ...); an
    incomplete or repeated ranking gives a list the answer check refuses."""
    given = {key: ranks.get(key, "").strip() for key in keys}
    if not any(given.values()):
        return []  # left empty
    try:
        numbered = {key: int(value) for key, value in given.items()}
    except ValueError:
        return [INVALID_RANKING]
    if sorted(numbered.values()) != list(range(1, len(keys) + 1)):
        return [INVALID_RANKING]
    return sorted(keys, key=lambda key: numbered[key])


# --- results ----------------------------------------------------------------------------------


@dataclass
class QuestionResult:
    question: SurveyQuestion
    answered: int = 0
    # choices: option key -> count (single, multiple); ranking: key -> Borda points
    counts: dict[str, int] = field(default_factory=dict)
    average_rank: dict[str, float] = field(default_factory=dict)
    scale_counts: dict[int, int] = field(default_factory=dict)
    scale_mean: float | None = None
    texts: list[str] = field(default_factory=list)

    @property
    def maximum(self) -> int:
        values = list(self.counts.values()) + list(self.scale_counts.values())
        return max(values, default=0) or 1


async def results(
    session: AsyncSession, survey: Survey, include_texts: bool = False
) -> tuple[int, list[QuestionResult]]:
    """The number of responses and each question's aggregate."""
    questions = await questions_of(session, survey.id)
    by_id = {
        question.id: QuestionResult(
            question,
            counts={option["key"]: 0 for option in question.options},
            scale_counts=dict.fromkeys(SCALE, 0) if question.kind == QuestionKind.SCALE else {},
        )
        for question in questions
    }
    rank_sums: dict[int, dict[str, int]] = {question.id: {} for question in questions}
    query = (
        select(SurveyAnswer)
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(SurveyResponse.survey_id == survey.id)
        .order_by(SurveyAnswer.id)
    )
    for answer in (await session.execute(query)).scalars():
        result = by_id.get(answer.question_id)
        if result is None:
            continue
        kind = result.question.kind
        if kind == QuestionKind.RANKING:
            last = len(answer.choices) - 1
            for place, key in enumerate(answer.choices):
                result.counts[key] = result.counts.get(key, 0) + last - place
                rank_sums[answer.question_id][key] = rank_sums[answer.question_id].get(key, 0) + place + 1
        elif kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            for key in answer.choices:
                result.counts[key] = result.counts.get(key, 0) + 1
        elif kind == QuestionKind.SCALE and answer.scale is not None:
            result.scale_counts[answer.scale] += 1
        elif answer.text is not None:
            if not answer.text.strip():
                continue
            if include_texts:
                result.texts.append(answer.text)
        result.answered += 1
    for question_id, result in by_id.items():
        if result.question.kind == QuestionKind.RANKING and result.answered:
            result.average_rank = {key: total / result.answered for key, total in rank_sums[question_id].items()}
        if result.question.kind == QuestionKind.SCALE and result.answered:
            result.scale_mean = sum(value * count for value, count in result.scale_counts.items()) / result.answered
    return await response_count(session, survey.id), list(by_id.values())


def can_see_results(survey: Survey, person: Person | None) -> bool:
    return survey.public_results or (person is not None and person.is_staff)


# --- personal data ----------------------------------------------------------------------------


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    query = (
        select(Survey.title, SurveyQuestion.prompt, SurveyAnswer, SurveyResponse.submitted_at)
        .join(SurveyResponse, SurveyResponse.survey_id == Survey.id)
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
        .where(SurveyResponse.person_id == person.id)
        .order_by(Survey.id, SurveyQuestion.position)
    )
    rows = []
    for title, prompt, answer, submitted_at in (await session.execute(query)).all():
        rows.append(
            {
                "survey": title,
                "question": prompt,
                "choices": " > ".join(answer.choices),
                "scale": answer.scale,
                "text": answer.text,
                "submitted_at": submitted_at.isoformat(),
            }
        )
    return {"survey_answers": rows}


async def _erase(session: AsyncSession, person: Person) -> None:
    """Counts stay: choices, scales and rankings are kept without the link; free text goes."""
    responses = select(SurveyResponse.id).where(SurveyResponse.person_id == person.id)
    await session.execute(update(SurveyAnswer).where(SurveyAnswer.response_id.in_(responses)).values(text=None))
    await session.execute(update(SurveyResponse).where(SurveyResponse.person_id == person.id).values(person_id=None))


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="surveys",
            description=N_("your answers to surveys"),
            export=_export,
            erase=_erase,
        )
    )
