"""`python -m tests.support.alert_worker`: the poller and dispatcher alone, alerts written to a file (restart tests).

Settings come from the environment as for `gavel run`; GAVEL_ALERT_SINK names the file that the
"console" platform's alerts are appended to, one JSON line each, flushed and fsynced before the
send counts as done, so a test can count deliveries across SIGKILLs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from datetime import timedelta
from pathlib import Path

from bot.alerts import dispatch, poller
from bot.auctions import autobids
from bot.core.config import SettingsError, load_settings
from bot.core.logs import setup_logging
from bot.core.messages import Alert
from bot.wiring.app import wait_for_stop
from bot.wiring.dependencies import open_services
from bot.wiring.scheduler import start_alerts
from storage.db import upgrade

log = logging.getLogger(__name__)

SINK_ENV = "GAVEL_ALERT_SINK"


class FileSink:
    """An adapter for platform "console" that appends each alert to a file as one JSON line."""

    platform = "console"

    def __init__(self, path: Path) -> None:
        self.path = path

    @staticmethod
    def _dedupe_key(alert: Alert) -> str:
        """The alert's outbox key, which the dispatcher passes along."""
        return alert.extra.get("dedupe_key", "")

    async def send(self, alert: Alert) -> None:
        line = json.dumps(
            {
                "dedupe_key": self._dedupe_key(alert),
                "kind": alert.kind,
                "chat_id": alert.chat_id,
                "user_id": alert.user_id,
                "text": alert.reply.plain_text(),
                "pid": os.getpid(),  # which run delivered it: a restart test tells repeats across a kill apart
            },
            ensure_ascii=False,
        )
        # Written whole and synced before returning: once send returns, the delivery has happened.
        with self.path.open("a", encoding="utf-8") as sink:
            sink.write(line + "\n")
            sink.flush()
            os.fsync(sink.fileno())


async def run_worker(sink: Path) -> None:
    settings = load_settings()
    setup_logging(settings.log_level, secrets=settings.secrets())
    upgrade(settings.database_url)
    # A SIGKILLed run's leased alerts (and so their chats) wait for the lease to end before the next run sends
    # them: a couple of minutes in production, seconds here, so a restart test sees them within its settle time.
    # Sends take milliseconds, but on a loaded CI machine a live process can stall for a second or two between a
    # send and its mark: a margin of 1 s let a second live process take the row and send it again (scale-out).
    dispatch.LEASE, dispatch.SEND_MARGIN = timedelta(seconds=8), timedelta(seconds=4)
    # Likewise a killed run's leased auctions and auto-bid intents: 15 s at least in production, here still many
    # times what a poll of a few hundred sandbox auctions or a bid takes, so a live run never loses its lease.
    poller.LEASE, autobids.LEASE = timedelta(seconds=5), timedelta(seconds=5)
    async with open_services(settings) as services, start_alerts(services, {"console": FileSink(sink)}):
        log.info("worker: polling every %d s, alerts to %s", settings.poll_interval_seconds, sink)
        await wait_for_stop()
        log.info("worker: stopping")


def main() -> int:
    sink = os.environ.get(SINK_ENV)
    if not sink:
        print(f"worker: set {SINK_ENV} to the file alerts should be appended to", file=sys.stderr)
        return 2
    try:
        asyncio.run(run_worker(Path(sink)))
    except SettingsError as error:
        print(f"worker: {error}", file=sys.stderr)
        return 2
    except ValueError as error:  # e.g. GAVEL_SECRET_KEY missing
        print(f"worker: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
