"""The auctions Gavel knows: each auction fetched for someone is remembered, and /auctions with no id lists them.

Auctionity has no endpoint that lists its auctions, so the list is what passed through this bot: auctions
created, watched, bid on, posted or looked at by anyone here. Live ones first, a page at a time, with buttons.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.auctions.describe import leader_phrase, status_of
from bot.clients.auctionity import Auction
from bot.core import formatting as fmt
from bot.core.common import PAGE, known_user
from bot.core.i18n import _, ngettext
from bot.core.messages import Button, Reply, Request
from bot.core.registry import CommandGroup
from storage import seen_auctions
from storage.seen_auctions import Seen

if TYPE_CHECKING:
    from bot.core.services import Services

PAGE_SIZE = 5

commands = CommandGroup()


async def remember(services: Services, auctions: Iterable[Auction]) -> None:
    """Keep these auctions in the list (their names and dates brought up to date)."""
    seen = [Seen(a.id, a.name, a.start_date, a.end_date) for a in auctions]
    if seen:
        now = services.now()
        await services.db.run(lambda s: seen_auctions.remember_auctions(s, auctions=seen, now=now))


async def list_known(request: Request, services: Services, page: int = 1) -> Reply:
    """One page of the auctions Gavel knows, live first, each with a button that shows it."""
    now = services.now()
    rows, total = await services.db.read(
        lambda s: seen_auctions.known_auctions(s, now=now, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    )
    pages = max(1, -(-total // PAGE_SIZE))
    if not rows and page > 1:
        return await list_known(request, services, pages)  # past the end (the list got shorter): the last page
    if not rows:
        return Reply(
            _(
                "I do not know of any auction yet: Auctionity cannot list them, so I list the ones created, watched, "
                "bid on or looked at through me. Send /auctions <auction id> to see one, or /newauction to create one."
            )
        )
    found = {a.id.lower(): a for a in await services.auctionity.auctions([r.auction_id for r in rows])}
    await remember(services, found.values())
    known = await known_user(services, request)
    me = known[1] if known else None
    lines, buttons = [], []
    for row in rows:
        auction = found.get(row.auction_id)
        if auction is None:
            # Translators: {auction} is a shortened auction id that Auctionity no longer knows
            lines.append(_("{auction} — not found upstream").format(auction=fmt.short_id(row.auction_id)))
            continue
        count = len(auction.history)
        price = fmt.money(auction.amount, auction.currency or "DRT")
        bids = ngettext("{count} bid", "{count} bids", count).format(count=count)
        status, leader = status_of(auction, now), leader_phrase(auction, now, me)
        lines.append(f"{fmt.clip(auction.name, 60)} — {price}, {bids}, {leader}, {status}")
        buttons.append([Button(fmt.clip(auction.name, 30), f"auctions {auction.id}")])
    nav = []
    if page > 1:
        # Translators: a button label: the previous page
        nav.append(Button(_("◀ Previous"), f"auctions_page {page - 1}", edits=True))
    if page < pages:
        # Translators: a button label: the next page
        nav.append(Button(_("Next ▶"), f"auctions_page {page + 1}", edits=True))
    return Reply(
        # Translators: the title of the list of auctions the bot knows
        title=_("Auctions (page {page} of {pages})").format(page=page, pages=pages),
        text="\n".join(lines),
        footer=_("Live ones first: the auctions created, watched, bid on or looked at through me."),
    ).with_buttons(*buttons, nav)


@commands.command(args=(PAGE,), hidden=True, slow=True)
async def auctions_page(request: Request, services: Services) -> Reply:
    """A page of the auctions Gavel knows (the list's buttons)."""
    return await list_known(request, services, request.values.get("page") or 1)
