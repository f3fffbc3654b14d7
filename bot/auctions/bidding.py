"""Bids that ask first, and auto-bids: bid_ask, bid_confirm, offer_cancel, autobid, autobid_off, autobid_confirm.

A Bid button never bids: it shows what would be sent, with Confirm and Cancel. The Confirm button
carries an offer token that only its owner may use, once, for ten minutes (storage/offers.py): a
double press, a replay, or someone else's finger in a group sends nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.auctions import autobids as auto_bidding
from bot.auctions.accounts import AuctionityLogin, current_login, forget_login
from bot.auctions.commands import open_auction, place_bid
from bot.auctions.rules import check_amount, minimum_bid, suggested_bid
from bot.clients.auctionity import Auction
from bot.core import formatting as fmt
from bot.core.common import AMOUNT, AUCTION_ID, chat_user_id, known_user
from bot.core.errors import BidTooLow, SessionExpired, UpstreamError, UserInputError
from bot.core.i18n import _
from bot.core.messages import Button, Outcome, Reply, Request
from bot.core.registry import ArgKind, Argument, CommandGroup
from storage import autobids, offers, watches
from storage.offers import Offer, OfferRefused

if TYPE_CHECKING:
    from bot.core.services import Services

OFFER_TTL = timedelta(minutes=10)
OFFER = Argument("offer", "the offer from the button", ArgKind.TEXT, max_length=24)
MAXIMUM = Argument("maximum", "the most you will pay", ArgKind.AMOUNT)

commands = CommandGroup()


async def _offer(services: Services, request: Request, action: str, auction_id: str, amount: int) -> str:
    owner, now = await chat_user_id(services, request), services.now()
    return await services.db.run(
        lambda s: offers.make_offer(
            s, chat_user_id=owner, action=action, auction_id=auction_id, amount=amount, now=now, ttl=OFFER_TTL
        )
    )


async def _take(services: Services, request: Request, action: str) -> Offer:
    known = await known_user(services, request)
    if known is None:
        raise UserInputError("offer_not_yours")
    now, token = services.now(), request.values["offer"]
    try:
        offer = await services.db.run(lambda s: offers.take_offer(s, token=token, chat_user_id=known[0], now=now))
    except OfferRefused as refused:
        raise UserInputError(f"offer_{refused.reason}") from None
    if offer.action != action:
        raise UserInputError("offer_expired")
    return offer


def _name(auction: Auction) -> str:
    return fmt.clip(auction.name, 100) or fmt.short_id(auction.id)


@commands.command(args=(AUCTION_ID, AMOUNT), slow=True, hidden=True, ephemeral=True)
async def bid_ask(request: Request, services: Services) -> Reply:
    """Ask before bidding: what a Bid button runs. Nothing is sent before Confirm."""
    auction_id, amount = request.values["auction_id"], request.values["amount"]
    await current_login(services, request)
    auction = await open_auction(services, auction_id)
    check_amount(auction, amount)
    token = await _offer(services, request, "bid", auction_id, amount)
    price = fmt.money(amount, auction.currency or "DRT")
    return Reply(
        title=_("Confirm your bid"),
        # Translators: asks before bidding; {when} is a relative time such as "in 2h 5m"
        text=_("Bid {price} on {name}? It ends {when}.").format(
            price=price, name=_name(auction), when=fmt.relative(auction.end_date, services.now())
        ),
        outcome=Outcome.WARNING,
    ).with_buttons(
        [
            # Translators: a button label: places the bid of {price} that was asked about
            Button(_("Confirm {price}").format(price=price), f"bid_confirm {token}", edits=True),
            _cancel(token),
        ]
    )


def _cancel(token: str) -> Button:
    # Translators: a button label: drops the bid or auto-bid that was asked about
    return Button(_("Cancel"), f"offer_cancel {token}", edits=True)


@commands.command(args=(OFFER,), slow=True, hidden=True, ephemeral=True)
async def bid_confirm(request: Request, services: Services) -> Reply:
    """Place the bid a Bid button asked about (only its owner, once)."""
    offer = await _take(services, request, "bid")
    return await place_bid(services, request, offer.auction_id, offer.amount)


@commands.command(args=(OFFER,), hidden=True, ephemeral=True)
async def offer_cancel(request: Request, services: Services) -> Reply:
    """Drop a bid or auto-bid that was asked about; nothing is sent."""
    known = await known_user(services, request)
    now, token = services.now(), request.values["offer"]
    try:
        if known is None:
            raise OfferRefused("not_yours")
        await services.db.run(lambda s: offers.take_offer(s, token=token, chat_user_id=known[0], now=now))
    except OfferRefused as refused:
        raise UserInputError(f"offer_{refused.reason}") from None
    return Reply(_("Cancelled: nothing was sent to Auctionity."))


# Private: a maximum is its owner's alone (asked in a group, the question and its answer go to their private chat).
@commands.command(args=(AUCTION_ID, MAXIMUM), slow=True, private=True, subcommands=(("off", "autobid_off"),))
async def autobid(request: Request, services: Services) -> Reply:
    """Bid for you up to a maximum: /autobid <id> <max> (asks first); /autobid off <id> stops it.

    Whenever someone else is on top, I bid the price plus a small step, never above your maximum.
    """
    auction_id, maximum = request.values["auction_id"], request.values["maximum"]
    login = await current_login(services, request)
    auction = await open_auction(services, auction_id)
    currency = auction.currency or "DRT"
    if maximum < minimum_bid(auction):
        raise UserInputError(
            "maximum_too_low",
            minimum=fmt.Money(minimum_bid(auction), currency),
            price=fmt.Money(auction.amount, currency),
        )
    top = auction.top_bid
    on_top = top is not None and top.user_id == login.auctionity_user_id
    first = min(suggested_bid(auction), maximum)
    token = await _offer(services, request, "autobid", auction_id, maximum)
    shown = {
        "name": _name(auction),
        "maximum": fmt.money(maximum, currency),
        "price": fmt.money(auction.amount, currency),
    }
    if on_top:
        # Translators: asks before starting an auto-bid; the reader is on top of the auction already
        text = _(
            "Auto-bid on {name} up to {maximum}? The price is {price}. You are on top now, so I wait. "
            "Whenever someone outbids you, I bid the price plus a small step (about 5 %) for you, never above "
            "{maximum}, and tell you each time. It stops at the end, above your maximum, or if your login expires."
        ).format(**shown)
    else:
        # Translators: asks before starting an auto-bid; {first} is the bid placed at once on confirming
        text = _(
            "Auto-bid on {name} up to {maximum}? The price is {price}. I bid {first} at once. "
            "Whenever someone outbids you, I bid the price plus a small step (about 5 %) for you, never above "
            "{maximum}, and tell you each time. It stops at the end, above your maximum, or if your login expires."
        ).format(first=fmt.money(first, currency), **shown)
    return Reply(title=_("Confirm your auto-bid"), text=text, outcome=Outcome.WARNING).with_buttons(
        [
            # Translators: a button label: starts the auto-bid that was asked about
            Button(_("Confirm auto-bid"), f"autobid_confirm {token}", edits=True),
            _cancel(token),
        ]
    )


@commands.command(args=(OFFER,), slow=True, hidden=True, private=True)
async def autobid_confirm(request: Request, services: Services) -> Reply:
    """Start the auto-bid that was asked about (only its owner, once)."""
    offer = await _take(services, request, "autobid")
    login = await current_login(services, request)
    auction = await open_auction(services, offer.auction_id)
    now, currency = services.now(), auction.currency or "DRT"
    platform, chat_id = request.platform, request.chat_id

    def start(session: Session) -> int:
        watches.add_watch(
            session, chat_user_id=login.chat_user_id, auction_id=offer.auction_id, platform=platform,
            chat_id=chat_id, now=now,
        )  # fmt: skip
        return autobids.set_auto_bid(
            session, chat_user_id=login.chat_user_id, auction_id=offer.auction_id, max_amount=offer.amount,
            platform=platform, chat_id=chat_id, now=now,
        )  # fmt: skip

    auto_bid_id = await services.db.run(start)
    maximum = fmt.money(offer.amount, currency)
    top = auction.top_bid
    if top is None or top.user_id != login.auctionity_user_id:
        first = await _first_bid(services, login, auction, auto_bid_id, offer.amount)
        if first:
            return Reply(
                # Translators: a title: the auto-bid is now active
                title=_("Auto-bid on"),
                text=_("I bid {amount} for you on {name} and will keep you on top up to {maximum}.").format(
                    amount=fmt.money(first, currency), name=_name(auction), maximum=maximum
                ),
                outcome=Outcome.SUCCESS,
            ).with_buttons([_off(offer.auction_id)])
    return Reply(
        # Translators: a title: the auto-bid is now active
        title=_("Auto-bid on"),
        text=_("Auto-bid on {name} up to {maximum}: when someone outbids you, I bid for you.").format(
            name=_name(auction), maximum=maximum
        ),
        outcome=Outcome.SUCCESS,
    ).with_buttons([_off(offer.auction_id)])


def _off(auction_id: str) -> Button:
    # Translators: a button label: stops bidding for the reader on this auction
    return Button(_("Stop auto-bid"), f"autobid_off {auction_id}", edits=True)


async def _first_bid(
    services: Services, login: AuctionityLogin, auction: Auction, auto_bid_id: int, maximum: int
) -> int:
    """Bid now for a new auto-bid whose owner is not on top; recorded as its first intent, so the poller does
    not answer the same top bid again. 0 when someone was quicker (the poller answers them), or when the auto-bid
    was changed or stopped meanwhile (another /autobid of theirs decides)."""
    amount = min(suggested_bid(auction), maximum)
    top, now = auction.top_bid, services.now()
    trigger = top.id if top is not None else f"start:{auction.id}"
    # Leased to this command from the start: the poller's auto-bidder leaves it alone meanwhile.
    lease = now + auto_bidding.lease(services.settings.http_timeout_seconds)

    def decide_and_begin(session: Session) -> tuple[int, autobids.Go | None]:
        intent_id = autobids.decide(
            session, auto_bid_id=auto_bid_id, trigger_bid_id=trigger, trigger_amount=auction.amount, amount=amount,
            now=now, placing_until=lease,
        )  # fmt: skip
        if intent_id is None:
            return 0, None
        go = autobids.begin_bid(
            session, intent_id=intent_id, auto_bid_id=auto_bid_id, amount=amount, now=now, lease_until=lease
        )
        return intent_id, go

    intent_id, go = await services.db.run(decide_and_begin)
    if go is None:
        return 0
    try:
        await services.auctionity.bid(login.token, auction.id, go.amount)
    except SessionExpired:
        await forget_login(services, login.chat_user_id)
        await services.db.run(
            lambda s: autobids.stop_auto_bid(s, auto_bid_id=auto_bid_id, reason="session expired", now=now)
        )
        await _settle(services, intent_id, "stopped")
        raise
    except BidTooLow:
        await _settle(services, intent_id, "superseded")
        return 0
    except UpstreamError:
        return 0  # left leased: once the lease ends, the auto-bidder reconciles it with the history
    await _settle(services, intent_id, "placed")
    return go.amount


async def _settle(services: Services, intent_id: int, state: str) -> None:
    now = services.now()
    await services.db.run(lambda s: autobids.finish_intent(s, intent_id=intent_id, state=state, now=now))


@commands.command(args=(AUCTION_ID,), slow=True)
async def autobid_off(request: Request, services: Services) -> Reply:
    """Stop bidding for you on an auction (your bids stay; the watch too)."""
    auction_id = request.values["auction_id"]
    known = await known_user(services, request)
    now = services.now()
    stopped = known is not None and await services.db.run(
        lambda s: autobids.stop_user_auto_bid(s, chat_user_id=known[0], auction_id=auction_id, now=now)
    )
    if not stopped:
        raise UserInputError("not_auto_bidding")
    try:
        found = await services.auctionity.auctions([auction_id])
    except UpstreamError:
        found = []  # stopped all the same: only the name and price are missing from the answer
    if not found:
        # Translators: {auction} is a shortened auction id (its name could not be fetched)
        text = _("Auto-bid on {auction} stopped. Your bids so far stay.").format(auction=fmt.short_id(auction_id))
    else:
        price = fmt.money(found[0].amount, found[0].currency or "DRT")
        # Translators: {name} is the auction's name, {price} its current price
        text = _("Auto-bid on {name} stopped at a price of {price}. Your bids so far stay.").format(
            name=_name(found[0]), price=price
        )
    return Reply(text, outcome=Outcome.SUCCESS)
