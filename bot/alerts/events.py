"""What the watcher tells people: the pure diff of (stored state, fetched auction) -> (new state, alerts)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.auctions.rules import suggested_bid
from bot.clients.auctionity import Auction, Bid
from bot.core import formatting as fmt
from bot.core import i18n
from bot.core.clock import as_utc
from bot.core.i18n import _, ngettext
from bot.core.messages import Button, Outcome, Reply
from storage.auction_states import AuctionSnapshot

__all__ = ["AuctionSnapshot", "Event", "EventKind", "WatcherInfo", "diff_auction", "is_quiet", "observe"]

DEDUPE_KEY_MAX = 200  # the outbox column's width


class EventKind(StrEnum):
    OUTBID = "outbid"  # your bid was on top and no longer is
    NEW_BID = "new_bid"  # someone bid on an auction you watch (only with NOTIFY_NEW_BIDS)
    ENDING_SOON = "ending_soon"  # one of your reminder times before the end was reached
    WON = "won"  # ended with your bid on top
    LOST = "lost"  # ended, you bid, someone else's bid was on top
    ENDED = "ended"  # ended; you only watched


@dataclass(frozen=True)
class WatcherInfo:
    """One active watch: who to tell, where, and what they asked for."""

    chat_user_id: int
    platform: str
    chat_id: str
    user_id: str  # the platform's user id
    auctionity_user_id: str | None = None  # None: we cannot tell their bids apart, so they only watch
    reminders: tuple[int, ...] = ()  # minutes before the end
    since: datetime | None = None  # when the watch was made
    language: str = i18n.SOURCE_LANGUAGE  # the one their alerts are worded in


@dataclass(frozen=True)
class Event:
    """An alert decided on: its unique dedupe key, its recipient, and the Reply they will read."""

    kind: EventKind
    dedupe_key: str
    platform: str
    chat_id: str
    user_id: str
    chat_user_id: int
    reply: Reply


def dedupe_key(*parts: object) -> str:
    """``outbid:<auction>:<bid>:<chat user>``; hashed when an upstream id makes it too long for the column."""
    key = ":".join(str(part) for part in parts)
    if len(key) <= DEDUPE_KEY_MAX:
        return key
    return f"{parts[0]}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def observe(auction: Auction, now: datetime) -> AuctionSnapshot:
    """The state the poller records for ``auction`` as fetched at ``now``."""
    history = auction.history
    top = auction.top_bid
    return AuctionSnapshot(
        auction_id=auction.id.strip().lower(),
        last_bid_id=history[-1].id if history else None,
        bid_count=len(history),
        top_bidder=top.user_id if top else None,
        top_amount=top.amount if top else None,
        end_date=auction.end_date,
        ended=auction.has_ended(as_utc(now)),
        updated_at=as_utc(now),
    )


def is_quiet(state: AuctionSnapshot | None, seen: AuctionSnapshot, longest_reminder: int) -> bool:
    """True if nothing happened since ``state`` that anyone could be told, so the diff can be skipped.

    ``seen`` is ``observe()`` of the fetched auction; ``longest_reminder`` the longest reminder (in
    minutes) of its watchers. Most auctions are quiet most polls: skipping them spares loading
    their watchers, which is most of a poll's work.
    """
    if state is None or state.ended or seen.ended or seen.end_date is None:
        return False
    same = (state.last_bid_id, state.bid_count, state.end_date) == (seen.last_bid_id, seen.bid_count, seen.end_date)
    assert seen.updated_at is not None
    return same and seen.end_date - seen.updated_at > timedelta(minutes=longest_reminder)


def diff_auction(
    state: AuctionSnapshot | None,
    auction: Auction,
    watchers: list[WatcherInfo],
    now: datetime,
    *,
    notify_new_bids: bool = False,
) -> tuple[AuctionSnapshot, list[Event]]:
    """The new state of ``auction`` and the alerts its watchers are owed since ``state``.

    Pure: the same inputs always give the same output, so a poll that is rolled back and
    repeated writes the same dedupe keys. ``state`` None means the auction was never seen:
    its history is recorded without alerts.
    """
    now = as_utc(now)
    new_state = observe(auction, now)
    view = _View(auction, new_state.auction_id, now)
    if state is not None and state.ended:
        # Results went out when it ended; a watch made since then is still owed one.
        newcomers = [w for w in watchers if _is_newcomer(w, state)]
        return replace(new_state, ended=True), [view.result(w) for w in newcomers]
    if new_state.ended:
        return new_state, [view.result(w) for w in watchers]
    events: list[Event] = []
    if state is not None:
        events += _bid_events(state, view, watchers, notify_new_bids)
    events += [event for w in watchers if (event := _reminder(state, view, w)) is not None]
    return new_state, events


def _is_newcomer(watcher: WatcherInfo, state: AuctionSnapshot | None) -> bool:
    return state is None or state.updated_at is None or (watcher.since is not None and watcher.since > state.updated_at)


def _new_bids(state: AuctionSnapshot, history: list[Bid]) -> list[Bid]:
    ids = [bid.id for bid in history]
    if state.last_bid_id is None:
        return list(history)
    if state.last_bid_id in ids:
        return history[ids.index(state.last_bid_id) + 1 :]
    return history[min(state.bid_count, len(history)) :]  # the last bid we saw vanished: trust the count


def _bid_events(state: AuctionSnapshot, view: _View, watchers: list[WatcherInfo], notify_new_bids: bool) -> list[Event]:
    """Outbid alerts for whoever lost the top spot since ``state``; new-bid alerts for the others if asked."""
    new_bids = _new_bids(state, view.auction.history)
    if not new_bids:
        return []
    # Replay the new bids in order: a bid takes the top only if strictly higher (the earliest of equals stays).
    holder, amount = state.top_bidder, state.top_amount
    taken_from: dict[str, str] = {}  # user who lost the top -> the bid that took it (the latest loss)
    for bid in new_bids:
        if amount is None or bid.amount > amount:
            if holder is not None and holder != bid.user_id:
                taken_from[holder] = bid.id
            holder, amount = bid.user_id, bid.amount
    events: list[Event] = []
    told: set[int] = set()
    for watcher in watchers:
        me = watcher.auctionity_user_id
        if me is not None and me != holder and me in taken_from:
            # One alert per lost top spot: bids after the one that took it do not repeat it.
            events.append(view.outbid(watcher, taken_from[me]))
            told.add(watcher.chat_user_id)
    if not notify_new_bids:
        return events
    for watcher in watchers:
        me = watcher.auctionity_user_id
        others = [bid for bid in new_bids if me is None or bid.user_id != me]
        if watcher.chat_user_id in told or not others or (me is not None and me == holder):
            continue  # never about one's own bid, and never twice for the same news
        events.append(view.new_bid(watcher, others[-1]))
    return events


def _reminder(state: AuctionSnapshot | None, view: _View, watcher: WatcherInfo) -> Event | None:
    """An ending-soon alert if one of the watcher's reminder times was reached since the state was written.

    Reminders reached together (a watch made late, a poller that was down) give one alert, for the
    nearest, rather than a burst of stale ones.
    """
    left = view.auction.end_date - view.now
    if left <= timedelta(0):
        return None
    due = [m for m in watcher.reminders if left <= timedelta(minutes=m)]
    if not _is_newcomer(watcher, state):
        assert state is not None and state.updated_at is not None
        # What was left then, by the end known then: an end moved later (an extension) must not count as
        # "already reminded", nor one moved earlier as "reminded twice".
        left_then = (state.end_date or view.auction.end_date) - state.updated_at
        due = [m for m in due if left_then > timedelta(minutes=m)]
    return view.ending_soon(watcher, min(due)) if due else None


def _worded_for_the_watcher(render: Callable[..., Event]) -> Callable[..., Event]:
    """An alert is worded in its recipient's language: each of an auction's watchers may read another."""

    @functools.wraps(render)
    def in_their_language(view: _View, watcher: WatcherInfo, *args: Any) -> Event:
        with i18n.speaking(watcher.language):
            return render(view, watcher, *args)

    return in_their_language


class _View:
    """Renders the alerts of one auction at one moment; every alert carries an Unwatch button."""

    def __init__(self, auction: Auction, auction_id: str, now: datetime) -> None:
        self.auction = auction
        self.auction_id = auction_id
        self.now = now
        self.currency = auction.currency or "DRT"
        self.name = fmt.clip(auction.name, 80) or fmt.short_id(auction_id)

    def _event(self, kind: EventKind, key: str, watcher: WatcherInfo, reply: Reply) -> Event:
        return Event(kind, key, watcher.platform, watcher.chat_id, watcher.user_id, watcher.chat_user_id, reply)

    def _price(self) -> str:
        return fmt.money(self.auction.amount, self.currency)

    def _left(self) -> str:
        return fmt.duration(self.auction.end_date - self.now)

    def _buttons(self, *, bid: bool) -> tuple[Button, ...]:
        buttons = []
        if bid:
            amount = suggested_bid(self.auction)
            # Translators: a button label: bids {amount} on the auction
            buttons.append(Button(_("Bid {amount}").format(amount=amount), f"bid_ask {self.auction_id} {amount}"))
        # Translators: a button label: shows the auction's card
        buttons.append(Button(_("Show"), f"auctions {self.auction_id}"))
        # Translators: a button label: stops watching the auction
        buttons.append(Button(_("Unwatch"), f"unwatch {self.auction_id}"))
        return tuple(buttons)

    @_worded_for_the_watcher
    def outbid(self, watcher: WatcherInfo, bid_id: str) -> Event:
        reply = Reply(
            # Translators: the title of an alert
            title=_("You were outbid"),
            # Translators: {left} is a duration, like "2 hours"
            text=_("Someone outbid you on {name}. The price is now {price}, with {left} left.").format(
                name=self.name, price=self._price(), left=self._left()
            ),
            outcome=Outcome.WARNING,
            buttons=(self._buttons(bid=True),),
        )
        key = dedupe_key("outbid", self.auction_id, bid_id, watcher.chat_user_id)
        return self._event(EventKind.OUTBID, key, watcher, reply)

    @_worded_for_the_watcher
    def new_bid(self, watcher: WatcherInfo, bid: Bid) -> Event:
        reply = Reply(
            # Translators: the title of an alert
            title=_("New bid"),
            # Translators: {left} is a duration, like "2 hours"
            text=_("New bid on {name}: the price is now {price}, with {left} left.").format(
                name=self.name, price=self._price(), left=self._left()
            ),
            buttons=(self._buttons(bid=True),),
        )
        key = dedupe_key("new_bid", self.auction_id, bid.id, watcher.chat_user_id)
        return self._event(EventKind.NEW_BID, key, watcher, reply)

    @_worded_for_the_watcher
    def ending_soon(self, watcher: WatcherInfo, minutes: int) -> Event:
        top = self.auction.top_bid
        me = watcher.auctionity_user_id
        on_top = top is not None and me is not None and top.user_id == me
        if top is None:
            # Translators: {left} is a duration, like "2 hours"
            text = _("{name} ends in {left}. The price is {price}. No bids yet.")
        elif on_top:
            # Translators: {left} is a duration, like "2 hours"
            text = _("{name} ends in {left}. The price is {price}. Your bid is on top.")
        else:
            # Translators: {left} is a duration, like "2 hours"
            text = _("{name} ends in {left}. The price is {price}. Someone else is on top.")
        reply = Reply(
            # Translators: the title of an alert
            title=_("Ending soon"),
            text=text.format(name=self.name, left=self._left(), price=self._price()),
            outcome=Outcome.INFO if on_top else Outcome.WARNING,
            buttons=(self._buttons(bid=not on_top),),
        )
        key = dedupe_key("ending", self.auction_id, minutes, watcher.chat_user_id)
        return self._event(EventKind.ENDING_SOON, key, watcher, reply)

    @_worded_for_the_watcher
    def result(self, watcher: WatcherInfo) -> Event:
        """Won, lost or ended; one per watcher per auction, whichever it is (one key for the three)."""
        top = self.auction.top_bid
        me = watcher.auctionity_user_id
        bidders = {bid.user_id for bid in self.auction.history}
        price = fmt.money(top.amount if top else self.auction.amount, self.currency)
        if top is not None and me is not None and top.user_id == me:
            # Translators: the title of an alert
            kind, title, outcome = EventKind.WON, _("You won"), Outcome.SUCCESS
            text = _("You won {name} for {price}. Congratulations!").format(name=self.name, price=price)
        elif me is not None and me in bidders:
            # Translators: the title of an alert
            kind, title, outcome = EventKind.LOST, _("Auction lost"), Outcome.INFO
            text = _("{name} has ended and someone else won it, for {price}.").format(name=self.name, price=price)
        elif top is None:
            # Translators: the title of an alert
            kind, title, outcome = EventKind.ENDED, _("Auction ended"), Outcome.INFO
            text = _("{name} has ended without any bid.").format(name=self.name)
        else:
            # Translators: the title of an alert
            kind, title, outcome = EventKind.ENDED, _("Auction ended"), Outcome.INFO
            bids = len(self.auction.history)
            text = ngettext(
                "{name} has ended: sold for {price} after {count} bid.",
                "{name} has ended: sold for {price} after {count} bids.",
                bids,
            ).format(name=self.name, price=price, count=bids)
        reply = Reply(title=title, text=text, outcome=outcome, buttons=(self._buttons(bid=False),))
        return self._event(kind, dedupe_key("ended", self.auction_id, watcher.chat_user_id), watcher, reply)
