"""Live auction cards kept current: updates queued by the poller, then addressed and recorded by the dispatcher.

A card's updates are outbox rows of kind ``card`` in the card's chat, so the dispatcher sends them in
order and paces them like any message to that chat (a Telegram group: one every ~3 s). What is queued
is coalesced when it is sent, not when it is written: the card remembers the state its newest update
shows (``LiveCard.shown``), and an older update still waiting when its turn comes is settled without a
send, so a burst of bids costs one edit. An update to a card posted afresh since, or forgotten, is
settled the same way. A card's message is edited at most once a CARD_EDIT_SECONDS: an update due sooner
waits for it, and by then only the newest goes. Card rows have a lane of their own in the dispatcher, which
yields to alerts (bot/alerts/dispatch.py).

The first update of a post has no message to edit: the adapter posts one and returns its id, which is
kept on the card before the next update of that chat is sent. When that message is gone (deleted),
the adapter says so (``RecipientGone`` for that message only) and the card is forgotten; when the
whole chat is gone, so is every card in it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.auctions.cards import KIND, card_digest, card_of_key, card_reply, post_prefix, update_key
from bot.clients.auctionity import Auction
from bot.core import i18n
from bot.core.messages import Alert
from bot.core.payloads import encode_reply
from storage import cards, outbox

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)

__all__ = ["KIND", "address", "forget", "posted", "queue_card_updates"]


def queue_card_updates(session: Session, auctions: dict[str, Auction], now: datetime) -> int:
    """Queue an edit for every active card of these freshly fetched auctions whose shown state changed;
    runs inside the poll's transaction. Returns how many outbox rows it wrote."""
    written = 0
    for auction_id, posted_cards in cards.active_cards_by_auction(session, auction_ids=auctions).items():
        auction = auctions.get(auction_id)
        if auction is None:
            continue
        shown = card_digest(auction, now)
        payloads: dict[str, str] = {}  # by language: each card speaks its poster's
        for card in posted_cards:
            if card.shown == shown:
                continue
            language = i18n.pick(card.language)
            if language not in payloads:
                with i18n.speaking(language):
                    payloads[language] = encode_reply(card_reply(auction, now))
            payload = payloads[language]
            written += outbox.enqueue_notification(
                session,
                dedupe_key=update_key(card, shown), platform=card.platform, chat_id=card.chat_id,
                chat_user_id=None, kind=KIND, payload=payload, now=now,
            )  # fmt: skip
            cards.mark_card_shown(session, card_id=card.id, shown=shown)
    return written


async def address(services: Services, alert: Alert, now: datetime) -> Alert | datetime | None:
    """A card's update as the adapter needs it: with the card's id and its message's (none yet: post one).

    None when there is nothing to send: a newer update of the card is queued behind this one, or the
    card was posted afresh or forgotten since. A time when the card's message was edited less than
    CARD_EDIT_SECONDS ago: the update waits until then (and goes only if it is still the newest).
    """
    key = alert.extra.get("dedupe_key", "")
    card_id = card_of_key(key)
    card = await services.db.read(lambda s: cards.find_card(s, card_id=card_id)) if card_id is not None else None
    if card is None or not card.active or key != update_key(card, card.shown):
        return None
    pace = timedelta(seconds=services.settings.card_edit_seconds)
    if card.message_id and card.edited_at is not None and now < card.edited_at + pace:
        return card.edited_at + pace
    extra = {**alert.extra, "card_id": str(card.id)}
    if card.message_id:
        extra["message_id"] = card.message_id
    return replace(alert, extra=extra)


async def posted(services: Services, alert: Alert, message_id: str | None, now: datetime) -> None:
    """After a card's send: keep the id of the message it posted or edited, unless the card was posted afresh."""
    card_id = card_of_key(alert.extra.get("dedupe_key", ""))
    if card_id is None or not message_id:
        return

    def keep(session: Session) -> None:
        card = cards.find_card(session, card_id=card_id)
        if card is not None and alert.extra["dedupe_key"].startswith(post_prefix(card)):
            cards.set_card_message(session, card_id=card_id, message_id=message_id, now=now)

    await services.db.run(keep)


async def forget(services: Services, alert: Alert, *, whole_chat: bool) -> bool:
    """A card's message can no longer be edited: forget the card, or every card of the chat when the whole chat
    is gone. True when only the message is gone (the chat's watches and other alerts are not affected)."""
    card_id = card_of_key(alert.extra.get("dedupe_key", ""))

    def stop(session: Session) -> int:
        if whole_chat:
            return cards.forget_cards_in_chat(session, platform=alert.platform, chat_id=alert.chat_id)
        return int(card_id is not None and cards.forget_card(session, card_id=card_id))

    forgotten = await services.db.run(stop)
    log.info("%s chat %s: %d live card(s) forgotten, their message gone", alert.platform, alert.chat_id, forgotten)
    return not whole_chat
