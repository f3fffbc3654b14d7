"""SQLModel tables: everything Gavel keeps between restarts."""

# No `from __future__ import annotations` here: SQLModel reads the annotations at class creation.

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.bidding_models import AutoBid, AutoBidIntent, BidOffer, LiveCard  # tables of their own module
from storage.columns import TZDateTime, chat_user_column, id_column, when_column
from storage.dashboard_models import (  # tables of their own module
    DashboardImport,
    DashboardLogin,
    DashboardSession,
    StaffAction,
)


class ChatUser(SQLModel, table=True):
    """A person on one chat platform; the same human on two platforms is two rows."""

    __tablename__ = "chat_user"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id", name="uq_chat_user_platform_user"),)

    id: int | None = id_column()
    platform: str = Field(max_length=20)
    platform_user_id: str = Field(max_length=64)
    display_name: str = Field(default="", max_length=100)
    auctionity_user_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = when_column()
    language: str | None = Field(default=None, max_length=16)  # chosen with /language; None: follow the platform
    platform_language: str | None = Field(default=None, max_length=16)  # what their platform last said they read


class AuctionitySession(SQLModel, table=True):
    """A chat user's Auctionity login: the JWT, encrypted with the SecretBox."""

    __tablename__ = "auctionity_session"
    __table_args__ = (UniqueConstraint("chat_user_id", name="uq_auctionity_session_chat_user"),)

    id: int | None = id_column()
    chat_user_id: int = chat_user_column()
    token_encrypted: str = Field(sa_type=Text)
    expires_at: datetime | None = when_column(nullable=True)
    created_at: datetime = when_column()


class PurchaseClaim(SQLModel, table=True):
    """A purchase code bound to a chat user.

    ``slot`` numbers the claims of one code (0, 1, ...): two concurrent claims compute the
    same next slot, so the unique (code_hash, slot) constraint lets exactly one of them in,
    on any database, without locking.
    """

    __tablename__ = "purchase_claim"
    __table_args__ = (
        UniqueConstraint("code_hash", "slot", name="uq_purchase_claim_code_slot"),
        UniqueConstraint("code_hash", "chat_user_id", name="uq_purchase_claim_code_user"),
    )

    id: int | None = id_column()
    code_hash: str = Field(max_length=64)
    slot: int = Field(default=0)
    code_encrypted: str = Field(sa_type=Text)
    chat_user_id: int = chat_user_column(index=True)
    item_id: int = Field(sa_type=BigInteger, index=True)
    license: str = Field(default="", max_length=100)
    supported_until: datetime | None = when_column(nullable=True)
    verified_at: datetime = when_column()
    revoked_at: datetime | None = when_column(nullable=True)
    revoke_reason: str | None = Field(default=None, max_length=40)  # refunded, revoked, unbound...
    next_check_at: datetime | None = when_column(nullable=True, index=True)  # the next re-check with CryptoGig


class VerifyAttempt(SQLModel, table=True):
    """The audit log: one /verify try, who, which item, how it went, and the code masked (never in full)."""

    __tablename__ = "verify_attempt"

    id: int | None = id_column()
    chat_user_id: int = chat_user_column(index=True)
    at: datetime = when_column(index=True)
    ok: bool = Field(default=False)
    outcome: str = Field(default="", max_length=20)  # verified, invalid, claimed, limited
    item_id: int | None = Field(default=None, sa_type=BigInteger)
    masked_code: str = Field(default="", max_length=20)


class RateAttempt(SQLModel, table=True):
    """One attempt counted against a rate limit: a verification, a login, a password-reset email."""

    __tablename__ = "rate_attempt"
    __table_args__ = (Index("ix_rate_attempt_bucket_at", "bucket", "at"),)

    id: int | None = id_column()
    bucket: str = Field(max_length=120)
    at: datetime = when_column(index=True)
    state: str = Field(max_length=10)


class AccessGrant(SQLModel, table=True):
    """What a verified purchase of an item unlocks in one place: a Discord role or a Telegram group."""

    __tablename__ = "access_grant"
    __table_args__ = (UniqueConstraint("platform", "place_id", "item_id", name="uq_access_grant_place_item"),)

    id: int | None = id_column()
    platform: str = Field(max_length=20)
    place_id: str = Field(max_length=64)
    item_id: int = Field(sa_type=BigInteger, index=True)
    target_id: str = Field(max_length=64)
    expires_with_support: bool = Field(default=False)  # access ends when the purchase's support ends
    created_by: str = Field(default="", max_length=100)
    created_at: datetime = when_column()


class StaffLog(SQLModel, table=True):
    """A chat where the seller's staff read what happens to verified buyers, as it happens."""

    __tablename__ = "staff_log"
    __table_args__ = (UniqueConstraint("platform", "chat_id", name="uq_staff_log_chat"),)

    id: int | None = id_column()
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=64)
    created_by: str = Field(default="", max_length=100)
    created_at: datetime = when_column()
    language: str | None = Field(default=None, max_length=16)  # the admin's who started it: the log speaks it


