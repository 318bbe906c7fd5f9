"""The early-warning tables: alerts, forecasts and the runs that made them.

- `Alert`: something unusual, found by a detector of `citoyen.foresight`: a sensor series (a Datastream's daily
  values), a report count (per neighbourhood and category, per day or per week) or a cluster of reports (the space-time
  permutation scan). It keeps why it fired (value, expected range, score, threshold; for a cluster its centre,
  radius, period, observed and expected counts, p-value and reports), and what staff made of it (`status`).
  `marked_by_id` (the staff member who marked it) is personal data: exported and erased with the person.
- `Forecast`: the latest 7-day forecast of one series (`series_key`: "indicator:<id>" or "datastream:<id>"), with
  its backtest against seasonal naive. A forecast that does not beat seasonal naive keeps its verdict and no
  points; a series too short keeps its "not enough data" state, so that a chart says why it shows nothing.
- `AlertRun`: one run of the detectors and forecasts (when, what data it saw, what it did).

Rows point to Datastreams, neighbourhoods, departments and reports by id, without foreign keys to other
domains' tables (alerts never depend on their tables).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Enum, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow


class AlertKind(enum.StrEnum):
    SENSOR = "sensor"  # a Datastream's daily series
    REPORT_COUNTS = "report_counts"  # daily reports of one category in one neighbourhood
    REPORT_COUNTS_WEEKLY = "report_counts_weekly"  # weekly (Monday to Sunday) reports, as above
    REPORT_CLUSTER = "report_cluster"  # a space-time cluster of reports of one category


class AlertStatus(enum.StrEnum):
    NEW = "new"
    CONFIRMED = "confirmed"
    FALSE_ALARM = "false_alarm"


def _enum(kind: type[enum.StrEnum], length: int) -> Enum:
    return Enum(kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class AlertRun(Base):
    __tablename__ = "alert_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    trigger: Mapped[str] = mapped_column(String(20))  # "command", "schedule", "demo"
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # What the run saw: the last complete day it judged, and the reports it read (their count and largest id).
    data_through: Mapped[date | None] = mapped_column(Date, default=None)
    reports_seen: Mapped[int] = mapped_column(Integer, default=0)
    last_report_id: Mapped[int] = mapped_column(BigInteger, default=0)
    series_checked: Mapped[int] = mapped_column(Integer, default=0)
    not_enough_data: Mapped[int] = mapped_column(Integer, default=0)
    alerts_raised: Mapped[int] = mapped_column(Integer, default=0)
    alerts_updated: Mapped[int] = mapped_column(Integer, default=0)
    forecasts_made: Mapped[int] = mapped_column(Integer, default=0)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_subject_since", "subject_key", "since", unique=True),
        Index("ix_alerts_status_day", "status", "day"),
        Index("ix_alerts_neighbourhood", "neighbourhood_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AlertKind] = mapped_column(_enum(AlertKind, 20))
    detector: Mapped[str] = mapped_column(String(40))
    # "datastream:<id>", "reports:<neighbourhood>:<category>", "reports-weekly:<neighbourhood>:<category>" or
    # "cluster:<category>:<start>:<zone>".
    subject_key: Mapped[str] = mapped_column(String(200))
    subject_name: Mapped[str] = mapped_column(String(300), default="")
    subject_name_en: Mapped[str] = mapped_column(String(300), default="")
    datastream_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    category: Mapped[str | None] = mapped_column(String(120), default=None)
    neighbourhood_id: Mapped[int | None] = mapped_column(Integer, default=None)
    department_id: Mapped[int | None] = mapped_column(Integer, default=None)
    unit: Mapped[str] = mapped_column(String(40), default="")
    # The alarm: from `since` to `day` (UTC days; weekly: the Monday of its first week to the Sunday of its last),
    # the latest value, what was expected and how unusual it is.
    since: Mapped[date] = mapped_column(Date)
    day: Mapped[date] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float, default=None)
    expected: Mapped[float | None] = mapped_column(Float, default=None)
    expected_low: Mapped[float | None] = mapped_column(Float, default=None)
    expected_high: Mapped[float | None] = mapped_column(Float, default=None)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    threshold: Mapped[float] = mapped_column(Float, default=0.0)
    # The recent daily values the detector saw (a small chart): [[ISO day, value], ...].
    recent: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # A cluster: centre, radius, period [start, end), counts, Monte Carlo p-value and its reports.
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    radius_m: Mapped[float | None] = mapped_column(Float, default=None)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    observed: Mapped[int | None] = mapped_column(Integer, default=None)
    cluster_expected: Mapped[float | None] = mapped_column(Float, default=None)
    p_value: Mapped[float | None] = mapped_column(Float, default=None)
    report_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # What staff made of it.
    status: Mapped[AlertStatus] = mapped_column(_enum(AlertStatus, 20), default=AlertStatus.NEW)
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), default=None)
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("alert_runs.id", ondelete="SET NULL"), default=None)


class Forecast(Base):
    __tablename__ = "forecasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_key: Mapped[str] = mapped_column(String(200), unique=True)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last day of data the forecast uses (its origin); the forecast is for the 7 days after it.
    origin: Mapped[date | None] = mapped_column(Date, default=None)
    # "forecast" (shown), "does_not_beat" (its backtest error is not below seasonal naive's), "not_enough_data".
    state: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(40), default="")
    # Backtest over the last `window` origins: mean absolute error over seasonal naive's, and the share of
    # observed targets inside the 80 % interval.
    error_ratio: Mapped[float | None] = mapped_column(Float, default=None)
    coverage80: Mapped[float | None] = mapped_column(Float, default=None)
    window: Mapped[int] = mapped_column(Integer, default=0)
    beats_naive: Mapped[bool] = mapped_column(Boolean, default=False)
    # Not enough data: how many consecutive days there are, and how many the method needs.
    days_available: Mapped[int] = mapped_column(Integer, default=0)
    days_needed: Mapped[int] = mapped_column(Integer, default=0)
    # [{"day", "yhat", "lo80", "hi80", "lo95", "hi95"}] for the 7 days after the origin (empty unless "forecast").
    points: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The last days of the series ([[ISO day, value], ...]) so the chart draws history and forecast together.
    recent: Mapped[list[Any]] = mapped_column(JSON, default=list)
