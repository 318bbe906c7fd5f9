"""The demo's participation: a neighbourhood process open for proposals and a budget in its voting phase,
proposals placed in the process's quartiers, supports that match the counts, answers with milestones. Built with the
processes and proposals alone (`only={"proposals"}`): the debate, the budget's ballots and the opinion map, which
these tests do not read, were most of the build."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.demo.generator import build_demo
from citoyen.participation import service as participation
from citoyen.participation.models import Milestone, Proposal, ProposalStatus, Support


@pytest.fixture
def demo_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"demo_citizens": 600, "demo_reports": 50})


async def test_demo_processes_proposals_and_supports(session: AsyncSession, demo_settings: Settings) -> None:
    await build_demo(session, demo_settings, with_open_data=False, only=frozenset({"proposals"}))
    views = {
        v.process.slug: v for v in await participation.overview(session, await participation.list_processes(session))
    }
    local, budget = views["embellir-nos-quartiers"], views["budget-participatif"]
    assert local.abilities.proposals and local.abilities.supports and local.scope
    assert budget.abilities.votes and not budget.abilities.proposals
    assert local.proposal_count >= 100 and budget.proposal_count >= 50

    proposals = list((await session.execute(select(Proposal))).scalars())
    assert {p.neighbourhood_id for p in proposals if p.process_id == local.process.id} <= set(local.scope)
    assert {p.locale for p in proposals} == {"fr", "en"}
    counted = dict(
        (await session.execute(select(Support.proposal_id, func.count()).group_by(Support.proposal_id))).all()
    )
    assert all(p.support_count == counted.get(p.id, 0) for p in proposals)
    assert sum(counted.values()) > len(proposals)
    statuses = {p.status for p in proposals if p.process_id == budget.process.id}
    assert {ProposalStatus.ACCEPTED, ProposalStatus.REJECTED} <= statuses
    assert (await session.scalar(select(func.count()).select_from(Milestone)) or 0) > 0
    # The support threshold works in the story: proposals past it wait for an answer, others past it were
    # answered, and one is being carried out.
    threshold = local.process.support_threshold
    assert threshold is not None
    mine = [p for p in proposals if p.process_id == local.process.id]
    waiting = [p for p in mine if p.answer_required]
    assert len(waiting) >= 3 and all(p.support_count >= threshold and p.answered_at is None for p in waiting)
    assert [p for p in mine if p.support_count >= threshold and p.answered_at is not None]
    assert any(p.status is ProposalStatus.IN_PROGRESS for p in mine)
    assert await participation.count_answer_required(session) == len(waiting)
    layer = await participation.map_layer(session, participation.ProposalFilters(process_id=local.process.id), 12)
    assert sum(cell["count"] for cell in layer["cells"]) == local.proposal_count
