"""Auctions seen through the bot (what /auctions lists), started from the auctions the poller already knows.

Revision ID: 0011_seen_auctions
Revises: 0010_private
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_seen_auctions"
down_revision: str | None = "0010_private"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "seen_auction",
        sa.Column("auction_id", sa.String(66), primary_key=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("start_date", TIMESTAMP, nullable=True),
        sa.Column("end_date", TIMESTAMP, nullable=True),
        sa.Column("seen_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_seen_auction_end_date", "seen_auction", ["end_date"])
    # Every auction the poller has seen is one the bot knows: listed from the start, named at its next look.
    op.execute(
        "INSERT INTO seen_auction (auction_id, end_date, seen_at) "
        "SELECT auction_id, end_date, updated_at FROM auction_state WHERE end_date IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_seen_auction_end_date", table_name="seen_auction")
    op.drop_table("seen_auction")
