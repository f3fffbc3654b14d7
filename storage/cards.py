"""Live cards: auction cards posted in a group or channel, and the one message each keeps current."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, true, update
from sqlmodel import Session, col, select

from storage.db import insert_or_find, lock_names
from storage.errors import CardLimitReached
from storage.models import AuctionState, LiveCard
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
    edited_at: datetime | None = None  # its message's last post or edit


def _view(card: LiveCard) -> CardView:
    assert card.id is not None
    return CardView(
        card.id, card.platform, card.chat_id, card.auction_id, card.message_id, card.shown, card.active,
        card.created_at, card.language, card.edited_at,
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
    per_chat: int | None = None,
    per_user: int | None = None,
) -> CardView:
    """A card to post in this chat: a new one, or this chat's card of that auction started afresh.

    Starting afresh forgets the message posted before (it is no longer kept current): ``created_at``
    moves to ``now``, which tells this post's updates from the earlier one's. CardLimitReached when the chat
    would have more than ``per_chat`` active cards, or ``created_by`` more than ``per_user``: counted under a
    lock on both, so two posts at once cannot both take the last place.
    """
    key = auction_key(auction_id)
    lock_names(session, (f"live-cards:chat:{platform}:{chat_id}", f"live-cards:user:{created_by}"))
    card = _find(session, platform, chat_id, key)
    # A card of an ended auction shows its final price and is never edited again: it takes no place.
    ended = exists().where(col(AuctionState.auction_id) == col(LiveCard.auction_id), col(AuctionState.ended) == true())
    others = (col(LiveCard.active) == true(), ~ended) + (() if card is None else (col(LiveCard.id) != card.id,))
    if (
        per_chat is not None
        and _count(session, *others, LiveCard.platform == platform, LiveCard.chat_id == chat_id) >= per_chat
    ):
        raise CardLimitReached(where="chat", limit=per_chat)
    if per_user is not None and _count(session, *others, LiveCard.created_by == created_by) >= per_user:
        raise CardLimitReached(where="user", limit=per_user)
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


def _count(session: Session, *conditions: Any) -> int:
    return session.exec(select(func.count()).select_from(LiveCard).where(*conditions)).one()


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
