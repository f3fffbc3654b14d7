"""Initial schema: chat users, purchase claims, watches, auction state, outbox and small bot state.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Written out with plain SQLAlchemy types rather than importing storage.models, so this revision keeps
describing the schema as it was even after the models move on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only auto-numbers a column declared exactly INTEGER PRIMARY KEY.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", ID, primary_key=True, nullable=False)


def _chat_user_fk(*, nullable: bool = False) -> sa.Column:
    return sa.Column(
        "chat_user_id",
        sa.BigInteger(),
        sa.ForeignKey("chat_user.id", ondelete="SET NULL" if nullable else "CASCADE"),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "chat_user",
        _id(),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("platform_user_id", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("auctionity_user_id", sa.String(64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("platform", "platform_user_id", name="uq_chat_user_platform_user"),
    )

    op.create_table(
        "auctionity_session",
        _id(),
        _chat_user_fk(),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("token_encrypted", sa.Text(), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("chat_user_id", name="uq_auctionity_session_chat_user"),
    )

    op.create_table(
        "purchase_claim",
        _id(),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("code_encrypted", sa.Text(), nullable=False),
        _chat_user_fk(),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("license", sa.String(100), nullable=False),
        sa.Column("supported_until", TIMESTAMP, nullable=True),
        sa.Column("verified_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.UniqueConstraint("code_hash", "slot", name="uq_purchase_claim_code_slot"),
        sa.UniqueConstraint("code_hash", "chat_user_id", name="uq_purchase_claim_code_user"),
    )
    op.create_index("ix_purchase_claim_chat_user_id", "purchase_claim", ["chat_user_id"])
    op.create_index("ix_purchase_claim_item_id", "purchase_claim", ["item_id"])

    op.create_table(
        "verify_attempt",
        _id(),
        _chat_user_fk(),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_verify_attempt_chat_user_id", "verify_attempt", ["chat_user_id"])
    op.create_index("ix_verify_attempt_at", "verify_attempt", ["at"])

    op.create_table(
        "access_grant",
        _id(),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("place_id", sa.String(64), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("platform", "place_id", "item_id", name="uq_access_grant_place_item"),
    )
    op.create_index("ix_access_grant_item_id", "access_grant", ["item_id"])

    op.create_table(
        "watch",
        _id(),
        _chat_user_fk(),
        sa.Column("auction_id", sa.String(66), nullable=False),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("remind_minutes", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("chat_user_id", "auction_id", name="uq_watch_user_auction"),
    )
    op.create_index("ix_watch_chat_user_id", "watch", ["chat_user_id"])
    op.create_index("ix_watch_auction_id", "watch", ["auction_id"])
    op.create_index("ix_watch_active", "watch", ["active"])

    op.create_table(
        "auction_state",
        sa.Column("auction_id", sa.String(66), primary_key=True, nullable=False),
        sa.Column("last_bid_id", sa.String(66), nullable=True),
        sa.Column("bid_count", sa.Integer(), nullable=False),
        sa.Column("top_bidder", sa.String(64), nullable=True),
        sa.Column("top_amount", sa.BigInteger(), nullable=True),
        sa.Column("end_date", TIMESTAMP, nullable=True),
        sa.Column("next_poll_at", TIMESTAMP, nullable=True),
        sa.Column("ended", sa.Boolean(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_auction_state_next_poll_at", "auction_state", ["next_poll_at"])

    op.create_table(
        "notification",
        _id(),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        _chat_user_fk(nullable=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("gave_up", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("dedupe_key", name="uq_notification_dedupe_key"),
    )
    op.create_index("ix_notification_chat_user_id", "notification", ["chat_user_id"])
    op.create_index("ix_notification_next_attempt_at", "notification", ["next_attempt_at"])
    op.create_index("ix_notification_sent_at", "notification", ["sent_at"])

    op.create_table(
        "button_token",
        sa.Column("token", sa.String(16), primary_key=True, nullable=False),
        sa.Column("command", sa.String(500), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("command", name="uq_button_token_command"),
    )

    op.create_table(
        "key_value",
        sa.Column("key", sa.String(100), primary_key=True, nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    # Children before chat_user, which they reference; indexes go with their tables.
    for table in (
        "key_value",
        "button_token",
        "notification",
        "auction_state",
        "watch",
        "access_grant",
        "verify_attempt",
        "purchase_claim",
        "auctionity_session",
        "chat_user",
    ):
        op.drop_table(table)
