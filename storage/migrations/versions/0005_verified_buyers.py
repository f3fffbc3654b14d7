"""Verified buyers over time: the audit log, re-checks, access that follows the licence, staff logs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("verify_attempt") as table:
        table.add_column(sa.Column("outcome", sa.String(20), nullable=False, server_default=""))
        table.add_column(sa.Column("item_id", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("masked_code", sa.String(20), nullable=False, server_default=""))
    with op.batch_alter_table("purchase_claim") as table:
        table.add_column(sa.Column("revoke_reason", sa.String(40), nullable=True))
        table.add_column(sa.Column("next_check_at", TIMESTAMP, nullable=True))
        table.create_index("ix_purchase_claim_next_check_at", ["next_check_at"])
    with op.batch_alter_table("access_grant") as table:
        table.add_column(sa.Column("expires_with_support", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "staff_log",
        sa.Column("id", ID, primary_key=True, nullable=False),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("platform", "chat_id", name="uq_staff_log_chat"),
    )


def downgrade() -> None:
    op.drop_table("staff_log")
    with op.batch_alter_table("access_grant") as table:
        table.drop_column("expires_with_support")
    with op.batch_alter_table("purchase_claim") as table:
        table.drop_index("ix_purchase_claim_next_check_at")
        table.drop_column("next_check_at")
        table.drop_column("revoke_reason")
    with op.batch_alter_table("verify_attempt") as table:
        table.drop_column("masked_code")
        table.drop_column("item_id")
        table.drop_column("outcome")
