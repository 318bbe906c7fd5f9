"""sensing idempotency keys

Revision ID: 3c8d0f52e1b4
Revises: 2b7c9e41d0a3
Create Date: 2026-12-06 23:31:00
"""

from collections.abc import Sequence

revision: str = "3c8d0f52e1b4"
down_revision: str | None = "2b7c9e41d0a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
