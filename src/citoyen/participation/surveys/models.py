"""Surveys attached to a participatory process: questions of six kinds, one response per person.

Questions and aggregated results are public when the administrator allows it. Responses are personal
data: `survey_responses.person_id` links a response to an account and free-text answers may say who
wrote them. On erasure the link and the free text go; choices, scales and rankings stay, unlinked, so
the counts do not change (provider in service.py).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow
from citoyen.i18n import localized


class QuestionKind(enum.StrEnum):
    SINGLE = "single"  # one option
    MULTIPLE = "multiple"  # any number of options
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    SCALE = "scale"  # 1 to 5
    RANKING = "ranking"  # every option, in order of preference


class Survey(Base):
    __tablename__ = "participation_surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("participation_processes.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Whether everyone may see the aggregated results (staff always can).
    public_results: Mapped[bool] = mapped_column(Boolean, default=False)
    # A binding consultation: only accounts verified against the residents' list may answer.
    binding: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def label(self, locale: str) -> str:
        return localized(locale, self.title, self.title_en)

    def text(self, locale: str) -> str:
        return localized(locale, self.description, self.description_en)


class SurveyQuestion(Base):
    __tablename__ = "participation_survey_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("participation_surveys.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[QuestionKind] = mapped_column(
        Enum(QuestionKind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    prompt: Mapped[str] = mapped_column(String(500))
    prompt_en: Mapped[str] = mapped_column(String(500), default="")
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    # For choices and rankings: [{"key": "a", "label": "...", "label_en": "..."}]
    options: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)

    def label(self, locale: str) -> str:
        return localized(locale, self.prompt, self.prompt_en)


class SurveyResponse(Base):
    """Personal data: who answered (None once they erased their account; the answers still count)."""

    __tablename__ = "participation_survey_responses"
    __table_args__ = (UniqueConstraint("survey_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("participation_surveys.id", ondelete="CASCADE"))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None, index=True
    )
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SurveyAnswer(Base):
    __tablename__ = "participation_survey_answers"
    __table_args__ = (UniqueConstraint("response_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("participation_survey_responses.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("participation_survey_questions.id", ondelete="CASCADE"), index=True
    )
    # Chosen option keys: one (single), several (multiple), all in order of preference (ranking).
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    scale: Mapped[int | None] = mapped_column(Integer, default=None)
    # Free text: personal data (removed on erasure).
    text: Mapped[str | None] = mapped_column(Text, default=None)
