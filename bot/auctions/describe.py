"""How an auction reads in chat: its status, its fields, who leads, and the buttons under it."""

from __future__ import annotations

from datetime import datetime

from bot.auctions.rules import suggested_bid
from bot.clients.auctionity import Auction
from bot.core import formatting as fmt
from bot.core.i18n import _
from bot.core.messages import Button, Field


def status_of(auction: Auction, now: datetime) -> str:
    """``starts in 2h``, ``ends in 5m`` or ``ended 3d ago``."""
    if not auction.has_started(now):
        # Translators: an auction's status; {when} is a relative time such as "in 2h 5m"
        return _("starts {when}").format(when=fmt.relative(auction.start_date, now))
    if auction.has_ended(now):
        # Translators: an auction's status; {when} is a relative time such as "3d 4h ago"
        return _("ended {when}").format(when=fmt.relative(auction.end_date, now))
    # Translators: an auction's status; {when} is a relative time such as "in 2h 5m"
    return _("ends {when}").format(when=fmt.relative(auction.end_date, now))


def leader_phrase(auction: Auction, now: datetime, me: str | None) -> str:
    """Who leads, as a phrase for a line in a list: ``you are on top``, ``someone else won``, ``no bids yet``."""
    top, ended = auction.top_bid, auction.has_ended(now)
    if top is None:
        # Translators: in a list of auctions: nobody has bid on this one
        return _("no bids yet")
    if me and top.user_id == me:
        # Translators: in a list of auctions: the reader leads (won: the auction has ended)
        return _("you won") if ended else _("you are on top")
    # Translators: in a list of auctions: another bidder leads (won: the auction has ended)
    return _("someone else won") if ended else _("someone else is on top")


def _leader_field(auction: Auction, now: datetime, me: str | None) -> Field:
    """The "Top bidder" field (the "Winner" once it has ended): its value names a person, never a sentence."""
    top = auction.top_bid
    if top is None:
        # Translators: the value of the "Top bidder" or "Winner" field when nobody has bid
        who = _("nobody (no bids)")
    elif me and top.user_id == me:
        # Translators: the value of the "Top bidder" or "Winner" field: the reader
        who = _("you")
    else:
        # Translators: the value of the "Top bidder" or "Winner" field: another bidder
        who = _("someone else")
    # Translators: a field name: who won the auction that has ended
    return Field(_("Winner") if auction.has_ended(now) else _("Top bidder"), who)


def describe_auction(auction: Auction, now: datetime, me: str | None) -> tuple[str, tuple[Field, ...]]:
    """One auction as a status line and fields: price, bids, who leads, when it starts and ends."""
    status = status_of(auction, now)
    currency = auction.currency or "DRT"
    fields = (
        Field(_("Current price"), fmt.money(auction.amount, currency)),
        # Translators: a field name: how many bids the auction has
        Field(_("Bids"), str(len(auction.history))),
        _leader_field(auction, now, me),
        # Translators: a field name: when the auction starts
        Field(_("Starts"), fmt.date(auction.start_date)),
        # Translators: a field name: when the auction ends
        Field(_("Ends"), f"{fmt.date(auction.end_date)} ({status})"),
        # Translators: a field name: the auction's id (a long hex code)
        Field(_("Id"), auction.id, inline=False),
    )
    return status, fields


def auction_buttons(auction: Auction, now: datetime, *, watching: bool = False) -> tuple[Button, ...]:
    """Watch (or Unwatch, when the reader already does), Bid the suggested amount while it runs, Refresh."""
    if auction.has_ended(now):
        return (
            # Translators: a button label: shows who won the auction
            Button(_("Winner"), f"winner {auction.id}"),
            # Translators: a button label: shows the auction again, up to date
            Button(_("Refresh"), f"refresh {auction.id}", edits=True),
        )
    if watching:
        # Translators: a button label: stops alerts for this auction
        buttons = [Button(_("Unwatch"), f"unwatch {auction.id}")]
    else:
        # Translators: a button label: get alerts for this auction
        buttons = [Button(_("Watch"), f"watch {auction.id}")]
    if auction.has_started(now):
        next_bid = suggested_bid(auction)
        # Translators: a button label: bid this amount (asks to confirm first)
        buttons.append(Button(_("Bid {amount}").format(amount=next_bid), f"bid_ask {auction.id} {next_bid}"))
    # Translators: a button label: shows the auction again, up to date
    buttons.append(Button(_("Refresh"), f"refresh {auction.id}", edits=True))
    return tuple(buttons)
