"""Small text helpers the commands share: relative times, dates, money, masking, truncation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class Money:
    """An amount in a currency, carried as data (in errors, say) and formatted only for its reader."""

    amount: float | int | Decimal
    currency: str | None = None


@dataclass(frozen=True)
class Moment:
    """A time, to be shown relative to ``now`` (``in 2h``, ``3d ago``) for its reader."""

    at: datetime
    now: datetime


def plural(count: int, noun: str) -> str:
    """``1 bid``, ``3 bids``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def duration(delta: timedelta) -> str:
    """``2h 5m``, ``3d 4h``, ``45s``: the two largest units, never more."""
    seconds = round(abs(delta.total_seconds()))  # to the nearest second: a few ms of work never shows as a minute
    if seconds < 60:
        return f"{seconds}s"
    units = (("d", 86400), ("h", 3600), ("m", 60))
    parts = []
    for label, size in units:
        count, seconds = divmod(seconds, size)
        if count or parts:
            parts.append(f"{count}{label}")
        if len(parts) == 2:
            break
    return " ".join(p for p in parts if not p.startswith("0")) or "0m"


def relative(moment: datetime, now: datetime) -> str:
    """``in 2h 5m`` or ``3d 4h ago``."""
    delta = as_utc(moment) - as_utc(now)
    if abs(delta.total_seconds()) < 1:
        return "now"
    return f"in {duration(delta)}" if delta.total_seconds() > 0 else f"{duration(delta)} ago"


def date(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def day(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d")


def money(amount: float | int | Decimal | None, currency: str | None = None) -> str:
    """``19.99 USD``, ``1,200 DRT``: cents only when there are some."""
    if amount is None:
        return "—"
    value = Decimal(str(amount))
    text = f"{value:,.2f}" if value != value.to_integral_value() else f"{int(value):,}"
    return f"{text} {currency}" if currency else text


def mask(secret: str, keep: int = 4) -> str:
    """``abcd…6789``: enough to recognise a code, not enough to use it."""
    secret = secret.strip()
    if len(secret) <= keep * 2:
        return "…" if secret else ""
    return f"{secret[:keep]}…{secret[-keep:]}"


def short_id(auction_id: str) -> str:
    """``0x1a2b…9f0e`` for an auction or bid id in running text."""
    return f"{auction_id[:6]}…{auction_id[-4:]}" if len(auction_id) > 12 else auction_id


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary when one is near."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip() + "…"
