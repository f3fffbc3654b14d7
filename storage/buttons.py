"""Button tokens: a short stand-in for a button's command line, kept so buttons outlive restarts."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.models import ButtonToken

BUTTON_COMMAND_MAX = 500


def _token_for_command(session: Session, command: str) -> str | None:
    return session.exec(select(ButtonToken.token).where(ButtonToken.command == command)).first()


def store_button_command(session: Session, *, command: str, now: datetime) -> str:
    """A 16-character url-safe token standing for ``command``, the same one each time for the same command.

    Telegram limits callback data to 64 bytes; the token survives restarts because it is stored.
    """
    if len(command) > BUTTON_COMMAND_MAX:
        raise ValueError(f"button command longer than {BUTTON_COMMAND_MAX} characters")
    existing = _token_for_command(session, command)
    if existing is not None:
        return existing
    # 96 random bits: a clash is all but impossible, but a retry costs nothing.
    for _ in range(3):
        token = secrets.token_urlsafe(12)
        try:
            with session.begin_nested():
                session.add(ButtonToken(token=token, command=command, created_at=now))
            return token
        except IntegrityError:
            existing = _token_for_command(session, command)  # stored concurrently by someone else
            if existing is not None:
                return existing
    raise RuntimeError("could not store a button token")


def resolve_button_token(session: Session, *, token: str) -> str | None:
    """The command a button token stands for, or None if unknown (e.g. made by another database)."""
    if not token or len(token) > 16:
        return None
    row = session.get(ButtonToken, token)
    return row.command if row is not None else None
