"""auctions, myauctions, newauction, bid, winner: Auctionity from chat (how an auction reads: describe.py)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from bot.auctions.accounts import AuctionityLogin, current_login, forget_login
from bot.auctions.charts import auction_price_picture
from bot.auctions.describe import auction_buttons, describe_auction, leader_phrase, status_of
from bot.auctions.known import list_known, remember
from bot.auctions.rules import check_amount
from bot.clients.auctionity import Auction
from bot.core import formatting as fmt
from bot.core.common import AMOUNT, AUCTION_ID, PAGE, known_user
from bot.core.errors import AuctionNotFound, BidTooLow, RateLimited, SessionExpired, UserInputError
from bot.core.i18n import _, ngettext
from bot.core.limits import Limit, limited
from bot.core.messages import Button, Field, Outcome, Reply, Request
from bot.core.registry import ArgKind, Argument, CommandGroup
from storage import seen_auctions, users, watches
from storage.seen_auctions import Seen

if TYPE_CHECKING:
    from bot.core.services import Services

T = TypeVar("T")

PAGE_SIZE = 5
REFRESH_EVERY = timedelta(seconds=10)  # a Refresh draws nothing new sooner: prices move with bids, not presses
SORT_FIELDS = ("created_at", "name", "start_at", "end_at")
SORT_ORDERS = ("desc", "asc")
CURRENCY_SHAPE = re.compile(r"^[A-Z]{3,5}$")  # DRT, ETH, USDC: three to five capital letters

commands = CommandGroup()


async def as_user(services: Services, request: Request, call: Callable[[AuctionityLogin], Awaitable[T]]) -> T:
    """Run an authenticated call with the asker's own session; a rejected session is forgotten."""
    login = await current_login(services, request)
    try:
        return await call(login)
    except SessionExpired:
        await forget_login(services, login.chat_user_id)
        raise


async def _own_auctionity_id(services: Services, request: Request) -> str | None:
    known = await known_user(services, request)
    return known[1] if known else None


IDS = Argument("ids", "one or more auction ids", ArgKind.AUCTION_IDS, False, rest=True, autocomplete="watched_auctions")


@commands.command(args=(IDS,), slow=True)
async def auctions(request: Request, services: Services) -> Reply:
    """Show auctions by id: price, bids, time left; with no id, the auctions Gavel knows, live first."""
    ids = request.values.get("ids")
    if not ids:
        return await list_known(request, services)
    return await _show(request, services, ids)


@commands.command(args=(AUCTION_ID,), slow=True, hidden=True)
async def refresh(request: Request, services: Services) -> Reply:
    """Show an auction again, up to date."""
    # What a Refresh button runs: at most once a REFRESH_EVERY per person and auction (each may draw a chart).
    auction_id = request.values["auction_id"]
    # The bucket is the person's and the auction's: refreshing one card never holds back another.
    limit = Limit(f"refresh:{request.who}:{auction_id}", 1, REFRESH_EVERY, failures_only=False)
    try:
        async with limited(services, [limit], action="refresh", failures=()):
            pass
    except RateLimited:
        raise UserInputError("just_refreshed") from None
    return await _show(request, services, [auction_id])


async def _show(request: Request, services: Services, ids: list[str]) -> Reply:
    found = {a.id.lower(): a for a in await services.auctionity.auctions(ids)}
    await remember(services, found.values())
    now, me = services.now(), await _own_auctionity_id(services, request)
    if len(ids) == 1:
        auction = found.get(ids[0])
        if auction is None:
            raise AuctionNotFound()
        status, fields = describe_auction(auction, now, me)
        return Reply(
            # Translators: the title of an auction that has no name
            title=fmt.clip(auction.name, 200) or _("Auction"),
            text=status[:1].upper() + status[1:],
            fields=fields,
            image=await auction_price_picture(auction, now=now),
        ).with_buttons(auction_buttons(auction, now, watching=await _watching(services, request, auction.id)))
    lines, buttons = [], []
    for auction_id in ids:
        auction = found.get(auction_id)
        if auction is None:
            lines.append(_("{auction} — not found").format(auction=fmt.short_id(auction_id)))
            continue
        count = len(auction.history)
        price = fmt.money(auction.amount, auction.currency or "DRT")
        bids = ngettext("{count} bid", "{count} bids", count).format(count=count)
        leader, status = leader_phrase(auction, now, me), status_of(auction, now)
        lines.append(f"{fmt.clip(auction.name, 60)} — {price}, {bids}, {leader}, {status}")
        buttons.append(Button(fmt.clip(auction.name, 20), f"auctions {auction.id}"))
    return Reply(title=_("Auctions"), text="\n".join(lines)).with_buttons(buttons[:5])


