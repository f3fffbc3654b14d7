"""Auto-bids and their intents: what a user asked Gavel to bid, and each bid decided on their behalf."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import AuctionitySession, AutoBid, AutoBidIntent, ChatUser
from storage.watches import auction_key, keys_in_chunks


@dataclass(frozen=True)
class AutoBidView:
    """An active auto-bid with what acting on it needs: whose it is, their Auctionity id, where to tell them."""

    id: int
    chat_user_id: int
    auction_id: str
    max_amount: int
    platform: str
    chat_id: str
    platform_user_id: str
    auctionity_user_id: str | None
    language: str | None = None  # chosen with /language
    platform_language: str | None = None


@dataclass(frozen=True)
class IntentView:
    """A leased intent with its auto-bid and the owner's encrypted session (None: logged out)."""

    id: int
    trigger_bid_id: str
    trigger_amount: int
    amount: int
    auto_bid: AutoBidView
    token_encrypted: str | None


def set_auto_bid(
    session: Session, *, chat_user_id: int, auction_id: str, max_amount: int, platform: str, chat_id: str, now: datetime
) -> int:
    """Start (or change the maximum of) the user's auto-bid on an auction; its id."""
    key = auction_key(auction_id)
    row = session.exec(
        select(AutoBid).where(col(AutoBid.chat_user_id) == chat_user_id, col(AutoBid.auction_id) == key)
    ).first()
    if row is None:
        row = AutoBid(
            chat_user_id=chat_user_id, auction_id=key, max_amount=max_amount, platform=platform, chat_id=chat_id,
            created_at=now, updated_at=now,
        )  # fmt: skip
    row.max_amount, row.platform, row.chat_id = max_amount, platform, chat_id
    row.active, row.stop_reason, row.updated_at = True, None, now
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def stop_auto_bid(session: Session, *, auto_bid_id: int, reason: str, now: datetime) -> bool:
    """Stop an auto-bid; False if it had stopped already. Its undecided intents stop with it."""
    stopped = session.exec(
        update(AutoBid)
        .where(col(AutoBid.id) == auto_bid_id, col(AutoBid.active).is_(True))
        .values(active=False, stop_reason=reason, updated_at=now)
    ).rowcount
    session.exec(
        update(AutoBidIntent)
        .where(col(AutoBidIntent.auto_bid_id) == auto_bid_id, col(AutoBidIntent.state) == "pending")
        .values(state="stopped", done_at=now)
    )
    return bool(stopped)


def stop_user_auto_bid(session: Session, *, chat_user_id: int, auction_id: str, now: datetime) -> bool:
    row = session.exec(
        select(AutoBid.id).where(
            col(AutoBid.chat_user_id) == chat_user_id,
            col(AutoBid.auction_id) == auction_key(auction_id),
            col(AutoBid.active).is_(True),
        )
    ).first()
    return row is not None and stop_auto_bid(session, auto_bid_id=row, reason="stopped by you", now=now)


def auto_bids_for_user(session: Session, *, chat_user_id: int) -> dict[str, int]:
    """The user's active auto-bids: auction id -> maximum."""
    rows = session.exec(
        select(AutoBid.auction_id, AutoBid.max_amount).where(
            col(AutoBid.chat_user_id) == chat_user_id, col(AutoBid.active).is_(True)
        )
    )
    return dict(rows.all())


def _views(session: Session, query: object) -> list[AutoBidView]:
    rows = session.exec(query)  # type: ignore[call-overload]
    return [
        AutoBidView(
            bid.id,
            bid.chat_user_id,
            bid.auction_id,
            bid.max_amount,
            bid.platform,
            bid.chat_id,
            user.platform_user_id,
            user.auctionity_user_id,
            user.language,
            user.platform_language,
        )
        for bid, user in rows
    ]


