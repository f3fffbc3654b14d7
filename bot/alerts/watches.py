"""watch, unwatch, watches: follow auctions and get alerts when outbid, ending soon, or ended."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.auctions.describe import leader_phrase, status_of
from bot.auctions.known import remember
from bot.core import formatting as fmt
from bot.core.common import AUCTION_ID, chat_user_id, known_user
from bot.core.errors import AuctionNotFound, UserInputError
from bot.core.i18n import _, ngettext
from bot.core.messages import Button, Outcome, Reply, Request
from bot.core.registry import ArgKind, Argument, CommandGroup
from storage import autobids
from storage import watches as watch_rows

if TYPE_CHECKING:
    from bot.core.services import Services

MAX_WATCHES_PER_USER = 200

commands = CommandGroup()

REMINDERS = Argument(
    "options", "remind 1h,10m: when to remind you before the end", ArgKind.REMINDERS, required=False, rest=True
)


def _reminder_text(minutes: list[int]) -> str:
    """``1h before the end and 10m before the end``: each reminder its own time, never read as one duration."""
    # Translators: one reminder's time; {duration} is like "10m". Several are joined: "1h before the end and 10m…"
    return fmt.listing(
        [_("{duration} before the end").format(duration=fmt.duration(timedelta(minutes=m))) for m in minutes]
    )


@commands.command(args=(AUCTION_ID, REMINDERS), slow=True)
async def watch(request: Request, services: Services) -> Reply:
    """Get alerts for an auction: /watch <id> [remind 1h,10m].

    Outbid, ending soon (at times you pick), won or lost.
    """
    auction_id = request.values["auction_id"]
    reminders = request.values.get("options") or [services.settings.ending_soon_minutes]
    found = await services.auctionity.auctions([auction_id])
    if not found:
        raise AuctionNotFound()
    auction, now = found[0], services.now()
    user_id = await chat_user_id(services, request)

    def add(session: Session) -> None:
        if len(watch_rows.active_watches_for_user(session, chat_user_id=user_id)) >= MAX_WATCHES_PER_USER:
            raise UserInputError("watch_limit", limit=MAX_WATCHES_PER_USER)
        watch_rows.add_watch(
            session,
            chat_user_id=user_id,
            auction_id=auction_id,
            platform=request.platform,
            chat_id=request.chat_id,
            remind_minutes=reminders,
            now=now,
        )

    await services.db.run(add)
    await remember(services, found)
    status, name = status_of(auction, now), fmt.clip(auction.name, 100)
    # Only reminders still ahead are promised: "2m before the end" of an auction ending in 53 s never comes.
    ahead = [m for m in reminders if auction.end_date - timedelta(minutes=m) > now]
    if auction.has_ended(now):
        text = _("{name} has already ended; I will tell you the result.").format(name=name)
    elif ahead:
        # Translators: {status} is like "ends in 2h 5m"; {reminders} like "1h before the end and 10m before the end"
        text = _(
            "Watching {name} ({status}). I will tell you when you are outbid, {reminders}, and when it ends."
        ).format(name=name, status=status, reminders=_reminder_text(ahead))
    else:
        # Translators: {status} is like "ends in 53s": too soon for any reminder
        text = _(
            "Watching {name} ({status}): too soon for a reminder, but I will tell you when you are outbid, "
            "and when it ends."
        ).format(name=name, status=status)
    # Translators: a title: the reader now follows the auction
    return Reply(title=_("Watching"), text=text, outcome=Outcome.SUCCESS).with_buttons(
        [
            # Translators: a button label: stops alerts for this auction
            Button(_("Unwatch"), f"unwatch {auction_id}"),
            # Translators: a button label: shows the auction's details
            Button(_("Show"), f"auctions {auction_id}"),
        ]
    )


@commands.command(args=(AUCTION_ID,))
async def unwatch(request: Request, services: Services) -> Reply:
    """Stop alerts for an auction."""
    auction_id = request.values["auction_id"]
    known = await known_user(services, request)
    removed = known is not None and await services.db.run(
        lambda s: watch_rows.deactivate_watch(s, chat_user_id=known[0], auction_id=auction_id)
    )
    if not removed:
        # Translators: {auction} is a shortened auction id
        return Reply(_("You were not watching {auction}.").format(auction=fmt.short_id(auction_id)))
    # Translators: {auction} is a shortened auction id
    text = _("No more alerts for {auction}.").format(auction=fmt.short_id(auction_id))
    return Reply(text, outcome=Outcome.SUCCESS).with_buttons(
        # Translators: a button label: get alerts for this auction again
        [Button(_("Watch again"), f"watch {auction_id}")]
    )


@commands.command(slow=True)
async def watches(request: Request, services: Services) -> Reply:
    """List the auctions you watch.

    With time left, price, whether you are on top, and (in a private chat) your auto-bids' maximums.
    """
    known = await known_user(services, request)
    watched, bidding = (
        await services.db.read(
            lambda s: (
                watch_rows.active_watches_for_user(s, chat_user_id=known[0]),
                autobids.auto_bids_for_user(s, chat_user_id=known[0]),
            )
        )
        if known
        else ([], {})
    )
    if not watched or known is None:
        return Reply(_("You are not watching any auction. Send /watch <auction id>, or press Watch under an auction."))
    me = known[1]
    found = {a.id.lower(): a for a in await services.auctionity.auctions([w.auction_id for w in watched])}
    now = services.now()
    lines, buttons = [], []
    for item in watched:
        auction = found.get(item.auction_id)
        if auction is None:
            # Translators: {auction} is a shortened auction id that Auctionity does not know
            lines.append(_("{auction} — not found upstream").format(auction=fmt.short_id(item.auction_id)))
            continue
        status, leader = status_of(auction, now), leader_phrase(auction, now, me)
        name, price = fmt.clip(auction.name, 50), fmt.money(auction.amount, auction.currency or "DRT")
        if item.auction_id in bidding and request.is_private:  # a maximum is shown to its owner alone
            maximum = fmt.money(bidding[item.auction_id], auction.currency or "DRT")
            # Translators: a watched auction: {leader} is like "you are on top", {status} like "ends in 2h 5m"
            line = _("{name} — {price}, {leader}, {status}; auto-bid up to {maximum}").format(
                name=name, price=price, leader=leader, status=status, maximum=maximum
            )
        else:
            line = f"{name} — {price}, {leader}, {status}"
        lines.append(line)
        # Translators: a button label: stops alerts for the auction named {name}
        label = _("Unwatch {name}").format(name=fmt.clip(auction.name, 15))
        buttons.append(Button(label, f"unwatch {item.auction_id}"))
    # Translators: a title: {count} is how many auctions the reader watches
    title = ngettext("You watch {count} auction", "You watch {count} auctions", len(watched)).format(count=len(watched))
    footer = None
    if bidding and not request.is_private:
        footer = _("Your auto-bids and their maximums are shown only in our private chat.")
    reply = Reply(title=title, text="\n".join(lines), footer=footer)
    return reply.with_buttons(*[[b] for b in buttons[:5]])
