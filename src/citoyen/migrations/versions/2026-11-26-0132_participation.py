"""participation

Revision ID: 407fa4220a82
Revises: 3902159cb4ac
Create Date: 2026-11-26 01:32:44.242499
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "407fa4220a82"
down_revision: str | None = "3902159cb4ac"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "participation_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation_images")),
    )
    op.create_table(
        "participation_processes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.Column("whole_city", sa.Boolean(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("edit_window_minutes", sa.Integer(), nullable=False),
        sa.Column("support_threshold", sa.Integer(), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["participation_images.id"],
            name=op.f("fk_participation_processes_image_id_participation_images"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation_processes")),
        sa.UniqueConstraint("slug", name=op.f("uq_participation_processes_slug")),
    )
    op.create_table(
        "participation_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["participation_processes.id"],
            name=op.f("fk_participation_categories_process_id_participation_processes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation_categories")),
        sa.UniqueConstraint("process_id", "name", name=op.f("uq_participation_categories_process_id_name")),
    )
    op.create_table(
        "participation_phases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "information",
                "proposals",
                "debate",
                "voting",
                "implementation",
                name="phasekind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("starts_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("allows_proposals", sa.Boolean(), nullable=False),
        sa.Column("allows_comments", sa.Boolean(), nullable=False),
        sa.Column("allows_supports", sa.Boolean(), nullable=False),
        sa.Column("allows_votes", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["participation_processes.id"],
            name=op.f("fk_participation_phases_process_id_participation_processes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation_phases")),
    )
    with op.batch_alter_table("participation_phases", schema=None) as batch_op:
        batch_op.create_index("ix_participation_phases_process_position", ["process_id", "position"], unique=False)

    op.create_table(
        "participation_process_neighbourhoods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhoods.id"],
            name=op.f("fk_participation_process_neighbourhoods_neighbourhood_id_neighbourhoods"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["participation_processes.id"],
            name=op.f("fk_participation_process_neighbourhoods_process_id_participation_processes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation_process_neighbourhoods")),
        sa.UniqueConstraint(
            "process_id",
            "neighbourhood_id",
            name=op.f("uq_participation_process_neighbourhoods_process_id_neighbourhood_id"),
        ),
    )
    with op.batch_alter_table("participation_process_neighbourhoods", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participation_process_neighbourhoods_neighbourhood_id"), ["neighbourhood_id"], unique=False
        )

    op.create_table(
        "participation_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=True),
        sa.Column("h3_r6", sa.String(length=16), nullable=True),
        sa.Column("h3_r8", sa.String(length=16), nullable=True),
        sa.Column("h3_r10", sa.String(length=16), nullable=True),
        sa.Column("image_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "published",
                "evaluating",
                "accepted",
                "rejected",
                "in_progress",
                "done",
                name="proposalstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("answer_required", sa.Boolean(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=True),
        sa.Column("support_count", sa.Integer(), nullable=False),
        sa.Column("comment_count", sa.Integer(), nullable=False),
        sa.Column("withdrawn_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hidden_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["people.id"], name=op.f("fk_participation_proposals_author_id_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["participation_categories.id"],
            name=op.f("fk_participation_proposals_category_id_participation_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["participation_images.id"],
            name=op.f("fk_participation_proposals_image_id_participation_images"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhoods.id"],
            name=op.f("fk_participation_proposals_neighbourhood_id_neighbourhoods"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["participation_processes.id"],
            name=op.f("fk_participation_proposals_process_id_participation_processes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation_proposals")),
    )
    with op.batch_alter_table("participation_proposals", schema=None) as batch_op:
        batch_op.create_index("ix_participation_proposals_answer_required", ["answer_required"], unique=False)
        batch_op.create_index(batch_op.f("ix_participation_proposals_author_id"), ["author_id"], unique=False)
        batch_op.create_index("ix_participation_proposals_lon_lat", ["lon", "lat"], unique=False)
        batch_op.create_index(
            "ix_participation_proposals_process_comments", ["process_id", "comment_count"], unique=False
        )
        batch_op.create_index("ix_participation_proposals_process_created", ["process_id", "created_at"], unique=False)
        batch_op.create_index("ix_participation_proposals_process_h3_r6", ["process_id", "h3_r6"], unique=False)
        batch_op.create_index("ix_participation_proposals_process_h3_r8", ["process_id", "h3_r8"], unique=False)
        batch_op.create_index(
            "ix_participation_proposals_process_neighbourhood", ["process_id", "neighbourhood_id"], unique=False
        )
        batch_op.create_index("ix_participation_proposals_process_status", ["process_id", "status"], unique=False)
        batch_op.create_index(
            "ix_participation_proposals_process_supports", ["process_id", "support_count"], unique=False
        )

    op.create_table(
        "participation_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "published",
                "evaluating",
                "accepted",
                "rejected",
                "in_progress",
                "done",
                name="proposalstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["people.id"],
            name=op.f("fk_participation_answers_answered_by_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["participation_proposals.id"],
            name=op.f("fk_participation_answers_proposal_id_participation_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation_answers")),
    )
    with op.batch_alter_table("participation_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participation_answers_proposal_id"), ["proposal_id"], unique=False)

    op.create_table(
        "participation_follows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_participation_follows_person_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["participation_proposals.id"],
            name=op.f("fk_participation_follows_proposal_id_participation_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation_follows")),
        sa.UniqueConstraint("proposal_id", "person_id", name=op.f("uq_participation_follows_proposal_id_person_id")),
    )
    with op.batch_alter_table("participation_follows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participation_follows_person_id"), ["person_id"], unique=False)

    op.create_table(
        "participation_milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("happened_on", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["people.id"],
            name=op.f("fk_participation_milestones_created_by_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["participation_proposals.id"],
            name=op.f("fk_participation_milestones_proposal_id_participation_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation_milestones")),
    )
    with op.batch_alter_table("participation_milestones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participation_milestones_proposal_id"), ["proposal_id"], unique=False)

    op.create_table(
        "participation_supports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_participation_supports_person_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["participation_proposals.id"],
            name=op.f("fk_participation_supports_proposal_id_participation_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation_supports")),
        sa.UniqueConstraint("proposal_id", "person_id", name=op.f("uq_participation_supports_proposal_id_person_id")),
    )
    with op.batch_alter_table("participation_supports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participation_supports_person_id"), ["person_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("participation_supports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participation_supports_person_id"))

    op.drop_table("participation_supports")
    with op.batch_alter_table("participation_milestones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participation_milestones_proposal_id"))

    op.drop_table("participation_milestones")
    with op.batch_alter_table("participation_follows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participation_follows_person_id"))

    op.drop_table("participation_follows")
    with op.batch_alter_table("participation_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participation_answers_proposal_id"))

    op.drop_table("participation_answers")
    with op.batch_alter_table("participation_proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_participation_proposals_process_supports")
        batch_op.drop_index("ix_participation_proposals_process_status")
        batch_op.drop_index("ix_participation_proposals_process_neighbourhood")
        batch_op.drop_index("ix_participation_proposals_process_h3_r8")
        batch_op.drop_index("ix_participation_proposals_process_h3_r6")
        batch_op.drop_index("ix_participation_proposals_process_created")
        batch_op.drop_index("ix_participation_proposals_process_comments")
        batch_op.drop_index("ix_participation_proposals_lon_lat")
        batch_op.drop_index(batch_op.f("ix_participation_proposals_author_id"))
        batch_op.drop_index("ix_participation_proposals_answer_required")

    op.drop_table("participation_proposals")
    with op.batch_alter_table("participation_process_neighbourhoods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participation_process_neighbourhoods_neighbourhood_id"))

    op.drop_table("participation_process_neighbourhoods")
    with op.batch_alter_table("participation_phases", schema=None) as batch_op:
        batch_op.drop_index("ix_participation_phases_process_position")

    op.drop_table("participation_phases")
    op.drop_table("participation_categories")
    op.drop_table("participation_processes")
    op.drop_table("participation_images")
