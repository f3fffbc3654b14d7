"""Attempts limited before they reach an upstream: verifications, logins and password-reset emails.

``async with limited(services, limits, action=..., failures=(...))`` reserves one attempt in each
bucket (or raises RateLimited without calling anyone), runs the block, and settles the attempts:
an exception in ``failures`` (wrong code, wrong password) counts against the user; any other
exception (the upstream is down) cancels them; a normal exit counts as a success.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.core.errors import RateLimited
from storage.attempts import Limit, cancel_attempts, reserve_attempts, settle_attempts
from storage.errors import LimitReached

if TYPE_CHECKING:
    from bot.core.services import Services

__all__ = ["Limit", "limited", "minutes"]


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


@contextlib.asynccontextmanager
async def limited(
    services: Services,
    limits: Sequence[Limit],
    *,
    action: str,
    failures: tuple[type[BaseException], ...],
) -> AsyncIterator[None]:
    now = services.now()
    try:
        attempt_ids = await services.db.run(lambda s: reserve_attempts(s, limits=limits, now=now))
    except LimitReached as reached:
        raise RateLimited(retry_after=reached.retry_after, action=action, bucket=reached.bucket) from None
    try:
        yield
    except failures:
        await services.db.run(lambda s: settle_attempts(s, attempt_ids=attempt_ids, failed=True))
        raise
    except BaseException:
        # Shielded: a request cancelled mid-call must still give its reservation back.
        await asyncio.shield(services.db.run(lambda s: cancel_attempts(s, attempt_ids=attempt_ids)))
        raise
    await services.db.run(lambda s: settle_attempts(s, attempt_ids=attempt_ids, failed=False))
