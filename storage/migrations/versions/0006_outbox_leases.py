"""Outbox leases: a dispatcher takes due rows for a while, so two processes never send one row twice.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification") as table:
        table.add_column(sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True))
        table.create_index("ix_notification_leased_until", ["leased_until"])


def downgrade() -> None:
    with op.batch_alter_table("notification") as table:
        table.drop_index("ix_notification_leased_until")
        table.drop_column("leased_until")
