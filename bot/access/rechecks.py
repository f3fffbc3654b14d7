"""Re-checks: every active claim validated again with CryptoGig about once a period, and access that follows support.

A run takes the claims whose check is due (leased, so two processes never check one claim twice) and
checks them one at a time, evenly paced at VERIFY_RECHECK_PER_MINUTE. A code CryptoGig no longer
accepts (a refund, a chargeback) is revoked with all that follows (bot/access/notices.py); a network error, a
timeout or a 5xx only puts the check off, never revokes. The same run ends the access of grants that
follow the licence once support has ended, with a private reminder three days before.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiolimiter import AsyncLimiter
from sqlmodel import Session

from bot.access import notices as buyers
from bot.core import formatting as fmt
from bot.core.errors import InvalidPurchaseCode, UpstreamError
from bot.core.i18n import _
from bot.core.messages import Outcome, Reply
from storage import claims, key_values, places
from storage.claims import ClaimView
from storage.crypto import UndecryptableSecret
from storage.places import SupportEnd

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=15)  # a taken check comes due again after this if its process dies
RETRY_AFTER_ERROR = timedelta(hours=1)
REMIND_BEFORE = timedelta(days=3)
LAST_RUN_KEY = "recheck:last_run"  # the last run's tally, for staff (the dashboard's Numbers page)


@dataclass
class RecheckStats:
    checked: int = 0
    still_valid: int = 0
    revoked: int = 0
    put_off: int = 0  # upstream trouble: checked again later, nothing revoked
    support_ended: int = 0
    reminded: int = 0


class Rechecker:
    """One per process; ``run_once`` is what the scheduler runs every minute."""

    def __init__(self, services: Services) -> None:
        self.services = services
        per_minute = services.settings.verify_recheck_per_minute
        # One token at a time, evenly spaced: a bucket of N a minute would let N go at once.
        self.pace = AsyncLimiter(1, 60 / per_minute)

    @property
    def period(self) -> timedelta:
        return timedelta(seconds=self.services.settings.verify_recheck_seconds)

    async def run_once(self) -> RecheckStats:
        stats = RecheckStats()
        now = self.services.now()
        limit = self.services.settings.verify_recheck_per_minute  # a minute's worth: the next run takes the rest
        due = await self.services.db.run(lambda s: claims.lease_due_checks(s, now=now, limit=limit, lease=LEASE))
        for view in due:
            await self.pace.acquire()
            await self._check(view, stats)
        await self.services.db.run(lambda s: self._support_and_tally(s, self.services.now(), stats))
        if stats.revoked or stats.put_off or stats.support_ended:
            log.info("re-checks: %s", stats)
        return stats

    async def _check(self, view: ClaimView, stats: RecheckStats) -> None:
        stats.checked += 1
        try:
            code = self.services.box.decrypt(view.code_encrypted)
        except UndecryptableSecret:
            log.warning("claim %s cannot be re-checked: its code was stored with another key", view.id)
            await self._schedule(view.id, self.services.now() + self.period)
            return
        try:
            purchase = await self.services.cryptogig.validate_purchase(code)
        except InvalidPurchaseCode:
            now = self.services.now()
            masked = fmt.mask(code)
            revoked = await self.services.db.run(
                lambda s: buyers.revoke(s, claim_id=view.id, reason="refunded", now=now, masked_code=masked)
            )
            stats.revoked += revoked is not None
            return
        except UpstreamError as error:  # never a reason to take anything away
            log.info("re-check of claim %s put off: %s", view.id, type(error).__name__)
            stats.put_off += 1
            await self._schedule(view.id, self.services.now() + min(self.period, RETRY_AFTER_ERROR))
            return
        stats.still_valid += 1
        at = self.services.now() + self.period
        await self.services.db.run(
            lambda s: claims.schedule_check(
                s, claim_id=view.id, at=at, supported_until=purchase.supported_until, refresh=True
            )
        )

    async def _schedule(self, claim_id: int, at: datetime) -> None:
        await self.services.db.run(lambda s: claims.schedule_check(s, claim_id=claim_id, at=at))

    def _support_and_tally(self, session: Session, now: datetime, stats: RecheckStats) -> None:
        self._support(session, now, stats)
        tally = {"at": now.isoformat(), "checked": stats.checked, "still_valid": stats.still_valid,
                 "revoked": stats.revoked, "put_off": stats.put_off}  # fmt: skip
        key_values.set_value(session, key=LAST_RUN_KEY, value=json.dumps(tally))

    def _support(self, session: Session, now: datetime, stats: RecheckStats) -> None:
        """End the access of grants that follow the licence once support has ended; remind three days before.

        Every notice has a dedupe key naming the support end, so a run repeats nothing, and a renewed
        support (verified again) ends, and reminds, once more when its own time comes.
        """
        for end in places.support_ends(session, before=now + REMIND_BEFORE):
            view = claims.claim_view(session, claim_id=end.claim_id)
            if view is None:
                continue
            key = f"{end.claim_id}:{end.grant_id}:{end.supported_until.date().isoformat()}"
            if end.supported_until > now:
                soon = functools.partial(_support_ends_soon, end, now)
                stats.reminded += buyers.tell_buyer(session, view=view, key=f"support-soon:{key}", words=soon, now=now)
                continue
            taken = buyers.take_access(
                session, view=view, key=f"support-end:{key}", now=now, only_grant_ids={end.grant_id}
            )
            if not taken:
                continue  # done on an earlier run (or another claim still covers it)
            stats.support_ended += 1
            ended = functools.partial(_support_ended, end)
            buyers.tell_buyer(session, view=view, key=f"support-end:{key}", words=ended, now=now)
            line = functools.partial(_support_ended_line, end, view)
            buyers.staff_line(session, key=f"support-end:{key}", words=line, now=now)


def _support_ends_soon(end: SupportEnd, now: datetime) -> Reply:
    return Reply(
        title=_("Support ends soon"),
        # Translators: {when} is how far away the end is ("in 3 days"), {day} its date
        text=_("Support for {item} ends {when} ({day}), and the access that comes with it ends "
               "then. Renew your support, then send /verify <purchase code> again to keep it.").format(
            item=buyers.item_label(end.item_id), when=fmt.relative(end.supported_until, now),
            day=fmt.day(end.supported_until),
        ),
        outcome=Outcome.WARNING,
    )  # fmt: skip


def _support_ended(end: SupportEnd) -> Reply:
    return Reply(
        title=_("Support ended"),
        text=_("Support for {item} has ended, and with it the access that came with it. Renew your "
               "support, then send /verify <purchase code> again to get it back.").format(
            item=buyers.item_label(end.item_id)
        ),
        outcome=Outcome.WARNING,
    )  # fmt: skip


def _support_ended_line(end: SupportEnd, view: ClaimView) -> Reply:
    person = buyers.who(view.platform, view.platform_user_id, view.display_name)
    # Translators: a staff-log line
    text = _("⌛ Support ended: {person} — {item}: the access that follows support was taken away.")
    return Reply(text.format(person=person, item=buyers.item_label(end.item_id)))
