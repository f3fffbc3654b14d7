"""Rate limits in the database: an attempt is reserved before the upstream call it guards, settled after it.

Reserving counts and inserts in one transaction under a lock on the bucket (SQLite: the write lock
``BEGIN IMMEDIATE`` takes; PostgreSQL: a transaction-level advisory lock per bucket), so forty
concurrent requests against a limit of five reserve five attempts, and the other thirty-five are
refused before any upstream call. A reserved attempt counts while it is pending; the caller
settles it (ok / failed) or cancels it (the upstream failed: not the user's fault, not an attempt).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from storage.db import lock_names
from storage.errors import LimitReached
from storage.models import RateAttempt


class AttemptState(StrEnum):
    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True)
class Limit:
    """At most ``max_attempts`` in any ``window`` for ``bucket`` (``verify:user:12``, ``reset:email:<hash>``).

    ``failures_only``: count failed and pending attempts (a brute-force limit); else every attempt (a
    limit on how often something may happen at all, such as reset emails).
    """

    bucket: str
    max_attempts: int
    window: timedelta
    failures_only: bool = True

    def counted_states(self) -> tuple[str, ...]:
        if self.failures_only:
            return (AttemptState.PENDING, AttemptState.FAILED)
        return (AttemptState.PENDING, AttemptState.FAILED, AttemptState.OK)


def _lock_buckets(session: Session, buckets: Iterable[str]) -> None:
    lock_names(session, buckets)  # one order for everyone, so two reservations cannot deadlock


def reserve_attempts(session: Session, *, limits: Sequence[Limit], now: datetime) -> list[int]:
    """One pending attempt in each limit's bucket, or LimitReached (for the bucket that frees up last)."""
    _lock_buckets(session, (limit.bucket for limit in limits))
    blocked: LimitReached | None = None
    for limit in limits:
        times = list(
            session.exec(
                select(RateAttempt.at)
                .where(
                    RateAttempt.bucket == limit.bucket,
                    RateAttempt.at > now - limit.window,
                    col(RateAttempt.state).in_(limit.counted_states()),
                )
                .order_by(col(RateAttempt.at))
            )
        )
        if len(times) >= limit.max_attempts:
            # The bucket has room again when the oldest attempt that still keeps it full leaves the window.
            free_at = times[len(times) - limit.max_attempts] + limit.window
            retry_after = max(1.0, (free_at - now).total_seconds())
            if blocked is None or retry_after > blocked.retry_after:
                blocked = LimitReached(bucket=limit.bucket, retry_after=retry_after)
    if blocked is not None:
        raise blocked
    rows = [RateAttempt(bucket=limit.bucket, at=now, state=AttemptState.PENDING) for limit in limits]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows if row.id is not None]


def tries_left(session: Session, *, limits: Sequence[Limit], now: datetime) -> tuple[int, timedelta] | None:
    """(attempts still allowed, the window they are counted in) of the tightest of ``limits``; None for no limits."""
    tightest: tuple[int, timedelta] | None = None
    for limit in limits:
        used = session.exec(
            select(func.count())
            .select_from(RateAttempt)
            .where(
                RateAttempt.bucket == limit.bucket,
                RateAttempt.at > now - limit.window,
                col(RateAttempt.state).in_(limit.counted_states()),
            )
        ).one()
        left = max(0, limit.max_attempts - used)
        if tightest is None or left < tightest[0]:
            tightest = (left, limit.window)
    return tightest


def settle_attempts(session: Session, *, attempt_ids: Sequence[int], failed: bool) -> None:
    """Record how the guarded call went: a failure keeps counting, a success only counts for "every attempt"."""
    if attempt_ids:
        state = AttemptState.FAILED if failed else AttemptState.OK
        session.exec(update(RateAttempt).where(col(RateAttempt.id).in_(list(attempt_ids))).values(state=state))


def cancel_attempts(session: Session, *, attempt_ids: Sequence[int]) -> None:
    """Forget reserved attempts: the guarded call never got an answer, so they were not the user's tries."""
    if attempt_ids:
        session.exec(delete(RateAttempt).where(col(RateAttempt.id).in_(list(attempt_ids))))


def prune_attempts(session: Session, *, before: datetime) -> int:
    """Delete attempts older than any window still in use; how many went."""
    return session.exec(delete(RateAttempt).where(col(RateAttempt.at) < before)).rowcount
