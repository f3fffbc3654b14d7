"""One converter per argument kind: raw text (or an adapter's resolved value) in, a typed value out.

The core converts every argument once, before the handler runs; handlers read typed values only and
never check them again. A bad value raises UserInputError with a code and the data to word it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.core.clock import as_utc
from bot.core.errors import UserInputError
from bot.core.messages import RoleChoice
from bot.core.registry import ArgKind, Argument

AUCTION_ID_SHAPE = re.compile(r"^0x[0-9a-f]{64}$")
CODE_SHAPE = re.compile(r"^[a-z0-9-]+$")
EMAIL_SHAPE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,24}$")
WHOLE_NUMBER = re.compile(r"-?\d+")  # \d: the decimal digits int() reads, any script's ("²" is not one)
MAX_AMOUNT = 10**12
MAX_ITEM_ID = 2**31 - 1
MAX_CODE_LENGTH = 100
MAX_AUCTIONS_AT_ONCE = 10
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
MAX_NAME_LENGTH = 120
MAX_REMINDERS = 5
MAX_REMINDER_MINUTES = 7 * 24 * 60


def normalise_code(raw: str) -> str:
    """The one spelling of a purchase code: blanks and quotes trimmed, case folded.

    CryptoGig accepts a code in any case, so ``ABC…`` and ``abc…`` are one purchase: every check,
    the hash, the claim and the upstream call see this form only.
    """
    return raw.strip().strip("`'\"<>").strip().casefold()


# What a purchase code looks like wherever it is typed (CryptoGig's are UUIDs), in its normalised (case-folded)
# spelling and set apart from other letters and digits: a group message holding one is deleted unread by others.
CODE_LOOK = re.compile(r"(?<![0-9a-z])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-z])")


def looks_like_code(text: str) -> bool:
    """Whether any word of ``text`` looks like a purchase code, however it is cased, quoted or punctuated."""
    return CODE_LOOK.search(text.casefold()) is not None


def _integer(argument: Argument, raw: str, low: int | None, high: int | None) -> int:
    text = raw.replace("_", "").replace(",", "")
    if not WHOLE_NUMBER.fullmatch(text):
        raise UserInputError("not_whole_number", argument=argument.name, value=raw)
    if len(text.lstrip("-")) > 18:  # a whole number all right, only far too big: say what fits
        if low is not None and high is not None:
            raise UserInputError("out_of_range", argument=argument.name, low=low, high=high)
        raise UserInputError("too_big", argument=argument.name)
    number = int(text)
    if (low is not None and number < low) or (high is not None and number > high):
        if high is None:
            raise UserInputError("below_minimum", argument=argument.name, low=low)
        raise UserInputError("out_of_range", argument=argument.name, low=low, high=high)
    return number


def integer(argument: Argument, raw: str, now: datetime) -> int:
    return _integer(argument, raw, argument.min_value, argument.max_value)


def item_id(argument: Argument, raw: str, now: datetime) -> int:
    return _integer(argument, raw.lstrip("#"), 1, MAX_ITEM_ID)


def amount(argument: Argument, raw: str, now: datetime) -> int:
    return _integer(argument, raw, 1, MAX_AMOUNT)


def choice(argument: Argument, raw: str, now: datetime) -> str:
    value = raw.lower()
    if value not in argument.choices:
        raise UserInputError("not_a_choice", argument=argument.name, choices=", ".join(argument.choices))
    return value


def auction_id(argument: Argument, raw: str, now: datetime) -> str:
    """``0x`` + 64 hex digits, any case, returned lowercase."""
    value = raw.strip().strip("<>`").lower()
    if not AUCTION_ID_SHAPE.match(value):
        raise UserInputError("not_an_auction_id", value=raw.strip())
    return value


def auction_ids(argument: Argument, raw: str, now: datetime) -> list[str]:
    words = raw.replace(",", " ").split()
    if len(words) > MAX_AUCTIONS_AT_ONCE:
        raise UserInputError("too_many_auctions", limit=MAX_AUCTIONS_AT_ONCE)
    return list(dict.fromkeys(auction_id(argument, word, now) for word in words))


def code(argument: Argument, raw: str, now: datetime) -> str:
    value = normalise_code(raw)
    if not value:
        raise UserInputError("code_missing")
    if len(value) > MAX_CODE_LENGTH:
        raise UserInputError("code_too_long", limit=MAX_CODE_LENGTH)
    if not CODE_SHAPE.match(value):
        raise UserInputError("code_shape")
    return value


def role(argument: Argument, raw: str, now: datetime) -> RoleChoice:
    return RoleChoice(raw)  # typed, never looked up: commands trust only resolved roles


def user(argument: Argument, raw: str, now: datetime) -> str:
    value = raw.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 20:
        raise UserInputError("not_a_user")
    return value


def email(argument: Argument, raw: str, now: datetime) -> str:
    value = raw.strip()
    if not EMAIL_SHAPE.match(value) or not value.isprintable():  # no NUL or other control character gets stored
        raise UserInputError("not_an_email")
    return value.lower()


def password(argument: Argument, raw: str, now: datetime) -> str:
    """Any password of a sane length; how long a *new* one must be is NEW_PASSWORD's business."""
    if not raw or len(raw) > MAX_PASSWORD_LENGTH:
        raise UserInputError("password_impossible", command="login")
    return raw


