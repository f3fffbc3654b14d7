"""post: a live auction card in a group or channel, and how a card reads (the poller redraws it with each change).

A card is one message kept current: ``/post`` queues its first post in the outbox, as a ``card`` alert;
every later change of the auction queues an update of the same card (bot/auctions/card_updates.py), which the
dispatcher turns into an edit of that message. An update's dedupe key names its card, the card's post
and the state it shows (``update_key``), so the dispatcher can skip updates a newer one replaced.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.auctions.known import remember
from bot.auctions.rules import suggested_bid
from bot.clients.auctionity import Auction
from bot.core import formatting as fmt
from bot.core import i18n
from bot.core.clock import as_utc
from bot.core.common import AUCTION_ID
from bot.core.errors import AuctionNotFound, UserInputError
from bot.core.i18n import _
from bot.core.messages import CARD_KIND, Button, Field, Outcome, Reply, Request
from bot.core.payloads import encode_reply
from bot.core.registry import CommandGroup, Scope
from storage import cards, outbox
from storage.cards import CardView
from storage.errors import CardLimitReached

if TYPE_CHECKING:
    from bot.core.services import Services

KIND = CARD_KIND  # the outbox kind of a card's post and of its updates
KEY_PREFIX = "card:"

commands = CommandGroup()


def card_reply(auction: Auction, now: datetime) -> Reply:
    """The card: name, price, bids and when it ends; Watch and Bid buttons while it runs, none once it ended."""
    currency = auction.currency or "DRT"
    price = fmt.money(auction.amount, currency)
    fields = [
        Field(_("Price"), price),
        # Translators: a field name: how many bids the auction has
        Field(_("Bids"), str(len(auction.history))),
    ]
    if auction.has_ended(now):
        # Translators: {when} is a relative time such as "3d 4h ago"
        text = _("Ended {when}. Final price: {price}.").format(when=fmt.relative(auction.end_date, now), price=price)
        # Translators: a field name: when the auction ended
        fields.append(Field(_("Ended"), fmt.date(auction.end_date)))
        buttons: tuple[Button, ...] = ()
    else:
        if auction.has_started(now):
            # Translators: {when} is a relative time such as "in 2h 5m"
            text = _("Ends {when}.").format(when=fmt.relative(auction.end_date, now))
        else:
            # Translators: {when} is a relative time such as "in 2h 5m"
            text = _("Starts {when}.").format(when=fmt.relative(auction.start_date, now))
        # Translators: a field name: when the auction ends
        fields.append(Field(_("Ends"), fmt.date(auction.end_date)))
        amount = suggested_bid(auction)
        buttons = (
            # Translators: a button label: get alerts for this auction
            Button(_("Watch"), f"watch {auction.id}"),
            # Translators: a button label: bid this amount (asks to confirm first)
            Button(_("Bid {amount}").format(amount=amount), f"bid_ask {auction.id} {amount}"),
        )
    return Reply(
        # Translators: the title of an auction that has no name
        title=fmt.clip(auction.name, 200) or _("Auction"),
        text=text,
        fields=tuple(fields),
        footer=_("Live card: updated with every bid. Last update {date}.").format(date=fmt.date(now)),
    ).with_buttons(buttons)


def card_digest(auction: Auction, now: datetime) -> str:
    """What a card shows, as a short digest: it changes with the price, the bids or the end, not with the clock."""
    shown = (
        auction.name, auction.amount, auction.currency, len(auction.history), auction.has_ended(now),
        as_utc(auction.start_date).isoformat(), as_utc(auction.end_date).isoformat(),
    )  # fmt: skip
    return hashlib.sha256(repr(shown).encode()).hexdigest()[:16]


def _post_stamp(card: CardView) -> str:
    """Which post of the card (a card posted again starts afresh): its post time, to the microsecond."""
    at = as_utc(card.created_at)
    return str(int(at.timestamp()) * 1_000_000 + at.microsecond)


def post_prefix(card: CardView) -> str:
    """``card:<id>:<post>:``: what every update key of this post of the card starts with."""
    return f"{KEY_PREFIX}{card.id}:{_post_stamp(card)}:"


def update_key(card: CardView, shown: str) -> str:
    """The dedupe key of the update that makes this post of the card show ``shown``."""
    return post_prefix(card) + shown


def card_of_key(dedupe_key: str) -> int | None:
    """The card an update key belongs to; None for a key that is not a card's."""
    parts = dedupe_key.split(":")
    if len(parts) != 4 or parts[0] + ":" != KEY_PREFIX or not parts[1].isdigit():
        return None
    return int(parts[1])


@commands.command(args=(AUCTION_ID,), scope=Scope.MANAGER, needs_place=True, ephemeral=True, slow=True)
async def post(request: Request, services: Services) -> Reply:
    """Post an auction's live card here: price, bids, time left, kept current as bids arrive (admins)."""
    auction_id = request.values["auction_id"]
    found = await services.auctionity.auctions([auction_id])
    if not found:
        raise AuctionNotFound()
    await remember(services, found)  # a posted auction is one /auctions lists
    auction, now = found[0], services.now()
    reply, shown = card_reply(auction, now), card_digest(auction, now)

    settings = services.settings

    def queue(session: Session) -> None:
        card = cards.post_card(
            session,
            platform=request.platform, chat_id=request.chat_id, auction_id=auction_id, shown=shown,
            created_by=request.who, language=i18n.current(), now=now, per_chat=settings.cards_per_chat,
            per_user=settings.cards_per_user,
        )  # fmt: skip
        outbox.enqueue_notification(
            session,
            dedupe_key=update_key(card, shown), platform=request.platform, chat_id=request.chat_id,
            chat_user_id=None, kind=KIND, payload=encode_reply(reply), now=now,
        )  # fmt: skip

    try:
        await services.db.run(queue)
    except CardLimitReached as reached:  # every card is an edit after each bid, on the budget alerts share
        raise UserInputError(f"card_limit_{reached.where}", limit=reached.limit) from None
    name = fmt.clip(auction.name, 100)
    if auction.has_ended(now):
        text = _("The card of {name} is on its way. The auction has ended, so it shows the final price.").format(
            name=name
        )
    else:
        text = _(
            "The card of {name} is on its way. I will keep it current: each new bid, and the final price "
            "once it ends. If the card is deleted I stop; send /post again for a new one."
        ).format(name=name)
    return Reply(title=_("Card posted"), text=text, outcome=Outcome.SUCCESS)
