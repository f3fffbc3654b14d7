"""Attempts limited before they reach an upstream: verifications, logins and password-reset emails.

``async with limited(services, limits, action=..., failures=(...))`` reserves one attempt in each
bucket (or raises RateLimited without calling anyone), runs the block, and settles the attempts:
an exception in ``failures`` (wrong code, wrong password) counts against the user; any other
exception (the upstream is down) cancels them; a normal exit counts as a success. A counted failure carries
``tries_left`` and ``pause`` in its details, for the wording; the block may ``spare`` buckets a failure is
not a guess in (a code the bot knows was refunded).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.core.errors import GavelError, RateLimited
from storage.attempts import Limit, cancel_attempts, reserve_attempts, settle_attempts, tries_left
from storage.errors import LimitReached

if TYPE_CHECKING:
    from bot.core.services import Services

__all__ = ["Attempt", "Limit", "limited", "minutes"]


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


class Attempt:
    """One try's reserved attempts, a bucket each; the guarded block may spare buckets a failure should not count in."""

    def __init__(self, limits: Sequence[Limit], attempt_ids: Sequence[int]) -> None:
        self.limits = list(limits)
        self.ids = dict(zip((limit.bucket for limit in limits), attempt_ids, strict=True))
        self.spared: set[str] = set()

    def spare(self, prefix: str) -> None:
        """A failure from now on does not count in the buckets starting with ``prefix`` (it is not a guess)."""
        self.spared.update(bucket for bucket in self.ids if bucket.startswith(prefix))

    def counted(self) -> list[Limit]:
        return [limit for limit in self.limits if limit.bucket not in self.spared]


@contextlib.asynccontextmanager
async def limited(
    services: Services,
    limits: Sequence[Limit],
    *,
    action: str,
    failures: tuple[type[BaseException], ...],
) -> AsyncIterator[Attempt]:
    now = services.now()
    try:
        attempt_ids = await services.db.run(lambda s: reserve_attempts(s, limits=limits, now=now))
    except LimitReached as reached:
        raise RateLimited(retry_after=reached.retry_after, action=action, bucket=reached.bucket) from None
    attempt = Attempt(limits, attempt_ids)
    try:
        yield attempt
    except failures as failure:
        counted = attempt.counted()
        failed = [attempt.ids[limit.bucket] for limit in counted]
        spared = [attempt.ids[bucket] for bucket in attempt.spared]

        def settle(session: Session) -> tuple[int, timedelta] | None:
            settle_attempts(session, attempt_ids=failed, failed=True)
            cancel_attempts(session, attempt_ids=spared)
            return tries_left(session, limits=counted, now=now)

        left = await services.db.run(settle)
        if isinstance(failure, GavelError) and left is not None:
            # How many tries remain before the pause, and how long that pause is: the wording tells the user.
            failure.details.update(tries_left=left[0], pause=left[1])
        raise
    except BaseException:
        # Shielded: a request cancelled mid-call must still give its reservation back.
        await asyncio.shield(services.db.run(lambda s: cancel_attempts(s, attempt_ids=attempt_ids)))
        raise
    await services.db.run(lambda s: settle_attempts(s, attempt_ids=attempt_ids, failed=False))
