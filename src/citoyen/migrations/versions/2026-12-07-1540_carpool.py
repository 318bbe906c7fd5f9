"""the carpool board: trips (places as H3 cells of resolution 9 and neighbourhoods, never points), requests to
share them, messages between a trip's owner and an accepted asker

Revision ID: 8c10143b1e6e
Revises: aae1781f7913
Create Date: 2026-12-07 15:14:20.221240
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "8c10143b1e6e"
down_revision: str | None = "aae1781f7913"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carpool_trips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("from_cell", sa.String(length=16), nullable=True),
        sa.Column("to_cell", sa.String(length=16), nullable=True),
        sa.Column("from_neighbourhood_id", sa.Integer(), nullable=True),
        sa.Column("to_neighbourhood_id", sa.Integer(), nullable=True),
        sa.Column("days", sa.SmallInteger(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("window_start", sa.SmallInteger(), nullable=False),
        sa.Column("window_end", sa.SmallInteger(), nullable=False),
        sa.Column("seats", sa.SmallInteger(), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_neighbourhood_id"],
            ["neighbourhoods.id"],
            name=op.f("fk_carpool_trips_from_neighbourhood_id_neighbourhoods"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_carpool_trips_person_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["to_neighbourhood_id"],
            ["neighbourhoods.id"],
            name=op.f("fk_carpool_trips_to_neighbourhood_id_neighbourhoods"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carpool_trips")),
    )
    with op.batch_alter_table("carpool_trips", schema=None) as batch_op:
        batch_op.create_index("ix_carpool_trips_expiry", ["status", "expires_at"], unique=False)
        batch_op.create_index("ix_carpool_trips_match", ["from_cell", "kind", "status", "to_cell"], unique=False)
        batch_op.create_index(batch_op.f("ix_carpool_trips_person_id"), ["person_id"], unique=False)

    op.create_table(
        "carpool_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trip_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("from_trip_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_trip_id"],
            ["carpool_trips.id"],
            name=op.f("fk_carpool_requests_from_trip_id_carpool_trips"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_carpool_requests_person_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"],
            ["carpool_trips.id"],
            name=op.f("fk_carpool_requests_trip_id_carpool_trips"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carpool_requests")),
    )
    with op.batch_alter_table("carpool_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carpool_requests_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_carpool_requests_trip_id"), ["trip_id"], unique=False)

    op.create_table(
        "carpool_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["people.id"], name=op.f("fk_carpool_messages_author_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["carpool_requests.id"],
            name=op.f("fk_carpool_messages_request_id_carpool_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carpool_messages")),
    )
    with op.batch_alter_table("carpool_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carpool_messages_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_carpool_messages_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("carpool_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carpool_messages_request_id"))
        batch_op.drop_index(batch_op.f("ix_carpool_messages_author_id"))

    op.drop_table("carpool_messages")
    with op.batch_alter_table("carpool_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carpool_requests_trip_id"))
        batch_op.drop_index(batch_op.f("ix_carpool_requests_person_id"))

    op.drop_table("carpool_requests")
    with op.batch_alter_table("carpool_trips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carpool_trips_person_id"))
        batch_op.drop_index("ix_carpool_trips_match")
        batch_op.drop_index("ix_carpool_trips_expiry")

    op.drop_table("carpool_trips")
