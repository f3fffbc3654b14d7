"""Live cards: auction cards posted in a group or channel, and the one message each keeps current."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import true, update
from sqlmodel import Session, col, select

from storage.db import insert_or_find
from storage.models import LiveCard
from storage.watches import auction_key, keys_in_chunks


@dataclass(frozen=True)
class CardView:
    """A card as the poller and the dispatcher need it, copied out of the session."""

    id: int
    platform: str
    chat_id: str
    auction_id: str
    message_id: str | None
    shown: str
    active: bool
    created_at: datetime
    language: str | None = None  # the poster's: everyone reading the card reads it


def _view(card: LiveCard) -> CardView:
    assert card.id is not None
    return CardView(
        card.id, card.platform, card.chat_id, card.auction_id, card.message_id, card.shown, card.active,
        card.created_at, card.language,
    )  # fmt: skip


def _find(session: Session, platform: str, chat_id: str, auction_id: str) -> LiveCard | None:
    return session.exec(
        select(LiveCard).where(
            LiveCard.platform == platform, LiveCard.chat_id == chat_id, LiveCard.auction_id == auction_id
        )
    ).first()


def post_card(
    session: Session,
    *,
    platform: str,
    chat_id: str,
    auction_id: str,
    shown: str,
    created_by: str,
    language: str | None = None,
    now: datetime,
) -> CardView:
    """A card to post in this chat: a new one, or this chat's card of that auction started afresh.

    Starting afresh forgets the message posted before (it is no longer kept current): ``created_at``
    moves to ``now``, which tells this post's updates from the earlier one's.
    """
    key = auction_key(auction_id)
    card = _find(session, platform, chat_id, key)
    if card is None:
        card = insert_or_find(
            session,
            LiveCard(
                platform=platform, chat_id=chat_id, auction_id=key, shown=shown, created_by=created_by,
                created_at=now,
            ),
            lambda: _find(session, platform, chat_id, key),
        )  # fmt: skip
    card.message_id = None
    card.shown = shown
    card.active = True
    card.created_by = created_by
    card.language = language
    card.created_at = now
    card.edited_at = None
    session.flush()
    return _view(card)


def active_cards_by_auction(session: Session, *, auction_ids: Iterable[str]) -> dict[str, list[CardView]]:
    """The active cards of these auctions, by auction id."""
    found: dict[str, list[CardView]] = {}
    for chunk in keys_in_chunks(auction_ids):
        query = select(LiveCard).where(col(LiveCard.auction_id).in_(chunk), col(LiveCard.active) == true())
        for card in session.exec(query.order_by(col(LiveCard.id))):
            found.setdefault(card.auction_id, []).append(_view(card))
    return found


def mark_card_shown(session: Session, *, card_id: int, shown: str) -> None:
    """Record the state the card's newest queued update shows."""
    session.exec(update(LiveCard).where(col(LiveCard.id) == card_id).values(shown=shown))


def find_card(session: Session, *, card_id: int) -> CardView | None:
    card = session.get(LiveCard, card_id)
    return _view(card) if card is not None else None


def set_card_message(session: Session, *, card_id: int, message_id: str, now: datetime) -> None:
    """The card's message was posted (or edited): keep its id, and when."""
    session.exec(update(LiveCard).where(col(LiveCard.id) == card_id).values(message_id=message_id, edited_at=now))


def forget_card(session: Session, *, card_id: int) -> bool:
    """The card's message is gone (deleted): stop keeping it current; False if it was not active."""
    result = session.exec(
        update(LiveCard).where(col(LiveCard.id) == card_id, col(LiveCard.active) == true()).values(active=False)
    )
    return bool(result.rowcount)


def forget_cards_in_chat(session: Session, *, platform: str, chat_id: str) -> int:
    """The bot can no longer write to this chat: stop keeping its cards current; how many."""
    result = session.exec(
        update(LiveCard)
        .where(col(LiveCard.platform) == platform, col(LiveCard.chat_id) == chat_id, col(LiveCard.active) == true())
        .values(active=False)
    )
    return result.rowcount
