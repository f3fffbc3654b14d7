"""Starting through a network blip: platforms and the database are tried again with backoff; a definite no stops.

A chat platform or a database that does not answer at start (a name not resolved, a connection refused, a 5xx)
is asked again after 1, 2, 4, 8, 15, 30, then every 60 seconds, with one log line per attempt. A refusal
(a rejected token, a database that does not exist) raises Refused: `gavel run` says it in one line and exits 2.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.core.errors import Refused, Unreachable, unreachable_reason
from storage.db import create_db_engine, current_revision, head_revision, sqlite_file, upgrade

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a database says when asking again cannot help (a wrong password, a database or user that is not there).
DATABASE_REFUSALS = ("password authentication failed", "does not exist", "no pg_hba.conf entry", "permission denied")


@dataclass(frozen=True)
class Backoff:
    """Seconds to wait before each retry; the last one repeats."""

    delays: Sequence[float] = (1, 2, 4, 8, 15, 30, 60)

    def delay(self, attempt: int) -> float:
        return self.delays[min(attempt, len(self.delays) - 1)]


async def keep_trying(start: Callable[[], Awaitable[T]], backoff: Backoff) -> T:
    """``start()`` until it works; Unreachable is logged and tried again, Refused (and anything else) raised."""
    attempt = 0
    while True:
        try:
            return await start()
        except Unreachable as failure:
            delay = backoff.delay(attempt)
            where = f", {failure.called}" if failure.called else ""
            log.warning(
                "%s is not reachable (%s%s); retrying in %s s", failure.service, failure.reason, where, f"{delay:g}"
            )
            attempt += 1
            await asyncio.sleep(delay)


def database_name(url: str) -> str:
    """``the database at host:port`` or ``the database ./gavel.db``, never with a password."""
    parsed = make_url(url)
    if sqlite_file(url) is not None:
        return f"the database {parsed.database}"
    where = f"{parsed.host or 'localhost'}:{parsed.port}" if parsed.port else (parsed.host or "localhost")
    return f"the database at {where}"


def database_failure(error: DBAPIError, url: str) -> Refused | Unreachable:
    """A failed connection or statement: Refused when the database said a definite no, else Unreachable."""
    service = database_name(url)
    first_line = str(error.orig).strip().splitlines()[0] if error.orig is not None else type(error).__name__
    if any(words in first_line.lower() for words in DATABASE_REFUSALS):
        # The database's own words name the user or database only; DATABASE_URL's password is never in them.
        return Refused(f"{service} refused the connection ({first_line[-200:]}): check DATABASE_URL", service=service)
    if "locked" in first_line.lower():  # SQLite: another process is migrating the file
        return Unreachable(service=service, reason="busy: another process is migrating it")
    return Unreachable(service=service, reason=unreachable_reason(error))


def migrate(url: str) -> None:
    """Bring the database up to this code's revision, saying so first when it is behind (or new)."""
    engine = create_db_engine(url)
    try:
        try:
            current = current_revision(engine)
            head = head_revision()
            if current != head:
                log.info("database at %s, code at %s: migrating", current or "nothing (a new database)", head)
            upgrade(engine)
        except (OperationalError, DBAPIError) as error:
            raise database_failure(error, url) from None
    finally:
        engine.dispose()


async def prepare_database(url: str, backoff: Backoff) -> None:
    """Migrate the database, waiting for it to answer (in a thread: connecting may take seconds)."""
    await keep_trying(lambda: asyncio.to_thread(migrate, url), backoff)
