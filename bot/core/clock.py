"""Time in one form: aware UTC datetimes. The clock itself is injected (``Services.clock``); these are its helpers."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The real clock; code reads the injected one (``services.now()``), this is only its default."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken as UTC (as the upstreams and SQLite mean it)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
