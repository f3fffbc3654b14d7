"""Auto-bids and their intents: what a user asked Gavel to bid, and each bid decided on their behalf.

An intent is pending (decided), placing (leased to a process fetching the auction), bidding (that process
checked the auto-bid's current maximum and is sending the bid), then placed, superseded or stopped.
Changing an auto-bid deletes its pending and placing intents in the same transaction, and stopping it stops
them: a process that leased one finds it gone or stopped when it asks to bid (``begin_bid``), which re-reads
the maximum under a lock on the auto-bid's row. Only a bidding intent is left alone: its bid may be on the
wire, and it is reconciled with the auction's history like any other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, update
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


UNDECIDED = ("pending", "placing")  # nothing sent yet: a change or a stop takes these back


def set_auto_bid(
    session: Session, *, chat_user_id: int, auction_id: str, max_amount: int, platform: str, chat_id: str, now: datetime
) -> int:
    """Start (or change the maximum of) the user's auto-bid on an auction; its id.

    A change takes back what was decided under the old maximum and not sent yet (deleted, so the same outbid
    may be answered again under the new one), in this transaction: no process bids it afterwards.
    """
    key = auction_key(auction_id)
    row = session.exec(
        select(AutoBid)
        .where(col(AutoBid.chat_user_id) == chat_user_id, col(AutoBid.auction_id) == key)
        .with_for_update()  # ``begin_bid`` reads the maximum under this lock: one of the two goes first
    ).first()
    if row is not None:
        session.exec(
            delete(AutoBidIntent).where(
                col(AutoBidIntent.auto_bid_id) == row.id, col(AutoBidIntent.state).in_(UNDECIDED)
            )
        )
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
    """Stop an auto-bid; False if it had stopped already. Its intents not sent yet stop with it."""
    stopped = session.exec(
        update(AutoBid)
        .where(col(AutoBid.id) == auto_bid_id, col(AutoBid.active).is_(True))
        .values(active=False, stop_reason=reason, updated_at=now)
    ).rowcount
    session.exec(
        update(AutoBidIntent)
        .where(col(AutoBidIntent.auto_bid_id) == auto_bid_id, col(AutoBidIntent.state).in_(UNDECIDED))
        .values(state="stopped", done_at=now, leased_until=None)
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
) -> int | None:
    """Write the intent to answer ``trigger_bid_id``; its id, or None (nothing written) if it was decided before.

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
    written = session.exec(statement).first()  # type: ignore[call-overload]
    return None if written is None else written[0]


def lease_intents(session: Session, *, now: datetime, lease_until: datetime, limit: int = 100) -> list[IntentView]:
    """Take pending intents, and placing or bidding ones whose process died (lease over), for one process to act
    on; a bidding one is reconciled with the auction's history before anything is sent again."""
    query = (
        select(AutoBidIntent)
        .where(
            or_(
                col(AutoBidIntent.state) == "pending",
                col(AutoBidIntent.state).in_(("placing", "bidding")) & (col(AutoBidIntent.leased_until) <= now),
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


@dataclass(frozen=True)
class Go:
    """What ``begin_bid`` allows: bid ``amount`` now; ``max_amount`` is the auto-bid's maximum at this moment."""

    amount: int
    max_amount: int


def begin_bid(
    session: Session,
    *,
    intent_id: int,
    auto_bid_id: int,
    amount: int,
    now: datetime,
    lease_until: datetime,
) -> Go | None:
    """Right before a bid: the auto-bid's current state and maximum, read under a lock on its row (a change or a
    stop waits for this transaction, or this one reads what they wrote). None when the intent is no longer this
    caller's to place (taken back by a change or a stop) or the auto-bid stopped; else the amount to bid, never
    above the maximum, and the intent is marked bidding (a change leaves it alone from here on).
    """
    bid = session.exec(
        select(AutoBid.active, AutoBid.max_amount).where(col(AutoBid.id) == auto_bid_id).with_for_update()
    ).first()
    intent = session.get(AutoBidIntent, intent_id)
    if intent is None or intent.state != "placing" or intent.amount != amount:
        return None
    if bid is None or not bid.active:
        finish_intent(session, intent_id=intent_id, state="stopped", now=now)
        return None
    # Lowered below what was decided: the maximum is bid (Auctionity refuses it if it no longer beats the price).
    allowed = min(amount, bid.max_amount)
    intent.state, intent.amount, intent.leased_until = "bidding", allowed, lease_until
    session.add(intent)
    session.flush()
    return Go(allowed, bid.max_amount)


def finish_intent(session: Session, *, intent_id: int, state: str, now: datetime) -> None:
    """placed, superseded or stopped; an intent left placing or bidding is reconciled after its lease.

    Only an intent still in flight is finished: one a change took back, or a stop stopped, stays as it is.
    """
    session.exec(
        update(AutoBidIntent)
        .where(col(AutoBidIntent.id) == intent_id, col(AutoBidIntent.state).in_(("pending", "placing", "bidding")))
        .values(state=state, done_at=now, leased_until=None)
    )
