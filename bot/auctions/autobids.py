"""Auto-bids: Gavel bids for a user, up to their maximum, whenever someone else is on top.

Two steps, so a bid is never placed twice, even if the process dies anywhere:

1. ``decide`` runs inside the poll's transaction: for each active auto-bid of an auction someone
   else now leads, it writes an intent keyed by the bid that put them on top (one per outbidding
   bid, so a repeated poll decides nothing new), or stops the auto-bid when the answer would pass
   the maximum. The user's plain "you were outbid" alert is left out: the auto-bid's own says more.
2. ``AutoBidder.place_pending`` runs after the poll: it leases the intents, reconciles each with the
   auction's history (a bid of the user's after the trigger means it was placed before a crash), then
   re-reads the auto-bid's state and maximum right before bidding (``begin``: a change or a stop since the
   decision wins, and nothing above the maximum set last is ever sent), and only then bids, once. A bid
   whose answer was lost (a timeout) stays leased and is reconciled again when the lease runs out, never
   simply re-sent.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.auctions.rules import suggested_bid
from bot.clients.auctionity import Auction
from bot.core import formatting as fmt
from bot.core import i18n
from bot.core.errors import AuctionClosed, AuctionNotFound, BidTooLow, SessionExpired, UpstreamError
from bot.core.i18n import N_, _
from bot.core.messages import Button, Outcome, Reply
from bot.core.payloads import encode_reply
from storage import autobids, outbox
from storage.autobids import AutoBidView, IntentView
from storage.crypto import UndecryptableSecret

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=15)  # at least; longer than fetching and bidding take (see ``lease``)

# Why an auto-bid stopped, as its user reads it (``_stop``).
# Translators: {price} is the bid that outbid the user
STOPPED_LOGGED_OUT = N_(
    "Outbid at {price} on {name}, but you are no longer logged in to Auctionity, so I stopped bidding for you. "
    "Send /login, then /autobid again to go on."
)
STOPPED_SESSION_EXPIRED = N_(
    "Outbid at {price} on {name}, but your Auctionity login has expired, so I stopped bidding for you. "
    "Send /login, then /autobid again to go on."
)
STOPPED_CLOSED = N_(
    "Outbid at {price} on {name}, but the auction no longer takes bids, so I stopped bidding for you. "
    "Send /login, then /autobid again to go on."
)


def lease(http_timeout_seconds: float) -> timedelta:
    """How long a process holds an intent it is placing: a fetch with its retries and a bid, with room to spare.
    A dead process's intents are reconciled with the history once it has passed."""
    return max(LEASE, timedelta(seconds=4 * http_timeout_seconds))


@dataclass
class AutoBidStats:
    placed: int = 0
    reconciled: int = 0  # found already placed (before a crash) and not sent again
    superseded: int = 0  # someone bid higher first: the next poll decides anew
    stopped: int = 0
    unsure: int = 0  # the bid's answer was lost: reconciled after the lease


def decide(session: Session, auctions: dict[str, Auction], now: datetime) -> dict[str, set[int]]:
    """Intents (and stops) for the active auto-bids of these freshly fetched auctions.

    Returns, per auction, the chat users whose outbid alert the auto-bid replaces.
    """
    acting: dict[str, set[int]] = {}
    for auction_id, views in autobids.active_auto_bids(session, auction_ids=auctions).items():
        auction = auctions[auction_id]
        top = auction.top_bid
        for view in views:
            if auction.has_ended(now):
                autobids.stop_auto_bid(session, auto_bid_id=view.id, reason="ended", now=now)
                continue  # the watch tells them how it ended
            if top is None or view.auctionity_user_id is None or top.user_id == view.auctionity_user_id:
                continue
            acting.setdefault(auction_id, set()).add(view.chat_user_id)
            amount = min(suggested_bid(auction), view.max_amount)
            if amount <= top.amount:
                autobids.stop_auto_bid(session, auto_bid_id=view.id, reason="above maximum", now=now)
                _tell(session, view, f"autobid-stop:{view.id}:{top.id}", _above_maximum(view, auction), now)
                continue
            autobids.decide(
                session, auto_bid_id=view.id, trigger_bid_id=top.id, trigger_amount=top.amount, amount=amount, now=now
            )
    return acting


