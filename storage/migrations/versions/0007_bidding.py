"""Bidding for users and live cards: auto-bids with their intents, confirmed bid offers, posted auction cards.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def _chat_user() -> sa.Column:
    return sa.Column("chat_user_id", sa.BigInteger(), sa.ForeignKey("chat_user.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "auto_bid",
        sa.Column("id", ID, primary_key=True, nullable=False),
        _chat_user(),
        sa.Column("auction_id", sa.String(66), nullable=False),
        sa.Column("max_amount", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("stop_reason", sa.String(40), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("chat_user_id", "auction_id", name="uq_auto_bid_user_auction"),
    )
    op.create_index("ix_auto_bid_chat_user_id", "auto_bid", ["chat_user_id"])
    op.create_index("ix_auto_bid_auction_active", "auto_bid", ["auction_id", "active"])
    op.create_table(
        "auto_bid_intent",
        sa.Column("id", ID, primary_key=True, nullable=False),
        sa.Column("auto_bid_id", sa.BigInteger(), sa.ForeignKey("auto_bid.id", ondelete="CASCADE"), nullable=False),
        sa.Column("trigger_bid_id", sa.String(66), nullable=False),
        sa.Column("trigger_amount", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("leased_until", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("done_at", TIMESTAMP, nullable=True),
        sa.UniqueConstraint("auto_bid_id", "trigger_bid_id", name="uq_auto_bid_intent_trigger"),
    )
    op.create_index("ix_auto_bid_intent_auto_bid_id", "auto_bid_intent", ["auto_bid_id"])
    op.create_index("ix_auto_bid_intent_state", "auto_bid_intent", ["state"])
    op.create_table(
        "bid_offer",
        sa.Column("token", sa.String(24), primary_key=True, nullable=False),
        _chat_user(),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("auction_id", sa.String(66), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=True),
    )
    op.create_index("ix_bid_offer_expires_at", "bid_offer", ["expires_at"])
    op.create_table(
        "live_card",
        sa.Column("id", ID, primary_key=True, nullable=False),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=True),
        sa.Column("auction_id", sa.String(66), nullable=False),
        sa.Column("shown", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("edited_at", TIMESTAMP, nullable=True),
        sa.UniqueConstraint("platform", "chat_id", "auction_id", name="uq_live_card_place_auction"),
    )
    op.create_index("ix_live_card_auction_active", "live_card", ["auction_id", "active"])


def downgrade() -> None:
    op.drop_table("live_card")
    op.drop_table("bid_offer")
    op.drop_table("auto_bid_intent")
    op.drop_table("auto_bid")
