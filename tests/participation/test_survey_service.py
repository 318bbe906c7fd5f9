"""Surveys: one response per person, every question kind validated, aggregation, personal data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.app import build_personal_data_registry
from citoyen.db import utcnow
from citoyen.participation.surveys import service as surveys
from citoyen.participation.surveys.models import QuestionKind, SurveyResponse
from citoyen.people import service as people
from tests.factories import create_person
from tests.participation.survey_helpers import create_survey, question_ids


def full_answer(
    ids: list[int], single: str = "1", scale: str = "4", ranking: list[str] | None = None
) -> dict[int, list[str]]:
    single_q, multiple_q, short_q, long_q, scale_q, ranking_q = ids
    return {
        single_q: [single],
        multiple_q: ["1", "3"],
        short_q: ["rue de la Roquette"],
        long_q: ["Plus de pistes cyclables\nEt des arceaux"],
        scale_q: [scale],
        ranking_q: ranking or ["2", "1", "3"],
    }


async def test_a_person_answers_once_and_a_second_time_is_refused(session: AsyncSession) -> None:
    survey = await create_survey(session)
    ids = await question_ids(session, survey)
    person = await create_person(session)
    await surveys.submit_response(session, survey, person, full_answer(ids))
    assert await surveys.has_answered(session, survey, person)
    with pytest.raises(surveys.SurveyError, match="already answered") as refused:
        await surveys.submit_response(session, survey, person, full_answer(ids))
    assert refused.value.kind == "answered"
    assert await session.scalar(select(func.count()).select_from(SurveyResponse)) == 1


@pytest.mark.parametrize(
    ("position", "value", "problem"),
    [
        (0, [], "Question 1 needs an answer."),
        (0, ["1", "2"], "choose one of the options"),
        (0, ["9"], "choose one of the options"),
        (1, ["1", "7"], "choose among the options"),
        (2, ["x" * 201], "at most 200 characters"),
        (4, ["6"], "from 1 to 5"),
        (4, ["trois"], "from 1 to 5"),
        (5, ["1", "2"], "different rank"),
        (5, ["1", "1", "2"], "different rank"),
        (5, ["?"], "different rank"),
    ],
)
async def test_bad_answers_are_refused_and_nothing_is_stored(
    session: AsyncSession, position: int, value: list[str], problem: str
) -> None:
    survey = await create_survey(session)
    ids = await question_ids(session, survey)
    answers = full_answer(ids) | {ids[position]: value}
    with pytest.raises(surveys.SurveyError) as refused:
        await surveys.submit_response(session, survey, await create_person(session), answers)
    assert problem in str(refused.value)
    assert await session.scalar(select(func.count()).select_from(SurveyResponse)) == 0


async def test_a_closed_survey_takes_no_answer(session: AsyncSession) -> None:
    survey = await create_survey(session)
    ids = await question_ids(session, survey)
    with pytest.raises(surveys.SurveyError, match="not open"):
        await surveys.submit_response(
            session, survey, await create_person(session), full_answer(ids), now=utcnow() + timedelta(days=30)
        )


def test_rankings_are_read_from_the_ranks_given_to_each_option() -> None:
    assert surveys.ranking_from_form(["1", "2", "3"], {"1": "2", "2": "3", "3": "1"}) == ["3", "1", "2"]
    assert surveys.ranking_from_form(["1", "2", "3"], {"1": "", "2": "", "3": ""}) == []
    assert surveys.ranking_from_form(["1", "2", "3"], {"1": "1", "2": "1", "3": "2"}) == [surveys.INVALID_RANKING]


async def test_results_count_choices_scales_and_rank_by_borda(session: AsyncSession) -> None:
    survey = await create_survey(session)
    ids = await question_ids(session, survey)
    # Three people. Rankings: (Bus, Vélo, Marche), (Bus, Vélo, Marche), (Marche, Vélo, Bus).
    # Borda with 3 options (2, 1, 0 points): Bus 2+2+0 = 4, Vélo 1+1+1 = 3, Marche 0+0+2 = 2.
    # Average rank: Bus (1+1+3)/3 = 1.67, Vélo 2, Marche (3+3+1)/3 = 2.33.
    for main_mode, satisfaction, priorities in (
        ("1", "4", ["2", "1", "3"]),
        ("1", "5", ["2", "1", "3"]),
        ("3", "2", ["3", "1", "2"]),
    ):
        await surveys.submit_response(
            session, survey, await create_person(session), full_answer(ids, main_mode, satisfaction, priorities)
        )
    responses, results = await surveys.results(session, survey, include_texts=True)
    assert responses == 3
    single, multiple, short, long_text, scale, ranking = results
    assert single.counts == {"1": 2, "2": 0, "3": 1}
    assert multiple.counts == {"1": 3, "2": 0, "3": 3}
    assert short.texts == ["rue de la Roquette"] * 3
    assert scale.scale_counts == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1} and scale.scale_mean == pytest.approx(11 / 3)
    assert ranking.counts == {"1": 3, "2": 4, "3": 2}
    assert ranking.average_rank == pytest.approx({"1": 2.0, "2": 5 / 3, "3": 7 / 3})
    _, public = await surveys.results(session, survey)
    assert public[2].texts == [] and public[3].texts == []  # free text for staff only
    assert long_text.question.kind == QuestionKind.LONG_TEXT


async def test_questions_freeze_once_people_have_answered(session: AsyncSession) -> None:
    survey = await create_survey(session)
    ids = await question_ids(session, survey)
    await surveys.submit_response(session, survey, await create_person(session), full_answer(ids))
    questions = await surveys.questions_of(session, survey.id)
    same = [
        surveys.QuestionInput(
            q.kind, q.prompt, q.prompt_en, q.required, [(o["label"], o["label_en"]) for o in q.options]
        )
        for q in questions
    ]
    data = surveys.SurveyInput(survey.process_id, "Nouveau titre", survey.opens_at, survey.closes_at, questions=same)
    await surveys.save_survey(session, data, survey)  # the title may change
    assert survey.title == "Nouveau titre"
    data.questions = same[:-1]
    with pytest.raises(surveys.SurveyError, match="no longer change"):
        await surveys.save_survey(session, data, survey)


async def test_erasure_keeps_the_counts_but_not_the_link_nor_the_free_text(session: AsyncSession) -> None:
    registry = build_personal_data_registry()
    survey = await create_survey(session)
    ids = await question_ids(session, survey)
    person = await create_person(session)
    await surveys.submit_response(session, survey, person, full_answer(ids))
    exported = await people.export_personal_data(session, registry, person)
    rows = exported["domains"]["surveys"]["tables"]["survey_answers"]
    assert {row["text"] for row in rows} >= {"rue de la Roquette"}
    await people.erase_person(session, registry, person)
    await session.flush()
    dump = str((await session.execute(text("SELECT * FROM participation_survey_answers"))).all())
    assert "Roquette" not in dump and "pistes" not in dump
    responses, results = await surveys.results(session, survey)
    assert responses == 1 and results[0].counts["1"] == 1 and results[5].counts["2"] == 2
    assert (await session.execute(select(SurveyResponse.person_id))).scalar_one() is None
