"""Prometheus metrics: what Gavel counts and times, and the one-line helpers its seams call.

Every label is bounded: command names from the registry, platform and upstream names, outcome words and
status classes. Never a user, chat, auction id or anything secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import ParamSpec, TypeVar

from prometheus_client import Counter, Gauge, Histogram

from bot.core.errors import BadApiKey, GavelError, UpstreamError, UpstreamMalformed, UpstreamUnavailable
from storage.errors import DatabaseUnavailable

P = ParamSpec("P")
T = TypeVar("T")

# Module-level, as prometheus_client intends: they hold numbers only (no connection, no setting), and the
# default registry serves them beside the process's own (memory, CPU, open files) wherever /metrics runs.
COMMANDS = Counter("gavel_commands", "Commands handled, by command and outcome.", ["command", "outcome"])
COMMAND_SECONDS = Histogram("gavel_command_duration_seconds", "Time a command's handler took.", ["command"])
ALERTS = Counter(
    "gavel_alerts", "Alert sends, by platform and outcome (sent, failed, deferred, gave_up).", ["platform", "outcome"]
)
OUTBOX_DUE = Gauge("gavel_outbox_due", "Alerts due to be sent now (read from the database at each scrape).")
POLL_SECONDS = Histogram(
    "gavel_poll_duration_seconds",
    "Time one poll of every due auction took.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
AUCTIONS_POLLED = Counter("gavel_auctions_polled", "Auctions the poller fetched from the auction API.")
UPSTREAM_REQUESTS = Counter(
    "gavel_upstream_requests", "HTTP requests to an upstream API, by upstream and status class.", ["upstream", "status"]
)


def _outcome(error: BaseException) -> str:
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    if isinstance(error, DatabaseUnavailable):
        return "database_unavailable"
    if isinstance(error, UpstreamUnavailable | UpstreamMalformed | BadApiKey) or type(error) is UpstreamError:
        return "upstream_error"
    if isinstance(error, GavelError):
        return "refused"  # the user's input, scope or limits (an unknown code, a low bid): working as designed
    return "error"


@contextlib.contextmanager
def command_run(name: str) -> Iterator[None]:
    """Count and time one run of command ``name``'s handler; the outcome follows what it raised, if anything."""
    started = time.perf_counter()
    try:
        yield
    except BaseException as error:
        COMMANDS.labels(name, _outcome(error)).inc()
        raise
    else:
        COMMANDS.labels(name, "ok").inc()
    finally:
        COMMAND_SECONDS.labels(name).observe(time.perf_counter() - started)


def alert(platform: str, outcome: str) -> None:
    """One alert send ended as ``outcome``: sent, failed, deferred or gave_up."""
    ALERTS.labels(platform, outcome).inc()


def upstream_request(upstream: str, status: int | str) -> None:
    """One request to ``upstream``: its HTTP status (counted by class, 2xx...) or "timeout" / "error"."""
    UPSTREAM_REQUESTS.labels(upstream, f"{status // 100}xx" if isinstance(status, int) else status).inc()


def timed_poll(poll: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Decorates the poller's round: its duration, and the auctions it fetched (its stats' ``auctions``)."""

    @functools.wraps(poll)
    async def timed(*args: P.args, **kwargs: P.kwargs) -> T:
        with POLL_SECONDS.time():
            stats = await poll(*args, **kwargs)
        AUCTIONS_POLLED.inc(getattr(stats, "auctions", 0))
        return stats

    return timed
