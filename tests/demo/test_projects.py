"""The demo's urban projects: about thirty real places of Paris, all labelled as demo, with works this month,
an answered question and updates, built with the territory alone (`only={"projects"}`)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.demo.generator import build_demo
from citoyen.projects import service as projects


@pytest.fixture
def demo_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"demo_citizens": 50})


async def test_the_demo_city_has_thirty_projects_labelled_demo(session: AsyncSession, demo_settings: Settings) -> None:
    await build_demo(session, demo_settings, with_open_data=False, only=frozenset({"projects"}))
    found, total = await projects.list_projects(session, projects.ProjectFilters(), limit=100)
    assert total == 30 and all(project.demo for project in found)
    assert {project.phase for project in found} == set(projects.PHASE_LABELS)
    assert all(project.title_en and project.description_en for project in found)
    # Near the Hôtel de Ville, works on rue de Rivoli this month.
    near = await projects.works_near(session, 2.3522, 48.8566, utcnow().date())
    assert "Piste cyclable bidirectionnelle rue de Rivoli (tronçon Louvre – Saint-Paul)" in [p.title for p, _ in near]
    answered = [
        question
        for project in found
        for question in await projects.questions_of(session, project.id)
        if question.answered_at is not None
    ]
    assert answered
    assert sum([len(await projects.updates_of(session, project.id)) for project in found]) >= 2
