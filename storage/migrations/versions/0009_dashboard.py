"""The staff dashboard: one-time sign-in links, sessions, the staff audit log and buyer imports.

Revision ID: 0009_dashboard
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_dashboard"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def _signed_in(name: str, *extra: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("token_hash", sa.String(64), primary_key=True, nullable=False),
        sa.Column("staff", sa.String(100), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        *extra,
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
    )
    op.create_index(f"ix_{name}_staff", name, ["staff"])
    op.create_index(f"ix_{name}_expires_at", name, ["expires_at"])


def upgrade() -> None:
    _signed_in("dashboard_login", sa.Column("used_at", TIMESTAMP, nullable=True))
    _signed_in("dashboard_session", sa.Column("via", sa.String(10), nullable=False))
    op.create_table(
        "staff_action",
        sa.Column("id", ID, primary_key=True, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("staff", sa.String(100), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("chat_user_id", sa.BigInteger(), sa.ForeignKey("chat_user.id", ondelete="SET NULL"), nullable=True),
    )
    op.create_index("ix_staff_action_at", "staff_action", ["at"])
    op.create_index("ix_staff_action_staff", "staff_action", ["staff"])
    op.create_index("ix_staff_action_chat_user_id", "staff_action", ["chat_user_id"])
    op.create_table(
        "dashboard_import",
        sa.Column("id", ID, primary_key=True, nullable=False),
        sa.Column("staff", sa.String(100), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.Column("report", sa.Text(), nullable=False),
    )


COUNTS = ("total", "done", "imported", "invalid", "claimed", "failed")


def downgrade() -> None:
    op.drop_table("dashboard_import")
    op.drop_table("staff_action")
    op.drop_table("dashboard_session")
    op.drop_table("dashboard_login")
