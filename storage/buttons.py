"""Button tokens: what a button does, kept server side under a short opaque token that outlives restarts.

A token stands for a command line *and* whether its answer replaces the message the button sits under: a client
controls everything in its callback data, so nothing but the token travels there. A token is kept while it is
used (shown under a new message, or pressed): retention goes by ``last_used_at``, which is refreshed at most
once a ``REFRESH_EVERY``, so a busy button costs a write a day rather than one per press.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import ButtonToken

BUTTON_COMMAND_MAX = 500
REFRESH_EVERY = timedelta(days=1)  # far below any retention age: a button in use is never near it
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,16}")


@dataclass(frozen=True)
class StoredButton:
    command: str
    edits: bool
    last_used_at: datetime

    def stale(self, now: datetime) -> bool:
        """Whether a use now should be written down (the last one written is a ``REFRESH_EVERY`` old)."""
        return self.last_used_at <= now - REFRESH_EVERY


def _token_for(session: Session, command: str, edits: bool) -> str | None:
    return session.exec(
        select(ButtonToken.token).where(col(ButtonToken.command) == command, col(ButtonToken.edits).is_(edits))
    ).first()


def store_button(session: Session, *, command: str, edits: bool, now: datetime) -> str:
    """A 16-character url-safe token standing for (``command``, ``edits``), the same one each time for the same pair.

    Telegram limits callback data to 64 bytes; the token survives restarts because it is stored. A token shown
    again counts as used.
    """
    if len(command) > BUTTON_COMMAND_MAX:
        raise ValueError(f"button command longer than {BUTTON_COMMAND_MAX} characters")
    existing = _token_for(session, command, edits)
    if existing is not None:
        touch_button(session, token=existing, now=now)
        return existing
    # 96 random bits: a clash is all but impossible, but a retry costs nothing.
    for _ in range(3):
        token = secrets.token_urlsafe(12)
        try:
            with session.begin_nested():
                session.add(ButtonToken(token=token, command=command, edits=edits, created_at=now, last_used_at=now))
            return token
        except IntegrityError:
            existing = _token_for(session, command, edits)  # stored concurrently by someone else
            if existing is not None:
                return existing
    raise RuntimeError("could not store a button token")


def find_button(session: Session, *, token: str) -> StoredButton | None:
    """What a token's button does, or None if unknown (made by another database, or pruned)."""
    # Only a token's own shape reaches the database: callback data is whatever a client sends.
    if not TOKEN_SHAPE.fullmatch(token or ""):
        return None
    row = session.get(ButtonToken, token)
    return StoredButton(row.command, row.edits, row.last_used_at) if row is not None else None


def touch_button(session: Session, *, token: str, now: datetime) -> None:
    """The button was used now: written only if the last use written is older than ``REFRESH_EVERY``."""
    session.exec(
        update(ButtonToken)
        .where(col(ButtonToken.token) == token, col(ButtonToken.last_used_at) <= now - REFRESH_EVERY)
        .values(last_used_at=now)
    )


def prune_buttons(session: Session, *, unused_since: datetime) -> int:
    """Forget tokens nobody showed or pressed since ``unused_since``: their buttons answer "expired"."""
    return session.exec(delete(ButtonToken).where(col(ButtonToken.last_used_at) < unused_since)).rowcount
