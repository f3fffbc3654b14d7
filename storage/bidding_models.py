"""Tables of bidding on a user's behalf and of posted auction cards (registered by ``storage.models``)."""

# No `from __future__ import annotations` here: SQLModel reads the annotations at class creation.

from datetime import datetime

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.columns import chat_user_column, id_column, when_column


class AutoBid(SQLModel, table=True):
    """A user's standing order: whenever someone else is on top of ``auction_id``, bid for them up to ``max_amount``."""

    __tablename__ = "auto_bid"
    __table_args__ = (
        UniqueConstraint("chat_user_id", "auction_id", name="uq_auto_bid_user_auction"),
        Index("ix_auto_bid_auction_active", "auction_id", "active"),
    )

    id: int | None = id_column()
    chat_user_id: int = chat_user_column(index=True)
    auction_id: str = Field(max_length=66)
    max_amount: int = Field(sa_type=BigInteger)
    platform: str = Field(max_length=20)  # where to tell them what was done
    chat_id: str = Field(max_length=64)
    active: bool = Field(default=True)
    stop_reason: str | None = Field(default=None, max_length=40)
    created_at: datetime = when_column()
    updated_at: datetime = when_column()


class AutoBidIntent(SQLModel, table=True):
    """One decision to bid, written with the poll that saw the outbidding bid; placed at most once.

    ``trigger_bid_id`` is the bid that put someone else on top: one intent per (auto-bid, trigger), so
    a repeated poll decides nothing new. ``state``: pending (decided), placing (leased until
    ``leased_until``: a process is about to bid), bidding (it re-read the maximum and is sending the bid),
    placed, superseded (someone bid higher before we did), stopped (the auto-bid ended instead). Changing
    the auto-bid deletes its pending and placing intents. A placing or bidding intent whose lease ran out is
    reconciled with the auction's history before anything is sent again: the bid may have landed before the
    process died.
    """

    __tablename__ = "auto_bid_intent"
    __table_args__ = (UniqueConstraint("auto_bid_id", "trigger_bid_id", name="uq_auto_bid_intent_trigger"),)

    id: int | None = id_column()
    auto_bid_id: int = Field(foreign_key="auto_bid.id", ondelete="CASCADE", index=True, sa_type=BigInteger)
    trigger_bid_id: str = Field(max_length=66)
    trigger_amount: int = Field(sa_type=BigInteger)
    amount: int = Field(sa_type=BigInteger)
    state: str = Field(default="pending", max_length=12, index=True)
    leased_until: datetime | None = when_column(nullable=True)
    created_at: datetime = when_column()
    done_at: datetime | None = when_column(nullable=True)


class BidOffer(SQLModel, table=True):
    """A bid or an auto-bid shown with Confirm and Cancel: only its owner's Confirm, once, carries it out."""

    __tablename__ = "bid_offer"

    token: str = Field(primary_key=True, max_length=24)
    chat_user_id: int = chat_user_column(index=False)
    action: str = Field(max_length=12)  # "bid" or "autobid"
    auction_id: str = Field(max_length=66)
    amount: int = Field(sa_type=BigInteger)
    created_at: datetime = when_column()
    expires_at: datetime = when_column(index=True)
    used_at: datetime | None = when_column(nullable=True)


class LiveCard(SQLModel, table=True):
    """An auction card posted in a group or channel, kept current by editing its one message."""

    __tablename__ = "live_card"
    __table_args__ = (
        UniqueConstraint("platform", "chat_id", "auction_id", name="uq_live_card_place_auction"),
        Index("ix_live_card_auction_active", "auction_id", "active"),
        Index("ix_live_card_created_by_active", "created_by", "active"),  # CARDS_PER_USER counts these
    )

    id: int | None = id_column()
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=64)
    message_id: str | None = Field(default=None, max_length=64)  # None until the first post is sent
    auction_id: str = Field(max_length=66)
    # A digest of what the card's newest queued update shows: older updates still queued are skipped when sent.
    shown: str = Field(default="", max_length=64)
    active: bool = Field(default=True)
    language: str | None = Field(default=None, max_length=16)  # the poster's: the card speaks it to everyone
    created_by: str = Field(max_length=100)
    created_at: datetime = when_column()
    edited_at: datetime | None = when_column(nullable=True)