def new_password(argument: Argument, raw: str, now: datetime) -> str:
    """A password being chosen (a signup): long enough, else asked again, as a bad email is."""
    if not MIN_PASSWORD_LENGTH <= len(raw) <= MAX_PASSWORD_LENGTH:
        raise UserInputError("new_password_length", low=MIN_PASSWORD_LENGTH, high=MAX_PASSWORD_LENGTH)
    return raw


def when(argument: Argument, raw: str, now: datetime) -> datetime:
    moment = parse_when(raw, now)
    if moment is None:
        raise UserInputError("not_a_time")
    return moment


def name(argument: Argument, raw: str, now: datetime) -> str:
    value = " ".join("".join(c for c in raw if unicodedata.category(c) != "Cc").split())
    if not value:
        raise UserInputError("name_missing")
    if len(value) > MAX_NAME_LENGTH:
        raise UserInputError("name_too_long", limit=MAX_NAME_LENGTH)
    return value


def reminders(argument: Argument, raw: str, now: datetime) -> list[int]:
    """``remind 1h,10m`` -> [60, 10], largest first."""
    words = raw.split()
    if len(words) < 2 or words[0].lower() != "remind":
        raise UserInputError("reminders_syntax")
    minutes: set[int] = set()
    for token in " ".join(words[1:]).replace(" ", ",").split(","):
        if not token:
            continue
        value = parse_minutes(token)
        if value is None or not 1 <= value <= MAX_REMINDER_MINUTES:
            raise UserInputError("not_a_reminder", value=token)
        minutes.add(value)
    if len(minutes) > MAX_REMINDERS:
        raise UserInputError("too_many_reminders", limit=MAX_REMINDERS)
    return sorted(minutes, reverse=True)


def text(argument: Argument, raw: str, now: datetime) -> str:
    return raw


CONVERTERS: dict[ArgKind, Callable[[Argument, str, datetime], Any]] = {
    ArgKind.TEXT: text,
    ArgKind.INTEGER: integer,
    ArgKind.CHOICE: choice,
    ArgKind.AMOUNT: amount,
    ArgKind.ITEM_ID: item_id,
    ArgKind.AUCTION_ID: auction_id,
    ArgKind.AUCTION_IDS: auction_ids,
    ArgKind.CODE: code,
    ArgKind.ROLE: role,
    ArgKind.USER: user,
    ArgKind.EMAIL: email,
    ArgKind.PASSWORD: password,
    ArgKind.NEW_PASSWORD: new_password,
    ArgKind.WHEN: when,
    ArgKind.REMINDERS: reminders,
    ArgKind.NAME: name,
}


def convert(argument: Argument, value: Any, now: datetime) -> Any:
    """The typed value of one argument, or UserInputError. A value an adapter resolved already passes through."""
    if isinstance(value, RoleChoice):
        return value
    raw = str(value)
    if argument.kind not in (ArgKind.PASSWORD, ArgKind.NEW_PASSWORD):
        raw = raw.strip()
    return CONVERTERS[argument.kind](argument, raw, now)


# --- the parsing the converters share ----------------------------------------------------------------


def parse_minutes(token: str) -> int | None:
    """``10m`` -> 10, ``1h`` -> 60, ``2d`` -> 2880, ``15`` -> 15 minutes; None if unreadable."""
    token = token.strip().lower()
    multipliers = {"m": 1, "h": 60, "d": 1440}
    unit = token[-1:] if token[-1:] in multipliers else "m"
    number = token[:-1] if token[-1:] in multipliers else token
    if not number.isascii() or not number.isdigit() or len(number) > 6:
        return None
    return int(number) * multipliers[unit]


def parse_when(raw: str, now: datetime) -> datetime | None:
    """``now``, ``+2h``, ``+3d``, ``+90m`` or ISO 8601 (``2026-12-01T18:00Z``); None if unreadable."""
    raw = raw.strip()
    if raw.lower() == "now":
        return now
    if raw.startswith("+"):
        minutes = parse_minutes(raw[1:])
        return None if minutes is None else now + timedelta(minutes=minutes)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return as_utc(moment)
