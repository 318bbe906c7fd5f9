"""server-side sessions

Each signed-in browser gets a row in login_sessions (keyed by a SHA-256 of the random id its cookie
carries), so logout, "log out everywhere", a role change and a suspension end sessions at once; a signed
cookie alone no longer opens an account, so everyone logs in again after this upgrade. email_links holds
the one-time links mailed to confirm a sign-up or to log in while an account's password is suspended.

Revision ID: 2b7c9e41d0a3
Revises: e7b2f4a9c613
Create Date: 2026-12-06 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "2b7c9e41d0a3"
down_revision: str | None = "e7b2f4a9c613"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=80), nullable=False),
        sa.Column("ended_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index(op.f("ix_login_sessions_person_id"), "login_sessions", ["person_id"], unique=False)
    op.create_table(
        "email_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("display_name", sa.String(length=80), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("expires_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(op.f("ix_email_links_email"), "email_links", ["email"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_email_links_email"), table_name="email_links")
    op.drop_table("email_links")
    op.drop_index(op.f("ix_login_sessions_person_id"), table_name="login_sessions")
    op.drop_table("login_sessions")
