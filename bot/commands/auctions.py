"""auctions, myauctions, newauction, bid, winner: Auctionity from chat."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from bot import formatting as fmt
from bot.clients.auctionity import Auction
from bot.commands.auth import AuctionityLogin, current_login, forget_login
from bot.errors import AuctionNotFound, BidTooLow, SessionExpired, UserInputError
from bot.messages import Button, Field, Outcome, Reply, Request
from storage import repo

if TYPE_CHECKING:
    from bot.services import Services

T = TypeVar("T")

AUCTION_ID_SHAPE = re.compile(r"^0x[0-9a-fA-F]{64}$")
MAX_AMOUNT = 10**12
MAX_NAME_LENGTH = 120
MAX_AUCTIONS_AT_ONCE = 10
PAGE_SIZE = 5
SORT_FIELDS = ("created_at", "name", "start_at", "end_at")
SORT_ORDERS = ("desc", "asc")
CURRENCY_SHAPE = re.compile(r"^[A-Za-z]{2,6}$")


def clean_auction_id(raw: str) -> str:
    """``0x`` + 64 hex digits, any case, returned lowercase; UserInputError otherwise."""
    value = raw.strip().strip("<>`")
    if not AUCTION_ID_SHAPE.match(value):
        shown = fmt.clip(value, 20)
        raise UserInputError(
            f"{shown!r} is not an auction id. An auction id is 0x followed by 64 hexadecimal digits "
            "(0-9, a-f), as shown by /myauctions."
        )
    return value.lower()


def clean_amount(raw: object) -> int:
    """A whole positive number of at most 10^12; UserInputError otherwise."""
    text = str(raw).strip().replace("_", "").replace(",", "")
    if text.startswith("-"):
        raise UserInputError("The amount must be positive.")
    if not text.isdecimal():  # isdigit() admits "²", which int() refuses
        raise UserInputError(f"The amount must be a whole number, like 150 (not {fmt.clip(str(raw), 20)!r}).")
    amount = int(text)
    if amount <= 0:
        raise UserInputError("The amount must be at least 1.")
    if amount > MAX_AMOUNT:
        raise UserInputError("That amount is too large.")
    return amount


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def bid_step(amount: int) -> int:
    """A sensible increment for "Bid +step": about 5 %, at least 1."""
    return max(1, round(amount * 0.05))


def minimum_bid(auction: Auction) -> int:
    return auction.amount + 1 if auction.history else (auction.base_amount or auction.amount)


async def as_user(services: Services, request: Request, call: Callable[[AuctionityLogin], Awaitable[T]]) -> T:
    """Run an authenticated call with the asker's own session; a rejected session is forgotten."""
    login = current_login(services, request)
    try:
        return await call(login)
    except SessionExpired:
        forget_login(services, login.chat_user_id)
        raise


def _own_auctionity_id(services: Services, request: Request) -> str | None:
    with services.db() as session:
        user = repo.find_chat_user(session, platform=request.platform, platform_user_id=request.user_id)
        return user.auctionity_user_id if user else None


def describe_auction(auction: Auction, now: datetime, me: str | None) -> tuple[str, tuple[Field, ...]]:
    """One auction as a status line and fields: price, bids, who is on top, when it starts and ends."""
    top = auction.top_bid
    currency = auction.currency or "DRT"
    ended = auction.has_ended(now)
    if top is None:
        leader = "no bids yet"
    elif me and top.user_id == me:
        leader = "you won" if ended else "you are on top"
    else:
        leader = "someone else won" if ended else "someone else is on top"
    if not auction.has_started(now):
        status = f"starts {fmt.relative(auction.start_date, now)}"
    elif ended:
        status = f"ended {fmt.relative(auction.end_date, now)}"
    else:
        status = f"ends {fmt.relative(auction.end_date, now)}"
    fields = (
        Field("Current price", fmt.money(auction.amount, currency)),
        Field("Bids", str(len(auction.history))),
        Field("Top bidder", leader),
        Field("Starts", fmt.date(auction.start_date)),
        Field("Ends", f"{fmt.date(auction.end_date)} ({status})"),
        Field("Id", auction.id, inline=False),
    )
    return status, fields


