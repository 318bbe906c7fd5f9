"""Urban projects (CityZenMap): projects, their neighbourhoods, phases, documents, updates, questions,
feedback (with flags) and follows.

Revision ID: bc93418ccf52
Revises: 3c1d9a7e5f20
Create Date: 2026-12-07 15:12:38.536604
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "bc93418ccf52"
down_revision: str | None = "3c1d9a7e5f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.Column("phase", sa.String(length=20), nullable=False),
        sa.Column("theme", sa.String(length=20), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("budget_cents", sa.BigInteger(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("process_id", sa.Integer(), nullable=True),
        sa.Column("proposal_ids", sa.JSON(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_projects_department_id_departments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index("ix_projects_box", ["min_lon", "max_lon", "min_lat", "max_lat"], unique=False)
        batch_op.create_index("ix_projects_phase", ["phase"], unique=False)
        batch_op.create_index("ix_projects_theme", ["theme"], unique=False)

    op.create_table(
        "project_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_documents_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_documents")),
    )
    with op.batch_alter_table("project_documents", schema=None) as batch_op:
        batch_op.create_index("ix_project_documents_project", ["project_id"], unique=False)

    op.create_table(
        "project_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("body", sa.String(length=500), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("flag_count", sa.Integer(), nullable=False),
        sa.Column("hidden_reason", sa.String(length=300), nullable=False),
        sa.Column("hidden_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hidden_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["people.id"], name=op.f("fk_project_feedback_author_id_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["hidden_by_id"], ["people.id"], name=op.f("fk_project_feedback_hidden_by_id_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_feedback_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_feedback")),
    )
    with op.batch_alter_table("project_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_feedback_author_id"), ["author_id"], unique=False)
        batch_op.create_index("ix_project_feedback_project", ["project_id", "created_at"], unique=False)

    op.create_table(
        "project_follows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_project_follows_person_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_follows_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_follows")),
        sa.UniqueConstraint("project_id", "person_id", name=op.f("uq_project_follows_project_id_person_id")),
    )
    with op.batch_alter_table("project_follows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_follows_person_id"), ["person_id"], unique=False)

    op.create_table(
        "project_neighbourhoods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhoods.id"],
            name=op.f("fk_project_neighbourhoods_neighbourhood_id_neighbourhoods"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_neighbourhoods_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_neighbourhoods")),
        sa.UniqueConstraint(
            "project_id", "neighbourhood_id", name=op.f("uq_project_neighbourhoods_project_id_neighbourhood_id")
        ),
    )
    with op.batch_alter_table("project_neighbourhoods", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_neighbourhoods_neighbourhood_id"), ["neighbourhood_id"], unique=False
        )

    op.create_table(
        "project_phases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_phases_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_phases")),
    )
    with op.batch_alter_table("project_phases", schema=None) as batch_op:
        batch_op.create_index("ix_project_phases_project", ["project_id", "position"], unique=False)

    op.create_table(
        "project_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["people.id"],
            name=op.f("fk_project_questions_answered_by_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["people.id"], name=op.f("fk_project_questions_author_id_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_questions_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_questions")),
    )
    with op.batch_alter_table("project_questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_questions_author_id"), ["author_id"], unique=False)
        batch_op.create_index("ix_project_questions_project", ["project_id", "created_at"], unique=False)

    op.create_table(
        "project_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["people.id"], name=op.f("fk_project_updates_author_id_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_updates_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_updates")),
    )
    with op.batch_alter_table("project_updates", schema=None) as batch_op:
        batch_op.create_index("ix_project_updates_project", ["project_id", "created_at"], unique=False)

    op.create_table(
        "project_feedback_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["project_feedback.id"],
            name=op.f("fk_project_feedback_flags_feedback_id_project_feedback"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_project_feedback_flags_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_feedback_flags")),
        sa.UniqueConstraint("feedback_id", "person_id", name=op.f("uq_project_feedback_flags_feedback_id_person_id")),
    )
    with op.batch_alter_table("project_feedback_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_feedback_flags_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("project_feedback_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_feedback_flags_person_id"))

    op.drop_table("project_feedback_flags")
    with op.batch_alter_table("project_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_project_updates_project")

    op.drop_table("project_updates")
    with op.batch_alter_table("project_questions", schema=None) as batch_op:
        batch_op.drop_index("ix_project_questions_project")
        batch_op.drop_index(batch_op.f("ix_project_questions_author_id"))

    op.drop_table("project_questions")
    with op.batch_alter_table("project_phases", schema=None) as batch_op:
        batch_op.drop_index("ix_project_phases_project")

    op.drop_table("project_phases")
    with op.batch_alter_table("project_neighbourhoods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_neighbourhoods_neighbourhood_id"))

    op.drop_table("project_neighbourhoods")
    with op.batch_alter_table("project_follows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_follows_person_id"))

    op.drop_table("project_follows")
    with op.batch_alter_table("project_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_project_feedback_project")
        batch_op.drop_index(batch_op.f("ix_project_feedback_author_id"))

    op.drop_table("project_feedback")
    with op.batch_alter_table("project_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_project_documents_project")

    op.drop_table("project_documents")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index("ix_projects_theme")
        batch_op.drop_index("ix_projects_phase")
        batch_op.drop_index("ix_projects_box")

    op.drop_table("projects")