class Watch(SQLModel, table=True):
    """A chat user following an auction, and where to tell them about it."""

    __tablename__ = "watch"
    __table_args__ = (
        UniqueConstraint("chat_user_id", "auction_id", name="uq_watch_user_auction"),
        # The poller asks "active watches of these auctions": with an index on `active` alone,
        # SQLite picked it and scanned every watch (migration 0002).
        Index("ix_watch_auction_active", "auction_id", "active"),
    )

    id: int | None = id_column()
    chat_user_id: int = chat_user_column(index=True)
    auction_id: str = Field(max_length=66, index=True)
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=64)
    remind_minutes: str = Field(default="", max_length=100)
    active: bool = Field(default=True)
    created_at: datetime = when_column()

    @property
    def reminder_minutes(self) -> list[int]:
        """``remind_minutes`` parsed: minutes before the end, largest first."""
        return split_minutes(self.remind_minutes)


class AuctionState(SQLModel, table=True):
    """What the poller last saw of one auction, however many users watch it."""

    __tablename__ = "auction_state"

    auction_id: str = Field(primary_key=True, max_length=66)
    last_bid_id: str | None = Field(default=None, max_length=66)
    bid_count: int = Field(default=0)
    top_bidder: str | None = Field(default=None, max_length=64)
    top_amount: int | None = Field(default=None, sa_type=BigInteger)
    end_date: datetime | None = when_column(nullable=True)
    next_poll_at: datetime | None = when_column(nullable=True, index=True)
    ended: bool = Field(default=False)
    failures: int = Field(default=0)
    updated_at: datetime = when_column()


class SeenAuction(SQLModel, table=True):
    """An auction someone created, watched, bid on, posted or looked at through the bot: what /auctions lists.

    Auctionity has no list of its auctions, so this is what Gavel knows of. Apart from auction_state on purpose:
    that row is the poller's last view, and a row written by a mere look would read to the diff as bids seen.
    """

    __tablename__ = "seen_auction"

    auction_id: str = Field(primary_key=True, max_length=66)
    name: str | None = Field(default=None, max_length=200)
    start_date: datetime | None = when_column(nullable=True)
    end_date: datetime | None = when_column(nullable=True, index=True)
    seen_at: datetime = when_column()


class Notification(SQLModel, table=True):
    """The outbox: a message decided on, to be sent (and retried) by the dispatcher."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_notification_dedupe_key"),)

    id: int | None = id_column()
    dedupe_key: str = Field(max_length=200)
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=64)
    chat_user_id: int | None = chat_user_column(nullable=True, index=True)
    kind: str = Field(max_length=30)
    payload: str = Field(sa_type=Text)
    created_at: datetime = when_column()
    next_attempt_at: datetime = when_column(index=True)
    sent_at: datetime | None = when_column(nullable=True, index=True)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=500)
    gave_up: bool = Field(default=False)
    # Set while one dispatcher is sending the row (and its chat's other rows); past it, anyone may take them.
    leased_until: datetime | None = when_column(nullable=True, index=True)


class ButtonToken(SQLModel, table=True):
    """What a button does, kept server side under a short opaque token (all its callback data or custom id
    carries): the command line it runs, and whether its answer replaces the message it sits under. Kept while
    it is used: retention goes by ``last_used_at`` (shown again or pressed), refreshed at most daily."""

    __tablename__ = "button_token"
    __table_args__ = (UniqueConstraint("command", "edits", name="uq_button_token_command_edits"),)

    token: str = Field(primary_key=True, max_length=16)
    command: str = Field(max_length=500)
    edits: bool = Field(default=False)
    created_at: datetime = when_column()
    last_used_at: datetime = when_column(index=True)


class Conversation(SQLModel, table=True):
    """A command asking for its arguments one message at a time: what was answered so far, encrypted.

    Kept in the database so that the next message may reach any replica. A secret (a password) is always
    asked last and never stored: its answer runs the command at once.
    """

    __tablename__ = "conversation"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "user_id", name="uq_conversation_chat_user"),)

    id: int | None = id_column()
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=64)
    user_id: str = Field(max_length=64)
    command: str = Field(max_length=40)
    answers_encrypted: str = Field(sa_type=Text)
    expires_at: datetime = when_column(index=True)


class KeyValue(SQLModel, table=True):
    """Small bits of bot state, such as the hash of the last Discord command tree synced."""

    __tablename__ = "key_value"

    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(default="", sa_type=Text)


def split_minutes(text: str) -> list[int]:
    """``"10,60,x"`` -> ``[60, 10]``: the positive whole minutes, largest first, no repeats."""
    minutes = {int(part) for part in text.split(",") if part.strip().isdigit() and int(part) > 0}
    return sorted(minutes, reverse=True)


def format_minutes(minutes: Any) -> str:
    """``[10, 60]`` (or ``"10,60"``) -> ``"60,10"``: the canonical stored form."""
    text = minutes if isinstance(minutes, str) else ",".join(str(int(m)) for m in minutes)
    return ",".join(str(m) for m in split_minutes(text))


__all__ = [
    "AccessGrant",
    "AuctionState",
    "AuctionitySession",
    "AutoBid",
    "AutoBidIntent",
    "BidOffer",
    "ButtonToken",
    "ChatUser",
    "Conversation",
    "DashboardImport",
    "DashboardLogin",
    "DashboardSession",
    "KeyValue",
    "LiveCard",
    "Notification",
    "PurchaseClaim",
    "RateAttempt",
    "SeenAuction",
    "StaffAction",
    "StaffLog",
    "TZDateTime",
    "VerifyAttempt",
    "Watch",
    "format_minutes",
    "split_minutes",
]