def auction_buttons(auction: Auction, now: datetime) -> tuple[Button, ...]:
    if auction.has_ended(now):
        return (Button("Winner", f"winner {auction.id}"), Button("Refresh", f"auctions {auction.id}", edits=True))
    buttons = [Button("Watch", f"watch {auction.id}")]
    if auction.has_started(now) and not auction.has_ended(now):
        next_bid = minimum_bid(auction) + (bid_step(auction.amount) - 1 if auction.history else 0)
        buttons.append(Button(f"Bid {next_bid}", f"bid {auction.id} {next_bid}"))
    buttons.append(Button("Refresh", f"auctions {auction.id}", edits=True))
    return tuple(buttons)


async def auctions(request: Request, services: Services) -> Reply:
    """Show auctions by id: price, bids, who is on top, and time left."""
    raw_ids = str(request.values.get("ids", "")).replace(",", " ").split()
    if not raw_ids:
        return await _watched_overview(request, services)
    if len(raw_ids) > MAX_AUCTIONS_AT_ONCE:
        raise UserInputError(f"Ask for at most {MAX_AUCTIONS_AT_ONCE} auctions at once.")
    ids = [clean_auction_id(raw) for raw in raw_ids]
    found = {a.id.lower(): a for a in await services.auctionity.auctions(ids)}
    now, me = services.now(), _own_auctionity_id(services, request)
    if len(ids) == 1:
        auction = found.get(ids[0])
        if auction is None:
            raise AuctionNotFound()
        status, fields = describe_auction(auction, now, me)
        return Reply(
            title=fmt.clip(auction.name, 200) or "Auction", text=status.capitalize(), fields=fields
        ).with_buttons(auction_buttons(auction, now))
    lines, buttons = [], []
    for auction_id in ids:
        auction = found.get(auction_id)
        if auction is None:
            lines.append(f"{fmt.short_id(auction_id)} — not found")
            continue
        status, fields = describe_auction(auction, now, me)
        price, bids, leader = fields[0].value, plural(len(auction.history), "bid"), fields[2].value
        lines.append(f"{fmt.clip(auction.name, 60)} — {price}, {bids}, {leader}, {status}")
        buttons.append(Button(fmt.clip(auction.name, 20), f"auctions {auction.id}"))
    return Reply(title="Auctions", text="\n".join(lines)).with_buttons(buttons[:5])


async def _watched_overview(request: Request, services: Services) -> Reply:
    with services.db() as session:
        user = repo.find_chat_user(session, platform=request.platform, platform_user_id=request.user_id)
        watched = [w.auction_id for w in repo.active_watches_for_user(session, chat_user_id=user.id)] if user else []
    if not watched:
        return Reply(
            "Send /auctions <auction id> to see an auction (ids look like 0x followed by 64 hex digits). "
            "Your own auctions are in /myauctions; /watch an auction to see it here."
        )
    return await auctions(replace(request, values={"ids": " ".join(watched[:MAX_AUCTIONS_AT_ONCE])}), services)


