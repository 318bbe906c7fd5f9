"""budget amounts in 64-bit cents

A participatory budget's total and a project's cost were 32-bit cents on PostgreSQL: at most
21,474,836.47 euros, less than a large city's participatory budget (Paris: about 75 million euros a year).
They become BIGINT, as the service's own bound (100 billion euros) assumed. SQLite's integers are already
64-bit; its batch mode rebuilds the tables only to record the new type.

Revision ID: 4d9e1a63f2c5
Revises: 3c8d0f52e1b4
Create Date: 2026-12-06 23:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4d9e1a63f2c5"
down_revision: str | None = "3c8d0f52e1b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AMOUNTS = {"participation_budgets": "total_cents", "participation_budget_projects": "cost_cents"}


def upgrade() -> None:
    for table, column in AMOUNTS.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    for table, column in AMOUNTS.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
