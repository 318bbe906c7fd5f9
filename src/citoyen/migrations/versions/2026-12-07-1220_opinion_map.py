"""the opinion map: conversations inside a process, their statements, participants and votes, and the computed map

Participants are pseudonymous numbers inside their conversation (`pid`, as in Pol.is exports); a statement's `tid`
is its number there (Pol.is's comment id, kept from an import). The map is the stored result of the last
recomputation, read as it is by the public page.

Revision ID: 80e29769ad46
Revises: 5b8e2c41d7a9
Create Date: 2026-12-07 12:20:12.739818
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "80e29769ad46"
down_revision: str | None = "5b8e2c41d7a9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "opinion_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("phase_id", sa.Integer(), nullable=True),
        sa.Column("question", sa.String(length=500), nullable=False),
        sa.Column("question_en", sa.String(length=500), nullable=False),
        sa.Column("participants_write", sa.Boolean(), nullable=False),
        sa.Column("moderate_before", sa.Boolean(), nullable=False),
        sa.Column("verified_only", sa.Boolean(), nullable=False),
        sa.Column("anonymous_allowed", sa.Boolean(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["participation_phases.id"],
            name=op.f("fk_opinion_conversations_phase_id_participation_phases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["participation_processes.id"],
            name=op.f("fk_opinion_conversations_process_id_participation_processes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opinion_conversations")),
    )
    with op.batch_alter_table("opinion_conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opinion_conversations_process_id"), ["process_id"], unique=False)

    op.create_table(
        "opinion_maps",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("computed_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("vote_count", sa.Integer(), nullable=False),
        sa.Column("last_vote_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("participant_count", sa.Integer(), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("consensus", sa.JSON(), nullable=False),
        sa.Column("divisive", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["opinion_conversations.id"],
            name=op.f("fk_opinion_maps_conversation_id_opinion_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_opinion_maps")),
    )
    op.create_table(
        "opinion_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("anonymous_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["opinion_conversations.id"],
            name=op.f("fk_opinion_participants_conversation_id_opinion_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_opinion_participants_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opinion_participants")),
        sa.UniqueConstraint(
            "conversation_id", "anonymous_key", name=op.f("uq_opinion_participants_conversation_id_anonymous_key")
        ),
        sa.UniqueConstraint(
            "conversation_id", "person_id", name=op.f("uq_opinion_participants_conversation_id_person_id")
        ),
        sa.UniqueConstraint("conversation_id", "pid", name=op.f("uq_opinion_participants_conversation_id_pid")),
    )
    with op.batch_alter_table("opinion_participants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opinion_participants_person_id"), ["person_id"], unique=False)

    op.create_table(
        "opinion_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("tid", sa.Integer(), nullable=False),
        sa.Column("body", sa.String(length=280), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("is_seed", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("moderation_reason", sa.String(length=300), nullable=False),
        sa.Column("moderated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["opinion_participants.id"],
            name=op.f("fk_opinion_statements_author_id_opinion_participants"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["opinion_conversations.id"],
            name=op.f("fk_opinion_statements_conversation_id_opinion_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["moderated_by_id"],
            ["people.id"],
            name=op.f("fk_opinion_statements_moderated_by_id_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opinion_statements")),
        sa.UniqueConstraint("conversation_id", "tid", name=op.f("uq_opinion_statements_conversation_id_tid")),
    )
    with op.batch_alter_table("opinion_statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opinion_statements_author_id"), ["author_id"], unique=False)

    op.create_table(
        "opinion_votes",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.SmallInteger(), nullable=False),
        sa.Column("modified_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["opinion_conversations.id"],
            name=op.f("fk_opinion_votes_conversation_id_opinion_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["opinion_participants.id"],
            name=op.f("fk_opinion_votes_participant_id_opinion_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["opinion_statements.id"],
            name=op.f("fk_opinion_votes_statement_id_opinion_statements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("participant_id", "statement_id", name=op.f("pk_opinion_votes")),
    )
    with op.batch_alter_table("opinion_votes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_opinion_votes_conversation_modified", ["conversation_id", "modified_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_opinion_votes_statement_id"), ["statement_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("opinion_votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opinion_votes_statement_id"))
        batch_op.drop_index("ix_opinion_votes_conversation_modified")

    op.drop_table("opinion_votes")
    with op.batch_alter_table("opinion_statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opinion_statements_author_id"))

    op.drop_table("opinion_statements")
    with op.batch_alter_table("opinion_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opinion_participants_person_id"))

    op.drop_table("opinion_participants")
    op.drop_table("opinion_maps")
    with op.batch_alter_table("opinion_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opinion_conversations_process_id"))

    op.drop_table("opinion_conversations")