async def myauctions(request: Request, services: Services) -> Reply:
    """The auctions you created, a page at a time."""
    field = request.values.get("field") or "created_at"
    order = request.values.get("order") or "desc"
    page = int(request.values.get("page") or 1)
    result = await as_user(
        services,
        request,
        lambda login: services.auctionity.user_auctions(
            login.token, field=field, order=order.upper(), page=page, per_page=PAGE_SIZE
        ),
    )
    if not result.auctions:
        text = "You have not created any auction yet. Try /newauction." if page == 1 else "No auctions on this page."
        return Reply(text)
    now = services.now()
    pages = max(1, (result.total + PAGE_SIZE - 1) // PAGE_SIZE)
    lines = []
    for auction in result.auctions:
        status, fields = describe_auction(auction, now, None)
        bids = plural(len(auction.history), "bid")
        lines.append(f"{fmt.clip(auction.name, 60)} — {fields[0].value}, {bids}, {status}\n  {auction.id}")
    nav = []
    if page > 1:
        nav.append(Button("◀ Previous", f"myauctions {field} {order} {page - 1}", edits=True))
    if page < pages:
        nav.append(Button("Next ▶", f"myauctions {field} {order} {page + 1}", edits=True))
    open_buttons = [Button(fmt.clip(a.name, 20), f"auctions {a.id}") for a in result.auctions]
    return Reply(
        title=f"Your auctions (page {page} of {pages})", text="\n".join(lines), footer=f"{result.total} in all"
    ).with_buttons(open_buttons, nav)


async def newauction(request: Request, services: Services) -> Reply:
    """Create an auction: name, base amount, start and end (ISO 8601, now, +2h, +3d)."""
    now = services.now()
    name = " ".join(str(request.values.get("name", "")).split())
    if not name:
        raise UserInputError("The auction needs a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise UserInputError(f"The name is too long (at most {MAX_NAME_LENGTH} characters).")
    base_amount = clean_amount(request.values.get("base_amount", ""))
    start = fmt.parse_when(str(request.values.get("start", "")), now)
    end = fmt.parse_when(str(request.values.get("end", "")), now)
    if start is None or end is None:
        raise UserInputError("Give start and end as ISO 8601 (2026-12-01T18:00Z), now, or +2h / +3d / +90m.")
    if end <= start:
        raise UserInputError("The end must come after the start.")
    if end <= now:
        raise UserInputError("The end must be in the future.")
    if start < now - timedelta(minutes=5):
        raise UserInputError("The start cannot be in the past; use now.")
    currency = request.values.get("currency")
    if currency is not None and not CURRENCY_SHAPE.match(str(currency)):
        raise UserInputError("A currency is 2 to 6 letters, like DRT or ETH.")
    auction_id = await as_user(
        services,
        request,
        lambda login: services.auctionity.create_auction(
            login.token,
            name=name,
            base_amount=base_amount,
            start_at=max(start, now),
            end_at=end,
            currency=str(currency).upper() if currency else None,
        ),
    )
    return Reply(
        title="Auction created",
        text=f"{name} — starts at {fmt.money(base_amount, (currency or 'DRT').upper())}, "
        f"ends {fmt.relative(end, now)} ({fmt.date(end)}).",
        fields=(Field("Id", auction_id, inline=False),),
        outcome=Outcome.SUCCESS,
    ).with_buttons([Button("Watch", f"watch {auction_id}"), Button("Show", f"auctions {auction_id}")])


async def bid(request: Request, services: Services) -> Reply:
    """Bid on an auction (checked first, sent once: a bid is never retried)."""
    auction_id = clean_auction_id(str(request.values.get("auction_id", "")))
    amount = clean_amount(request.values.get("amount", ""))
    login = current_login(services, request)  # fail fast, before any upstream call
    found = await services.auctionity.auctions([auction_id])
    if not found:
        raise AuctionNotFound()
    auction, now = found[0], services.now()
    currency = auction.currency or "DRT"
    if not auction.has_started(now):
        raise UserInputError(f"This auction has not started yet: it opens {fmt.relative(auction.start_date, now)}.")
    if auction.has_ended(now):
        raise UserInputError(f"This auction has ended ({fmt.relative(auction.end_date, now)}); no more bids.")
    if amount < minimum_bid(auction):
        raise UserInputError(
            f"Your bid must be at least {fmt.money(minimum_bid(auction), currency)} "
            f"(the current price is {fmt.money(auction.amount, currency)})."
        )
    try:
        receipt = await services.auctionity.bid(login.token, auction_id, amount)
    except SessionExpired:
        forget_login(services, login.chat_user_id)
        raise
    except BidTooLow:
        raise UserInputError("Someone bid higher a moment ago. Check /auctions and bid again.") from None
    if receipt.user_id and receipt.user_id != login.auctionity_user_id:
        with services.db() as session:
            repo.set_auctionity_user_id(session, chat_user_id=login.chat_user_id, auctionity_user_id=receipt.user_id)
    return Reply(
        title="Bid placed",
        text=f"You bid {fmt.money(amount, currency)} on {fmt.clip(auction.name, 100)}. "
        f"It ends {fmt.relative(auction.end_date, now)}.",
        outcome=Outcome.SUCCESS,
    ).with_buttons([Button("Watch", f"watch {auction_id}"), Button("Refresh", f"auctions {auction_id}")])


async def winner(request: Request, services: Services) -> Reply:
    """Who won your auction (only its creator may ask)."""
    auction_id = clean_auction_id(str(request.values.get("auction_id", "")))
    email = await as_user(services, request, lambda login: services.auctionity.winner(login.token, auction_id))
    return Reply(title="Winner", text=f"The winner of {fmt.short_id(auction_id)} is {email}.", ephemeral=True)
