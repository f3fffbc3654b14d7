"""Text helpers the commands share: times, dates and money in the reader's language (Babel), masks, clipping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from babel.dates import format_date, format_time, get_datetime_format
from babel.lists import format_list
from babel.numbers import parse_pattern
from babel.units import format_unit

from bot.core import i18n
from bot.core.clock import as_utc
from bot.core.i18n import N_, _


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


_WHOLE, _CENTS = parse_pattern("#,##0"), parse_pattern("#,##0.00")  # parsed once: Babel would parse each call
_UNITS = (("duration-day", 86400), ("duration-hour", 3600), ("duration-minute", 60))


def duration(delta: timedelta) -> str:
    """``2h 5m``, ``3d 4h``, ``45s`` (``2 ч 5 мин`` in Russian): the two largest units, never more.

    Babel's ``format_timedelta`` gives one rounded unit ("2 hours" for 2h 55m), too coarse for an auction's
    last hours, so each unit is Babel's narrow unit and the two are joined here. The last unit shown is
    rounded, not cut, the same way in every language: 179d 23h 59m reads "180d", and a few seconds between
    two readers never make one see "179d 23h" and the other "180d".
    """
    seconds = round(abs(delta.total_seconds()))  # to the nearest second: a few ms of work never shows as a minute
    language = i18n.current()
    if seconds < 60:
        return _unit(seconds, "duration-second", language)
    largest = next(index for index, (_, size) in enumerate(_UNITS) if seconds >= size)
    step = _UNITS[min(largest + 1, len(_UNITS) - 1)][1]  # what the last unit shown counts
    seconds = (seconds + step // 2) // step * step
    parts: list[str] = []
    for unit, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count or parts:
            parts.append(_unit(count, unit, language) if count else "")
        if len(parts) == 2:
            break
    return " ".join(part for part in parts if part)


@lru_cache(maxsize=4096)
def _unit(count: int, unit: str, language: str) -> str:
    """``2h``, ``2 ч``: cached, as Babel's format_unit takes ~30 µs and an alert round words thousands of them."""
    return format_unit(count, unit, length="narrow", locale=i18n.locale_of(language))


def relative(moment: datetime, now: datetime) -> str:
    """``in 2h 5m`` or ``3d 4h ago``, in the reader's language."""
    delta = as_utc(moment) - as_utc(now)
    if abs(delta.total_seconds()) < 1:
        # Translators: a moment that is the present one ("ends now")
        return _("now")
    if delta.total_seconds() > 0:
        # Translators: a time still to come; {duration} is like "2h 5m"
        return _("in {duration}").format(duration=duration(delta))
    # Translators: a time already past; {duration} is like "2h 5m"
    return _("{duration} ago").format(duration=duration(delta))


def date(moment: datetime) -> str:
    """``Dec 1, 2026, 18:00 UTC``: the reader's date order and month names, the time in UTC."""
    moment = as_utc(moment)
    locale = i18n.locale_of(i18n.current())
    pattern = get_datetime_format("medium", locale=locale).replace("'", "")
    shown = pattern.format(
        format_time(moment, "HH:mm", tzinfo=UTC, locale=locale), format_date(moment, "medium", locale=locale)
    )
    return f"{shown} UTC"


def day(moment: datetime) -> str:
    """``Dec 1, 2026`` in the reader's language."""
    return format_date(as_utc(moment), "medium", locale=i18n.locale_of(i18n.current()))


def money(amount: float | int | Decimal | None, currency: str | None = None) -> str:
    """``19.99 USD``, ``1,200 DRT`` (``1.200 DRT`` in Spanish): cents only when there are some.

    The code follows the amount in every language: Auctionity's tokens (DRT, ETH) are not ISO currencies
    that Babel could give a symbol to.
    """
    if amount is None:
        return "—"
    value = Decimal(str(amount))
    pattern = _WHOLE if value == value.to_integral_value() else _CENTS
    text = pattern.apply(value, i18n.locale_of(i18n.current()))
    return f"{text} {currency}" if currency else text


# The marketplace's licence kinds, as words of the reader's language ("Regular" is a licence, not "so-so").
LICENCES = {
    # Translators: CryptoGig's "Regular" licence kind (the standard one), shown after "Licence:"
    "regular": N_("Regular"),
    # Translators: CryptoGig's "Extended" licence kind (wider rights than the standard one), shown after "Licence:"
    "extended": N_("Extended"),
}


def licence(kind: str | None, unknown: str = "") -> str:
    """A purchase's licence kind for the reader (``Estándar``); a kind we do not know, as CryptoGig names it."""
    if not kind or not kind.strip():
        return unknown
    known = LICENCES.get(kind.strip().lower().removesuffix(" license").removesuffix(" licence"))
    return _(known) if known else kind.strip()


def listing(parts: list[str]) -> str:
    """``a, b and c`` in the reader's language (``a, b y c``, ``a, b и c``)."""
    return format_list(parts, locale=i18n.locale_of(i18n.current())) if parts else ""


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