async def _watching(services: Services, request: Request, auction_id: str) -> bool:
    """Whether the asker watches this auction already (its buttons then offer Unwatch, not Watch)."""
    known = await known_user(services, request)
    if known is None:
        return False
    watched = await services.db.read(lambda s: watches.active_watches_for_user(s, chat_user_id=known[0]))
    return any(w.auction_id == auction_id for w in watched)


@commands.command(
    args=(
        Argument("field", "sort by", ArgKind.CHOICE, False, choices=SORT_FIELDS),
        Argument("order", "the order", ArgKind.CHOICE, False, choices=SORT_ORDERS),
        PAGE,
    ),
    slow=True,
)
async def myauctions(request: Request, services: Services) -> Reply:
    """List the auctions you created."""
    field = request.values.get("field") or "created_at"
    order = request.values.get("order") or "desc"
    page = request.values.get("page") or 1
    result = await as_user(
        services,
        request,
        lambda login: services.auctionity.user_auctions(
            login.token, field=field, order=order.upper(), page=page, per_page=PAGE_SIZE
        ),
    )
    if not result.auctions:
        if page == 1:
            text = _("You have not created any auction yet. Try /newauction.")
        else:
            text = _("No auctions on this page.")
        return Reply(text)
    now = services.now()
    pages = max(1, (result.total + PAGE_SIZE - 1) // PAGE_SIZE)
    lines = []
    for auction in result.auctions:
        status, fields = describe_auction(auction, now, None)
        count = len(auction.history)
        bids = ngettext("{count} bid", "{count} bids", count).format(count=count)
        lines.append(f"{fmt.clip(auction.name, 60)} — {fields[0].value}, {bids}, {status}\n  {auction.id}")
    nav = []
    if page > 1:
        # Translators: a button label: the previous page
        nav.append(Button(_("◀ Previous"), f"myauctions {field} {order} {page - 1}", edits=True))
    if page < pages:
        # Translators: a button label: the next page
        nav.append(Button(_("Next ▶"), f"myauctions {field} {order} {page + 1}", edits=True))
    open_buttons = [Button(fmt.clip(a.name, 20), f"auctions {a.id}") for a in result.auctions]
    return Reply(
        title=_("Your auctions (page {page} of {pages})").format(page=page, pages=pages),
        text="\n".join(lines),
        # Translators: how many auctions there are over all pages
        footer=_("{count} in all").format(count=result.total),
    ).with_buttons(open_buttons, nav)


@commands.command(
    args=(
        Argument("name", "the auction's name (quoted if it has spaces)", ArgKind.NAME),
        Argument("base_amount", "the starting price", ArgKind.AMOUNT),
        Argument("start", "ISO 8601, or now, or +1h", ArgKind.WHEN),
        Argument("end", "ISO 8601, or +2h, +3d, +90m", ArgKind.WHEN),
        Argument("currency", "default DRT", required=False),
    ),
    slow=True,
)
async def newauction(request: Request, services: Services) -> Reply:
    """Create an auction: /newauction "Old lamp" 150 now +2h (quote names with spaces)."""
    now = services.now()
    name, base_amount = request.values["name"], request.values["base_amount"]
    start, end = request.values["start"], request.values["end"]
    if end <= start:
        raise UserInputError("end_before_start")
    if end <= now:
        raise UserInputError("end_in_past")
    if start < now - timedelta(minutes=5):
        raise UserInputError("start_in_past")
    currency = request.values.get("currency")
    if currency is not None:
        currency = str(currency).upper()
        if not CURRENCY_SHAPE.match(currency):
            raise UserInputError("not_a_currency")
    auction_id = await as_user(
        services,
        request,
        lambda login: services.auctionity.create_auction(
            login.token,
            name=name,
            base_amount=base_amount,
            start_at=max(start, now),
            end_at=end,
            currency=currency,
        ),
    )
    await services.db.run(lambda s: seen_auctions.remember_auctions(s, auctions=[
        Seen(auction_id, name, max(start, now), end)
    ], now=now))  # fmt: skip
    return Reply(
        title=_("Auction created"),
        # Translators: {price} is the starting price, {when} a relative time ("in 2h"), {date} the end date
        text=_("{name} — starts at {price}, ends {when} ({date}).").format(
            name=name,
            price=fmt.money(base_amount, (currency or "DRT").upper()),
            when=fmt.relative(end, now),
            date=fmt.date(end),
        ),
        # Translators: a field name: the auction's id (a long hex code)
        fields=(Field(_("Id"), auction_id, inline=False),),
        outcome=Outcome.SUCCESS,
    ).with_buttons(
        [
            # Translators: a button label: get alerts for this auction
            Button(_("Watch"), f"watch {auction_id}"),
            # Translators: a button label: shows the auction's details
            Button(_("Show"), f"auctions {auction_id}"),
        ]
    )


@commands.command(args=(AUCTION_ID, AMOUNT), slow=True)
async def bid(request: Request, services: Services) -> Reply:
    """Bid on an auction.

    Checked first, and sent once: a bid is never retried. Typed, it bids at once; a Bid button asks first.
    """
    return await place_bid(services, request, request.values["auction_id"], request.values["amount"])


async def open_auction(services: Services, auction_id: str) -> Auction:
    """The auction, if it takes bids now; else the error that says why."""
    found = await services.auctionity.auctions([auction_id])
    if not found:
        raise AuctionNotFound()
    await remember(services, found)
    auction, now = found[0], services.now()
    if not auction.has_started(now):
        raise UserInputError("not_started", starts=fmt.Moment(auction.start_date, now))
    if auction.has_ended(now):
        raise UserInputError("auction_ended", ended=fmt.Moment(auction.end_date, now))
    return auction


async def place_bid(services: Services, request: Request, auction_id: str, amount: int) -> Reply:
    """Check, then bid once with the asker's own session (a typed /bid, or a confirmed Bid button)."""
    login = await current_login(services, request)  # fail fast, before any upstream call
    auction = await open_auction(services, auction_id)
    check_amount(auction, amount)
    now, currency = services.now(), auction.currency or "DRT"
    try:
        receipt = await services.auctionity.bid(login.token, auction_id, amount)
    except SessionExpired:
        await forget_login(services, login.chat_user_id)
        raise
    except BidTooLow:
        raise UserInputError("outbid_meanwhile") from None
    if receipt.user_id and receipt.user_id != login.auctionity_user_id:
        await services.db.run(
            lambda s: users.set_auctionity_user_id(
                s, chat_user_id=login.chat_user_id, auctionity_user_id=receipt.user_id
            )
        )
    return Reply(
        title=_("Bid placed"),
        # Translators: {when} is a relative time such as "in 2h 5m"
        text=_("You bid {amount} on {name}. It ends {when}.").format(
            amount=fmt.money(amount, currency),
            name=fmt.clip(auction.name, 100),
            when=fmt.relative(auction.end_date, now),
        ),
        outcome=Outcome.SUCCESS,
    ).with_buttons(
        [
            # Translators: a button label: stops alerts for this auction
            Button(_("Unwatch"), f"unwatch {auction_id}")
            if await _watching(services, request, auction_id)
            # Translators: a button label: get alerts for this auction
            else Button(_("Watch"), f"watch {auction_id}"),
            # Translators: a button label: shows the auction again, up to date
            Button(_("Refresh"), f"refresh {auction_id}"),
        ]
    )


@commands.command(args=(AUCTION_ID,), private=True, slow=True)
async def winner(request: Request, services: Services) -> Reply:
    """See who won your auction (creator only)."""
    auction_id = request.values["auction_id"]
    found = await services.auctionity.auctions([auction_id])
    if not found:
        raise AuctionNotFound()
    auction, now = found[0], services.now()
    await remember(services, found)
    name = fmt.clip(auction.name, 100)
    if not auction.has_ended(now):
        raise UserInputError("winner_not_yet", name=name, ends=fmt.Moment(auction.end_date, now))
    if auction.top_bid is None:
        raise UserInputError("winner_no_bids", name=name)
    email = await as_user(services, request, lambda login: services.auctionity.winner(login.token, auction_id))
    price = fmt.money(auction.amount, auction.currency or "DRT")
    return Reply(
        title=_("Winner"),
        # Translators: {name} is the auction's name, {price} its final price, {email} the winner's email address
        text=_("The winner of {name} is {email}, at {price}.").format(name=name, email=email, price=price),
    )
