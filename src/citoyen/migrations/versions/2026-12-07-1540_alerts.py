"""alerts: the early-warning tables (alerts, forecasts, runs of `citoyen foresight run`)

Empty until the first run (the app's scheduled task or `citoyen foresight run`).

Revision ID: aae1781f7913
Revises: 5b0e2d7c9a41
Create Date: 2026-12-07 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "aae1781f7913"
down_revision: str | None = "5b0e2d7c9a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("started_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("data_through", sa.Date(), nullable=True),
        sa.Column("reports_seen", sa.Integer(), nullable=False),
        sa.Column("last_report_id", sa.BigInteger(), nullable=False),
        sa.Column("series_checked", sa.Integer(), nullable=False),
        sa.Column("not_enough_data", sa.Integer(), nullable=False),
        sa.Column("alerts_raised", sa.Integer(), nullable=False),
        sa.Column("alerts_updated", sa.Integer(), nullable=False),
        sa.Column("forecasts_made", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_runs")),
    )
    op.create_table(
        "forecasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_key", sa.String(length=200), nullable=False),
        sa.Column("made_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("origin", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("error_ratio", sa.Float(), nullable=True),
        sa.Column("coverage80", sa.Float(), nullable=True),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("beats_naive", sa.Boolean(), nullable=False),
        sa.Column("days_available", sa.Integer(), nullable=False),
        sa.Column("days_needed", sa.Integer(), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("recent", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecasts")),
        sa.UniqueConstraint("series_key", name=op.f("uq_forecasts_series_key")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("sensor", "report_counts", "report_cluster", name="alertkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("detector", sa.String(length=40), nullable=False),
        sa.Column("subject_key", sa.String(length=200), nullable=False),
        sa.Column("subject_name", sa.String(length=300), nullable=False),
        sa.Column("subject_name_en", sa.String(length=300), nullable=False),
        sa.Column("datastream_id", sa.BigInteger(), nullable=True),
        sa.Column("category", sa.String(length=120), nullable=True),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("expected", sa.Float(), nullable=True),
        sa.Column("expected_low", sa.Float(), nullable=True),
        sa.Column("expected_high", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("recent", sa.JSON(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("radius_m", sa.Float(), nullable=True),
        sa.Column("period_start", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("period_end", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("observed", sa.Integer(), nullable=True),
        sa.Column("cluster_expected", sa.Float(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("report_ids", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("new", "confirmed", "false_alarm", name="alertstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("marked_by_id", sa.Integer(), nullable=True),
        sa.Column("marked_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("raised_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["marked_by_id"], ["people.id"], name=op.f("fk_alerts_marked_by_id_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["alert_runs.id"], name=op.f("fk_alerts_run_id_alert_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_neighbourhood", ["neighbourhood_id", "day"], unique=False)
        batch_op.create_index("ix_alerts_status_day", ["status", "day"], unique=False)
        batch_op.create_index("ix_alerts_subject_since", ["subject_key", "since"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_subject_since")
        batch_op.drop_index("ix_alerts_status_day")
        batch_op.drop_index("ix_alerts_neighbourhood")

    op.drop_table("alerts")
    op.drop_table("forecasts")
    op.drop_table("alert_runs")
