"""The neighbourhood feed: feed items (keyset-paged per quartier), residents' posts, replies, flags, homes.

Revision ID: d1ae2b77d117
Revises: bc93418ccf52
Create Date: 2026-12-07 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "d1ae2b77d117"
down_revision: str | None = "bc93418ccf52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_kind", sa.String(length=10), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("details", sa.String(length=500), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_feed_flags_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_flags")),
        sa.UniqueConstraint(
            "target_kind", "target_id", "person_id", name=op.f("uq_feed_flags_target_kind_target_id_person_id")
        ),
    )
    with op.batch_alter_table("feed_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_flags_person_id"), ["person_id"], unique=False)

    op.create_table(
        "feed_homes",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=False),
        sa.Column("declared_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhoods.id"],
            name=op.f("fk_feed_homes_neighbourhood_id_neighbourhoods"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_feed_homes_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_feed_homes")),
    )
    op.create_table(
        "feed_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("title_en", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.String(length=1000), nullable=False),
        sa.Column("summary_en", sa.String(length=1000), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhoods.id"],
            name=op.f("fk_feed_items_neighbourhood_id_neighbourhoods"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_items")),
    )
    with op.batch_alter_table("feed_items", schema=None) as batch_op:
        batch_op.create_index("ix_feed_items_page", ["neighbourhood_id", "occurred_at", "id"], unique=False)
        batch_op.create_index("ix_feed_items_source", ["kind", "source_id"], unique=False)

    op.create_table(
        "feed_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("starts_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("hidden_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hidden_reason", sa.String(length=300), nullable=False),
        sa.Column("reviewed_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["people.id"], name=op.f("fk_feed_posts_author_id_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhoods.id"],
            name=op.f("fk_feed_posts_neighbourhood_id_neighbourhoods"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_posts")),
    )
    with op.batch_alter_table("feed_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_posts_author_id"), ["author_id"], unique=False)
        batch_op.create_index("ix_feed_posts_events", ["neighbourhood_id", "kind", "starts_at"], unique=False)

    op.create_table(
        "feed_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("hidden_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hidden_reason", sa.String(length=300), nullable=False),
        sa.Column("reviewed_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["people.id"], name=op.f("fk_feed_replies_author_id_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["feed_posts.id"], name=op.f("fk_feed_replies_post_id_feed_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_replies")),
    )
    with op.batch_alter_table("feed_replies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_replies_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feed_replies_post_id"), ["post_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feed_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_replies_post_id"))
        batch_op.drop_index(batch_op.f("ix_feed_replies_author_id"))

    op.drop_table("feed_replies")
    with op.batch_alter_table("feed_posts", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_posts_events")
        batch_op.drop_index(batch_op.f("ix_feed_posts_author_id"))

    op.drop_table("feed_posts")
    with op.batch_alter_table("feed_items", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_items_source")
        batch_op.drop_index("ix_feed_items_page")

    op.drop_table("feed_items")
    op.drop_table("feed_homes")
    with op.batch_alter_table("feed_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_flags_person_id"))

    op.drop_table("feed_flags")
