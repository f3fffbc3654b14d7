"""Small text helpers the commands share: relative times, dates, money, masking, truncation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def duration(delta: timedelta) -> str:
    """``2h 5m``, ``3d 4h``, ``45s``: the two largest units, never more."""
    seconds = int(abs(delta.total_seconds()))
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


def parse_minutes(token: str) -> int | None:
    """``10m`` -> 10, ``1h`` -> 60, ``2d`` -> 2880, ``15`` -> 15 minutes; None if unreadable."""
    token = token.strip().lower()
    multipliers = {"m": 1, "h": 60, "d": 1440}
    unit = token[-1:] if token[-1:] in multipliers else "m"
    number = token[:-1] if token[-1:] in multipliers else token
    if not number.isdecimal() or len(number) > 6:  # isdigit() admits "²", which int() refuses
        return None
    return int(number) * multipliers[unit]


def parse_when(text: str, now: datetime) -> datetime | None:
    """``now``, ``+2h``, ``+3d``, ``+90m`` or ISO 8601 (``2026-12-01T18:00Z``); None if unreadable."""
    text = text.strip()
    if text.lower() == "now":
        return now
    if text.startswith("+"):
        minutes = parse_minutes(text[1:])
        return None if minutes is None else now + timedelta(minutes=minutes)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return as_utc(moment)
