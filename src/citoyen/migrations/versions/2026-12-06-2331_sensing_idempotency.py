"""sensing idempotency keys

The answers to SensorThings POSTs sent with an `Idempotency-Key` header, per API token, kept until they
expire: a client that retries a request whose answer it never received (the server crashed after
committing) gets the same answer back instead of storing the Observations twice.

Revision ID: 3c8d0f52e1b4
Revises: 2b7c9e41d0a3
Create Date: 2026-12-06 23:31:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "3c8d0f52e1b4"
down_revision: str | None = "2b7c9e41d0a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "sta_idempotent_answers"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("expires_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_sta_idempotent_answers_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_idempotent_answers")),
        sa.UniqueConstraint("token_id", "key", name=op.f("uq_sta_idempotent_answers_token_id_key")),
    )
    op.create_index(op.f("ix_sta_idempotent_answers_expires_at"), TABLE, ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sta_idempotent_answers_expires_at"), table_name=TABLE)
    op.drop_table(TABLE)
