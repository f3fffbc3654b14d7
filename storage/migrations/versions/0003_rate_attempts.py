"""Rate-limit attempts, reserved before the upstream call they guard.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Verification failures were counted after the call to CryptoGig, so forty concurrent tries all got
through a limit of five; logins and reset emails had no limit at all.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rate_attempt",
        sa.Column("id", ID, primary_key=True, nullable=False),
        sa.Column("bucket", sa.String(120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
    )
    op.create_index("ix_rate_attempt_at", "rate_attempt", ["at"])
    op.create_index("ix_rate_attempt_bucket_at", "rate_attempt", ["bucket", "at"])


def downgrade() -> None:
    op.drop_table("rate_attempt")