def _their_language(view: AutoBidView) -> AbstractContextManager[str]:
    """What an auto-bid says is worded in its owner's language."""
    return i18n.speaking(i18n.pick(view.language, view.platform_language))


def _above_maximum(view: AutoBidView, auction: Auction) -> Reply:
    top = auction.top_bid
    assert top is not None
    currency = auction.currency or "DRT"
    with _their_language(view):
        # Translators: {price} is the bid that outbid the user, {maximum} the most they let Gavel bid
        text = _("Outbid at {price} on {name}, above your maximum of {maximum}: I stopped bidding for you.")
        return Reply(
            # Translators: the title of an alert
            title=_("Auto-bid stopped"),
            text=text.format(
                price=fmt.money(top.amount, currency), name=_name(auction), maximum=fmt.money(view.max_amount, currency)
            ),
            outcome=Outcome.WARNING,
            # Translators: a button label: shows the auction's card
            buttons=((Button(_("Show"), f"auctions {auction.id}"),),),
        )


class AutoBidder:
    """Places the decided bids; ``place_pending`` runs after every poll (and is safe to run anywhere, any time)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def place_pending(self) -> AutoBidStats:
        stats = AutoBidStats()
        now = self.services.now()
        intents = await self.services.db.run(lambda s: autobids.lease_intents(s, now=now, lease_until=now + LEASE))
        if not intents:
            return stats
        ids = sorted({intent.auto_bid.auction_id for intent in intents})
        found: dict[str, Auction] = {}
        for start in range(0, len(ids), 50):
            try:
                fetched = await self.services.auctionity.auctions(ids[start : start + 50])
            except UpstreamError as error:  # left leased: reconciled when the lease runs out
                log.info("auto-bids: could not fetch auctions (%s); trying again later", type(error).__name__)
                continue
            found.update({a.id.strip().lower(): a for a in fetched})
        for intent in intents:
            auction = found.get(intent.auto_bid.auction_id)
            if auction is not None:
                await self._place(intent, auction, stats)
        return stats

    async def _place(self, intent: IntentView, auction: Auction, stats: AutoBidStats) -> None:
        view, now = intent.auto_bid, self.services.now()
        mine = _mine_since(auction, intent.trigger_bid_id, view.auctionity_user_id)
        if mine is not None:  # placed before the process died: tell them, do not bid again
            stats.reconciled += 1
            reply = self._placed_reply(intent, auction, mine, intent.auto_bid.max_amount)
            await self._finish(intent, "placed", reply)
            return
        top = auction.top_bid
        if auction.has_ended(now) or top is None or top.id != intent.trigger_bid_id:
            stats.superseded += 1  # ended (the watch says so) or someone bid since: the next poll decides
            await self._finish(intent, "superseded")
            return
        token = self._token(intent)
        if token is None:
            await self._stop(intent, auction, "logged out", STOPPED_LOGGED_OUT, stats)
            return
        go = await self.services.db.run(lambda s: begin(s, intent, self.services))
        if go is None:  # changed or stopped since it was decided: nothing is sent
            stats.superseded += 1
            return
        try:
            await self.services.auctionity.bid(token, view.auction_id, go.amount)
        except SessionExpired:
            await self._stop(intent, auction, "session expired", STOPPED_SESSION_EXPIRED, stats)
        except BidTooLow:
            stats.superseded += 1
            await self._finish(intent, "superseded")
        except (AuctionClosed, AuctionNotFound):
            await self._stop(intent, auction, "closed", STOPPED_CLOSED, stats)
        except UpstreamError as error:
            # The bid may or may not have landed: leased still, reconciled with the history later.
            stats.unsure += 1
            log.info("auto-bid %s: no answer to the bid (%s); reconciling later", view.id, type(error).__name__)
        else:
            stats.placed += 1
            await self._finish(intent, "placed", self._placed_reply(intent, auction, go.amount, go.max_amount))

    def _token(self, intent: IntentView) -> str | None:
        if intent.token_encrypted is None:
            return None
        try:
            return self.services.box.decrypt(intent.token_encrypted)
        except UndecryptableSecret:
            return None

    def _placed_reply(self, intent: IntentView, auction: Auction, amount: int, maximum: int) -> Reply:
        currency = auction.currency or "DRT"
        with _their_language(intent.auto_bid):
            # Translators: {price} is the bid that outbid the user, {maximum} the most they let Gavel bid
            text = _("Outbid at {price} on {name}: I bid {amount} for you (max {maximum}).")
            return Reply(
                # Translators: the title of an alert
                title=_("Auto-bid placed"),
                text=text.format(
                    price=fmt.money(intent.trigger_amount, currency),
                    name=_name(auction),
                    amount=fmt.money(amount, currency),
                    maximum=fmt.money(maximum, currency),
                ),
                outcome=Outcome.INFO,
                buttons=(
                    (
                        # Translators: a button label: shows the auction's card
                        Button(_("Show"), f"auctions {auction.id}"),
                        # Translators: a button label: stops bidding automatically on the auction
                        Button(_("Stop auto-bid"), f"autobid_off {auction.id}"),
                    ),
                ),
            )

    async def _finish(self, intent: IntentView, state: str, reply: Reply | None = None) -> None:
        now = self.services.now()

        def finish(session: Session) -> None:
            autobids.finish_intent(session, intent_id=intent.id, state=state, now=now)
            if reply is not None:
                _tell(session, intent.auto_bid, f"autobid:{intent.id}", reply, now)

        await self.services.db.run(finish)

    async def _stop(self, intent: IntentView, auction: Auction, reason: str, text: str, stats: AutoBidStats) -> None:
        """Stop the auto-bid for ``reason`` (an audit token) and tell the user ``text`` (one of the STOPPED_*)."""
        stats.stopped += 1
        now = self.services.now()
        currency = auction.currency or "DRT"
        with _their_language(intent.auto_bid):
            reply = Reply(
                # Translators: the title of an alert
                title=_("Auto-bid stopped"),
                text=_(text).format(price=fmt.money(intent.trigger_amount, currency), name=_name(auction)),
                outcome=Outcome.WARNING,
            )

        def stop(session: Session) -> None:
            autobids.finish_intent(session, intent_id=intent.id, state="stopped", now=now)
            autobids.stop_auto_bid(session, auto_bid_id=intent.auto_bid.id, reason=reason, now=now)
            _tell(session, intent.auto_bid, f"autobid-stop:{intent.auto_bid.id}:{intent.trigger_bid_id}", reply, now)

        await self.services.db.run(stop)


def begin(session: Session, intent: IntentView, services: Services) -> autobids.Go | None:
    """The last word before an intent's bid: the auto-bid's maximum now (see ``storage.autobids.begin_bid``)."""
    now = services.now()
    return autobids.begin_bid(
        session, intent_id=intent.id, auto_bid_id=intent.auto_bid.id, amount=intent.amount, now=now,
        lease_until=now + lease(services.settings.http_timeout_seconds),
    )  # fmt: skip


def _mine_since(auction: Auction, trigger_bid_id: str, me: str | None) -> int | None:
    """The amount of the user's first bid after ``trigger_bid_id``, if there is one."""
    history = auction.history
    ids = [bid.id for bid in history]
    if me is None or trigger_bid_id not in ids:
        return None
    return next((bid.amount for bid in history[ids.index(trigger_bid_id) + 1 :] if bid.user_id == me), None)


def _name(auction: Auction) -> str:
    return fmt.clip(auction.name, 80) or fmt.short_id(auction.id)


def _tell(session: Session, view: AutoBidView, key: str, reply: Reply, now: datetime) -> None:
    """Queue an auto-bid's alert for its owner alone: it names their maximum, so it is private wherever the auto-bid
    was set up (the adapter sends it to their private chat, never to a group)."""
    reply = replace(reply, private=True, ephemeral=True)
    outbox.enqueue_notification(
        session, dedupe_key=key, platform=view.platform, chat_id=view.chat_id, chat_user_id=view.chat_user_id,
        kind="autobid", payload=encode_reply(reply), now=now,
    )  # fmt: skip
