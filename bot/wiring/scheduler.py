"""The alert scheduler: the poller every tick (each auction when due), the dispatcher's two lanes (alerts, live
cards) every second, on apscheduler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.access.rechecks import Rechecker
from bot.alerts.poller import Poller
from bot.wiring.retention import prune_once

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)

DISPATCH_INTERVAL_SECONDS = 1.0
RECHECK_INTERVAL_SECONDS = 60.0  # a run checks a minute's worth of claims, paced
PRUNE_INTERVAL_SECONDS = 3600.0
STOP_GRACE_SECONDS = 30.0  # how long a stop waits for an in-flight poll or send to finish


class _Jobs:
    """Runs each job as a task we can wait for: apscheduler cancels coroutine jobs on shutdown."""

    def __init__(self) -> None:
        self.running: set[asyncio.Task[Any]] = set()

    def wrap(self, name: str, job: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            self.running.add(task)
            try:
                await job()
            except Exception:  # a failed run is logged; the next one is scheduled regardless
                log.exception("%s failed", name)
            finally:
                self.running.discard(task)

        return run

    async def finish(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for the running jobs, then cancel what is left."""
        pending = {task for task in self.running if not task.done()}
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=grace)
        for task in late:
            log.warning("stopping: a job did not finish within %.0f s; cancelling it", grace)
            task.cancel()


def _dispatcher(services: Services, adapters: dict[str, Any]) -> Any:
    from bot.alerts.dispatch import Dispatcher  # imported late: adapters' send code is only needed here

    return Dispatcher(services, adapters)


@contextlib.asynccontextmanager
async def start_alerts(
    services: Services,
    adapters: dict[str, Any],
    *,
    dispatch_interval: float = DISPATCH_INTERVAL_SECONDS,
    stop_grace: float = STOP_GRACE_SECONDS,
) -> AsyncIterator[AsyncIOScheduler]:
    """Poll, dispatch and re-check for as long as the block runs; on exit, let a running job finish first.

    Waiting matters: a send cancelled between the platform accepting it and the outbox row being
    marked would be sent again after the restart.
    """
    poller = Poller(services)
    dispatcher = _dispatcher(services, adapters)
    jobs = _Jobs()
    scheduler = AsyncIOScheduler(timezone="UTC")
    start = datetime.now(scheduler.timezone)
    options: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    scheduler.add_job(
        jobs.wrap("poll", poller.poll_once),
        "interval",
        seconds=poller.tick.total_seconds(),  # each tick polls what is due: hot auctions often, others each interval
        next_run_time=start,
        id="poll",
        **options,
    )
    scheduler.add_job(
        jobs.wrap("dispatch", dispatcher.run_alerts),
        "interval",
        seconds=dispatch_interval,
        next_run_time=start,
        id="dispatch",
        **options,
    )
    # Live cards in a lane of their own: a long round of edits never holds back the next round of alerts.
    scheduler.add_job(
        jobs.wrap("cards", dispatcher.run_cards),
        "interval",
        seconds=dispatch_interval,
        next_run_time=start,
        id="cards",
        **options,
    )
    scheduler.add_job(
        jobs.wrap("recheck", Rechecker(services).run_once),
        "interval",
        seconds=RECHECK_INTERVAL_SECONDS,
        next_run_time=start,
        id="recheck",
        **options,
    )
    scheduler.add_job(
        jobs.wrap("prune", lambda: prune_once(services)),
        "interval",
        seconds=PRUNE_INTERVAL_SECONDS,
        next_run_time=start,
        id="prune",
        **options,
    )
    scheduler.start()
    log.info("alerts: polling every %d s", services.settings.poll_interval_seconds)
    try:
        yield scheduler
    finally:
        scheduler.pause()  # no new runs; the ones in flight finish below
        await asyncio.shield(jobs.finish(stop_grace))
        scheduler.shutdown(wait=False)
