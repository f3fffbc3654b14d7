"""Live auction cards: a posted card is edited when its auction changes (filled in by the live-cards work)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.clients.auctionity import Auction


def queue_card_updates(session: Session, auctions: dict[str, Auction], now: datetime) -> int:
    """Queue an edit for every active card of these freshly fetched auctions whose shown state changed;
    runs inside the poll's transaction. Returns how many outbox rows it wrote."""
    return 0
