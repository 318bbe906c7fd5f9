"""Participatory budgets: an amount the city puts to the vote in a voting phase of a process, the projects
it may fund, and the residents' ballots.

Budgets and projects are public. Ballots are keyed by the resident entry of the verification domain (one
resident, one ballot per budget), never by an account: who voted for what is known only through the
resident entry's link to an account, which the verification provider exports and erases. Results are
public once the phase has ended.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow
from citoyen.i18n import localized
from citoyen.participation.budgets.rules import BallotRule, BallotRules, ResultMethod


def _enum(kind: type[BallotRule] | type[ResultMethod]) -> Enum:
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class Budget(Base):
    __tablename__ = "participation_budgets"

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("participation_phases.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    total_cents: Mapped[int] = mapped_column(BigInteger)  # a large city's budget exceeds 32-bit cents
    rule: Mapped[BallotRule] = mapped_column(_enum(BallotRule), default=BallotRule.KNAPSACK)
    min_spend_percent: Mapped[int | None] = mapped_column(Integer, default=None)
    min_projects: Mapped[int] = mapped_column(Integer, default=0)
    max_projects: Mapped[int | None] = mapped_column(Integer, default=None)
    official_method: Mapped[ResultMethod] = mapped_column(_enum(ResultMethod), default=ResultMethod.EQUAL_SHARES)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def label(self, locale: str) -> str:
        return localized(locale, self.title, self.title_en)

    def text(self, locale: str) -> str:
        return localized(locale, self.description, self.description_en)

    @property
    def rules(self) -> BallotRules:
        return BallotRules(self.rule, self.total_cents, self.min_spend_percent, self.min_projects, self.max_projects)


class BudgetProject(Base):
    __tablename__ = "participation_budget_projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("participation_budgets.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    cost_cents: Mapped[int] = mapped_column(BigInteger)
    place: Mapped[str] = mapped_column(String(300), default="")
    neighbourhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighbourhoods.id", ondelete="SET NULL"), default=None
    )
    # The accepted proposal this project comes from, if any.
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("participation_proposals.id", ondelete="SET NULL"), default=None, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def label(self, locale: str) -> str:
        return localized(locale, self.title, self.title_en)

    def text(self, locale: str) -> str:
        return localized(locale, self.description, self.description_en)


class Ballot(Base):
    """One resident's ballot in one budget; replaced as a whole when they change it while voting is open."""

    __tablename__ = "participation_budget_ballots"
    __table_args__ = (UniqueConstraint("budget_id", "resident_entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("participation_budgets.id", ondelete="CASCADE"))
    resident_entry_id: Mapped[int] = mapped_column(ForeignKey("resident_entries.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BallotChoice(Base):
    __tablename__ = "participation_budget_ballot_choices"

    ballot_id: Mapped[int] = mapped_column(
        ForeignKey("participation_budget_ballots.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(
        ForeignKey("participation_budget_projects.id", ondelete="CASCADE"), primary_key=True, index=True
    )
