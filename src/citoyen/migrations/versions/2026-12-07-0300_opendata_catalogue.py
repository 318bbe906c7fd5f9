"""the open-data catalogue

Publishers, themes (the 13 EU data themes seeded as groups), datasets with tags, resources and their file
versions, the privacy ledger. Full-text search over datasets: on PostgreSQL a generated column `search_vector`
(French and English tsvectors of `search_title` and `search_body`) with a GIN index; on SQLite an FTS5 table
(porter, diacritics removed) kept in step by triggers. Neither is a model: `citoyen.migrations` lists them as
unmodelled.

Revision ID: 6f3a0c95b2d7
Revises: 5e2f7b84a1d6
Create Date: 2026-12-07 03:00:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import citoyen.db

THEMES = {
    "AGRI": ("Agriculture, pêche, sylviculture et alimentation", "Agriculture, fisheries, forestry and food"),
    "ECON": ("Économie et finances", "Economy and finance"),
    "EDUC": ("Éducation, culture et sport", "Education, culture and sport"),
    "ENER": ("Énergie", "Energy"),
    "ENVI": ("Environnement", "Environment"),
    "GOVE": ("Gouvernement et secteur public", "Government and public sector"),
    "HEAL": ("Santé", "Health"),
    "INTR": ("Questions internationales", "International issues"),
    "JUST": ("Justice, système juridique et sécurité publique", "Justice, legal system and public safety"),
    "REGI": ("Régions et villes", "Regions and cities"),
    "SOCI": ("Population et société", "Population and society"),
    "TECH": ("Science et technologie", "Science and technology"),
    "TRAN": ("Transports", "Transport"),
}
THEME_BASE = "http://publications.europa.eu/resource/authority/data-theme/"
# What PostgreSQL's full-text search reads (the stored column search_vector, which no model describes).
POSTGRES_VECTOR = (
    "(setweight(to_tsvector('french'::regconfig, search_title), 'A') || "
    "setweight(to_tsvector('english'::regconfig, search_title), 'A') || "
    "setweight(to_tsvector('french'::regconfig, search_body), 'B') || "
    "setweight(to_tsvector('english'::regconfig, search_body), 'B'))"
)

revision: str = "6f3a0c95b2d7"
down_revision: str | None = "5e2f7b84a1d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "opendata_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.Column("theme_uri", sa.String(length=200), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_opendata_groups_name")),
        sa.UniqueConstraint("uuid", name=op.f("uq_opendata_groups_uuid")),
    )
    op.create_table(
        "opendata_organizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.Column("department_code", sa.String(length=40), nullable=True),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_organizations")),
        sa.UniqueConstraint("name", name=op.f("uq_opendata_organizations_name")),
        sa.UniqueConstraint("uuid", name=op.f("uq_opendata_organizations_uuid")),
    )
    op.create_table(
        "opendata_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_opendata_tags_name")),
    )
    op.create_table(
        "opendata_datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("title_en", sa.String(length=300), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("notes_en", sa.Text(), nullable=False),
        sa.Column("license_id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column(
            "state", sa.Enum("active", "deleted", name="datasetstate", native_enum=False, length=10), nullable=False
        ),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("temporal_start", sa.Date(), nullable=True),
        sa.Column("temporal_end", sa.Date(), nullable=True),
        sa.Column("spatial", sa.Text(), nullable=False),
        sa.Column("frequency", sa.String(length=20), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=True),
        sa.Column("refreshed_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.Column("change_note_en", sa.Text(), nullable=False),
        sa.Column("search_title", sa.Text(), nullable=False),
        sa.Column("search_body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["opendata_organizations.id"],
            name=op.f("fk_opendata_datasets_organization_id_opendata_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_datasets")),
        sa.UniqueConstraint("name", name=op.f("uq_opendata_datasets_name")),
        sa.UniqueConstraint("uuid", name=op.f("uq_opendata_datasets_uuid")),
    )
    with op.batch_alter_table("opendata_datasets", schema=None) as batch_op:
        batch_op.create_index("ix_opendata_datasets_license_id", ["license_id"], unique=False)
        batch_op.create_index("ix_opendata_datasets_listing", ["state", "private", "modified_at", "id"], unique=False)
        batch_op.create_index("ix_opendata_datasets_organization_id", ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_opendata_datasets_source"), ["source"], unique=False)

    op.create_table(
        "opendata_dataset_groups",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["opendata_datasets.id"],
            name=op.f("fk_opendata_dataset_groups_dataset_id_opendata_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["opendata_groups.id"],
            name=op.f("fk_opendata_dataset_groups_group_id_opendata_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", "group_id", name=op.f("pk_opendata_dataset_groups")),
    )
    with op.batch_alter_table("opendata_dataset_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opendata_dataset_groups_group_id"), ["group_id"], unique=False)

    op.create_table(
        "opendata_dataset_tags",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["opendata_datasets.id"],
            name=op.f("fk_opendata_dataset_tags_dataset_id_opendata_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["opendata_tags.id"],
            name=op.f("fk_opendata_dataset_tags_tag_id_opendata_tags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", "tag_id", name=op.f("pk_opendata_dataset_tags")),
    )
    with op.batch_alter_table("opendata_dataset_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opendata_dataset_tags_tag_id"), ["tag_id"], unique=False)

    op.create_table(
        "opendata_resources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("mimetype", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=True),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["opendata_datasets.id"],
            name=op.f("fk_opendata_resources_dataset_id_opendata_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_resources")),
        sa.UniqueConstraint("uuid", name=op.f("uq_opendata_resources_uuid")),
    )
    with op.batch_alter_table("opendata_resources", schema=None) as batch_op:
        batch_op.create_index("ix_opendata_resources_dataset_format", ["dataset_id", "format"], unique=False)

    op.create_table(
        "opendata_privacy_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("released_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period", sa.String(length=40), nullable=False),
        sa.Column(
            "mechanism",
            sa.Enum(
                "laplace", "discrete_gaussian", "min_cell_size", name="privacymechanism", native_enum=False, length=30
            ),
            nullable=False,
        ),
        sa.Column("epsilon", sa.Float(), nullable=True),
        sa.Column("k", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["opendata_datasets.id"],
            name=op.f("fk_opendata_privacy_releases_dataset_id_opendata_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["opendata_resources.id"],
            name=op.f("fk_opendata_privacy_releases_resource_id_opendata_resources"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_privacy_releases")),
    )
    with op.batch_alter_table("opendata_privacy_releases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opendata_privacy_releases_dataset_id"), ["dataset_id"], unique=False)

    op.create_table(
        "opendata_resource_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("mimetype", sa.String(length=100), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("table_schema", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["opendata_resources.id"],
            name=op.f("fk_opendata_resource_versions_resource_id_opendata_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_resource_versions")),
        sa.UniqueConstraint("resource_id", "number", name=op.f("uq_opendata_resource_versions_resource_id_number")),
    )
    with op.batch_alter_table("opendata_resource_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opendata_resource_versions_sha256"), ["sha256"], unique=False)

    groups = sa.table(
        "opendata_groups",
        sa.column("uuid", sa.String),
        sa.column("name", sa.String),
        sa.column("title", sa.String),
        sa.column("title_en", sa.String),
        sa.column("description", sa.Text),
        sa.column("description_en", sa.Text),
        sa.column("theme_uri", sa.String),
        sa.column("created_at", citoyen.db.UTCDateTime),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        groups,
        [
            {
                "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, THEME_BASE + code)),
                "name": code.lower(),
                "title": french,
                "title_en": english,
                "description": "",
                "description_en": "",
                "theme_uri": THEME_BASE + code,
                "created_at": now,
            }
            for code, (french, english) in THEMES.items()
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        # Stored, so that ranking reads the vector instead of building it again for every match.
        op.execute(
            "ALTER TABLE opendata_datasets ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({POSTGRES_VECTOR}) STORED"
        )
        op.execute("CREATE INDEX ix_opendata_datasets_fts ON opendata_datasets USING gin (search_vector)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE opendata_datasets_fts USING fts5(search_title, search_body, "
            "content='opendata_datasets', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER opendata_datasets_fts_insert AFTER INSERT ON opendata_datasets BEGIN "
            "INSERT INTO opendata_datasets_fts(rowid, search_title, search_body) "
            "VALUES (new.id, new.search_title, new.search_body); END"
        )
        op.execute(
            "CREATE TRIGGER opendata_datasets_fts_delete AFTER DELETE ON opendata_datasets BEGIN "
            "INSERT INTO opendata_datasets_fts(opendata_datasets_fts, rowid, search_title, search_body) "
            "VALUES ('delete', old.id, old.search_title, old.search_body); END"
        )
        op.execute(
            "CREATE TRIGGER opendata_datasets_fts_update AFTER UPDATE OF search_title, search_body "
            "ON opendata_datasets BEGIN "
            "INSERT INTO opendata_datasets_fts(opendata_datasets_fts, rowid, search_title, search_body) "
            "VALUES ('delete', old.id, old.search_title, old.search_body); "
            "INSERT INTO opendata_datasets_fts(rowid, search_title, search_body) "
            "VALUES (new.id, new.search_title, new.search_body); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_opendata_datasets_fts")
        op.execute("ALTER TABLE opendata_datasets DROP COLUMN search_vector")
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER opendata_datasets_fts_{trigger}")
        op.execute("DROP TABLE opendata_datasets_fts")
    with op.batch_alter_table("opendata_resource_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opendata_resource_versions_sha256"))

    op.drop_table("opendata_resource_versions")
    with op.batch_alter_table("opendata_privacy_releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opendata_privacy_releases_dataset_id"))

    op.drop_table("opendata_privacy_releases")
    with op.batch_alter_table("opendata_resources", schema=None) as batch_op:
        batch_op.drop_index("ix_opendata_resources_dataset_format")

    op.drop_table("opendata_resources")
    with op.batch_alter_table("opendata_dataset_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opendata_dataset_tags_tag_id"))

    op.drop_table("opendata_dataset_tags")
    with op.batch_alter_table("opendata_dataset_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opendata_dataset_groups_group_id"))

    op.drop_table("opendata_dataset_groups")
    with op.batch_alter_table("opendata_datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opendata_datasets_source"))
        batch_op.drop_index("ix_opendata_datasets_organization_id")
        batch_op.drop_index("ix_opendata_datasets_listing")
        batch_op.drop_index("ix_opendata_datasets_license_id")

    op.drop_table("opendata_datasets")
    op.drop_table("opendata_tags")
    op.drop_table("opendata_organizations")
    op.drop_table("opendata_groups")