def active_auto_bids(session: Session, *, auction_ids: Iterable[str]) -> dict[str, list[AutoBidView]]:
    """The active auto-bids of these auctions, oldest first (the first to ask bids first)."""
    found: dict[str, list[AutoBidView]] = {}
    for chunk in keys_in_chunks(auction_ids):
        query = (
            select(AutoBid, ChatUser)
            .join(ChatUser, col(ChatUser.id) == col(AutoBid.chat_user_id))
            .where(col(AutoBid.auction_id).in_(chunk), col(AutoBid.active).is_(True))
            .order_by(col(AutoBid.created_at), col(AutoBid.id))
        )
        for view in _views(session, query):
            found.setdefault(view.auction_id, []).append(view)
    return found


def decide(
    session: Session,
    *,
    auto_bid_id: int,
    trigger_bid_id: str,
    trigger_amount: int,
    amount: int,
    now: datetime,
    placing_until: datetime | None = None,
) -> bool:
    """Write the intent to answer ``trigger_bid_id``; False (nothing written) if it was decided before.

    ``placing_until``: the caller bids itself now, so the intent is leased to it from the start.
    """
    values = {
        "auto_bid_id": auto_bid_id, "trigger_bid_id": trigger_bid_id, "trigger_amount": trigger_amount,
        "amount": amount, "state": "pending" if placing_until is None else "placing", "leased_until": placing_until,
        "created_at": now,
    }  # fmt: skip
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(AutoBidIntent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["auto_bid_id", "trigger_bid_id"])
        .returning(col(AutoBidIntent.id))
    )
    return session.exec(statement).first() is not None  # type: ignore[call-overload]


def lease_intents(session: Session, *, now: datetime, lease_until: datetime, limit: int = 100) -> list[IntentView]:
    """Take pending intents, and placing ones whose process died (lease over), for one process to act on."""
    query = (
        select(AutoBidIntent)
        .where(
            or_(
                col(AutoBidIntent.state) == "pending",
                (col(AutoBidIntent.state) == "placing") & (col(AutoBidIntent.leased_until) <= now),
            )
        )
        .order_by(col(AutoBidIntent.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    intents = list(session.exec(query))
    if not intents:
        return []
    for intent in intents:
        intent.state, intent.leased_until = "placing", lease_until
        session.add(intent)
    ids = {intent.auto_bid_id for intent in intents}
    bids = {
        view.id: view
        for view in _views(
            session,
            select(AutoBid, ChatUser)
            .join(ChatUser, col(ChatUser.id) == col(AutoBid.chat_user_id))
            .where(col(AutoBid.id).in_(ids)),
        )
    }
    owners = {view.chat_user_id for view in bids.values()}
    tokens = dict(
        session.exec(
            select(AuctionitySession.chat_user_id, AuctionitySession.token_encrypted).where(
                col(AuctionitySession.chat_user_id).in_(owners)
            )
        ).all()
    )
    session.flush()
    return [
        IntentView(
            i.id,
            i.trigger_bid_id,
            i.trigger_amount,
            i.amount,
            bids[i.auto_bid_id],
            tokens.get(bids[i.auto_bid_id].chat_user_id),
        )
        for i in intents
        if i.id is not None
    ]


def finish_intent(session: Session, *, intent_id: int, state: str, now: datetime) -> None:
    """placed, superseded or stopped; a placing intent left as is is retried (reconciled) after its lease."""
    session.exec(
        update(AutoBidIntent)
        .where(col(AutoBidIntent.id) == intent_id)
        .values(state=state, done_at=now, leased_until=None)
    )


def finish_trigger(session: Session, *, auto_bid_id: int, trigger_bid_id: str, state: str, now: datetime) -> None:
    session.exec(
        update(AutoBidIntent)
        .where(col(AutoBidIntent.auto_bid_id) == auto_bid_id, col(AutoBidIntent.trigger_bid_id) == trigger_bid_id)
        .values(state=state, done_at=now, leased_until=None)
    )


def is_active(session: Session, *, auto_bid_id: int) -> bool:
    return bool(session.exec(select(AutoBid.active).where(col(AutoBid.id) == auto_bid_id)).first())
