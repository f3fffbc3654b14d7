"""Bid offers: a bid or an auto-bid shown with Confirm and Cancel, carried out once, by its owner only."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col

from storage.models import BidOffer

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,24}")


@dataclass(frozen=True)
class Offer:
    token: str
    chat_user_id: int
    action: str
    auction_id: str
    amount: int


class OfferRefused(Exception):
    """Why an offer cannot be taken: ``reason`` is not_yours, used or expired (or unknown)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def make_offer(
    session: Session, *, chat_user_id: int, action: str, auction_id: str, amount: int, now: datetime, ttl: timedelta
) -> str:
    """Store an offer; its token (96 random bits) goes into the Confirm and Cancel buttons."""
    token = secrets.token_urlsafe(12)
    session.add(
        BidOffer(
            token=token, chat_user_id=chat_user_id, action=action, auction_id=auction_id, amount=amount,
            created_at=now, expires_at=now + ttl,
        )
    )  # fmt: skip
    return token


def take_offer(session: Session, *, token: str, chat_user_id: int, now: datetime) -> Offer:
    """Use an offer up: only its owner, only once (a double press, a replay), only before it expires."""
    # Only a token's own shape reaches the database: a NUL byte in a typed one is an error in PostgreSQL.
    row = session.get(BidOffer, token) if TOKEN_SHAPE.fullmatch(token) else None
    if row is None:
        raise OfferRefused("expired")
    if row.chat_user_id != chat_user_id:
        raise OfferRefused("not_yours")
    if row.used_at is not None:
        raise OfferRefused("used")
    if row.expires_at <= now:
        raise OfferRefused("expired")
    # The update is the guard: of two presses at once, one changes the row and the other changes nothing.
    taken = session.exec(
        update(BidOffer).where(col(BidOffer.token) == token, col(BidOffer.used_at).is_(None)).values(used_at=now)
    ).rowcount
    if not taken:
        raise OfferRefused("used")
    return Offer(row.token, row.chat_user_id, row.action, row.auction_id, row.amount)


def prune_offers(session: Session, *, before: datetime) -> int:
    return session.exec(delete(BidOffer).where(col(BidOffer.expires_at) < before)).rowcount
