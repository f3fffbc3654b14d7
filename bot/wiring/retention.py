"""Retention: nothing grows without bound. Every hour, rows past the ages in the settings are deleted."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.core.conversations import SECRET_GRACE
from storage import retention

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)

RATE_ATTEMPTS_KEPT = timedelta(days=1)  # longer than any rate-limit window


async def prune_once(services: Services) -> dict[str, int]:
    settings, now = services.settings, services.now()
    ages = retention.Ages(
        notifications=now - timedelta(days=settings.notification_retention_days),
        buttons=now - timedelta(days=settings.button_retention_days),
        auctions=now - timedelta(days=settings.auction_retention_days),
        attempts=now - RATE_ATTEMPTS_KEPT,
        audit=now - timedelta(days=settings.audit_retention_days),
        now=now,
        # A conversation stays known for its grace after it times out: a late password is still deleted.
        conversations=now - SECRET_GRACE,
    )
    done = await services.db.run(lambda s: retention.prune(s, ages))
    if any(done.values()):
        log.info("retention: pruned %s", {kind: n for kind, n in done.items() if n})
    return done
