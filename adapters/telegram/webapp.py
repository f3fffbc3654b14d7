"""Telegram Web App sign-in: who opened a page inside Telegram, from the ``initData`` Telegram signed for it.

As Telegram documents it ("Validating data received via the Mini App"): the data-check-string is every field
received but ``hash``, as ``key=value`` lines sorted by key; the secret key is HMAC-SHA256 of the bot token keyed
with the constant ``WebAppData``; the data is Telegram's when HMAC-SHA256 of the data-check-string under that
secret key, in hex, equals ``hash``. ``auth_date`` says when Telegram signed it: older than ``max_age``, refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

MAX_INIT_DATA = 4096  # Telegram's initData is a few hundred characters; anything far longer is not it


@dataclass(frozen=True)
class WebAppUser:
    """The person Telegram says opened the page."""

    user_id: str
    name: str = ""
    language: str | None = None


def data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={value}" for key, value in sorted(fields.items()) if key != "hash")


def sign(fields: dict[str, str], bot_token: str) -> str:
    """The ``hash`` Telegram puts on these fields for this bot (tests sign with it, as Telegram would)."""
    secret_key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret_key, data_check_string(fields).encode(), hashlib.sha256).hexdigest()


FRAGMENT_FIELD = "tgWebAppData"  # where Telegram puts initData in the URL fragment of the page it opens


def check_init_data(init_data: str, bot_token: str, *, now: datetime, max_age: timedelta) -> WebAppUser | None:
    """The user ``init_data`` names, when Telegram signed it for this bot within ``max_age``; else None.

    ``init_data`` may also be the whole fragment of the page's URL as Telegram opened it (``tgWebAppData=…&…``).
    """
    if not init_data or len(init_data) > MAX_INIT_DATA * 2:
        return None
    if init_data.startswith(f"{FRAGMENT_FIELD}=") or f"&{FRAGMENT_FIELD}=" in init_data:
        init_data = dict(parse_qsl(init_data, keep_blank_values=True)).get(FRAGMENT_FIELD, "")
    if not init_data or len(init_data) > MAX_INIT_DATA:
        return None
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields = dict(pairs)
    if len(fields) != len(pairs) or "hash" not in fields:
        return None  # a field given twice: which one was signed is anybody's guess
    if not hmac.compare_digest(sign(fields, bot_token), fields["hash"]):
        return None
    try:
        signed_at = datetime.fromtimestamp(int(fields.get("auth_date", "")), UTC)
        user = json.loads(fields.get("user", ""))
    except (ValueError, OverflowError, OSError):
        return None
    if not timedelta(seconds=-60) <= now - signed_at <= max_age:  # a minute of clock skew, never older
        return None
    if not isinstance(user, dict) or not isinstance(user.get("id"), int) or isinstance(user.get("id"), bool):
        return None
    name = " ".join(str(user.get(part) or "") for part in ("first_name", "last_name")).strip()
    language = user.get("language_code") if isinstance(user.get("language_code"), str) else None
    return WebAppUser(str(user["id"]), name[:100], language)


def init_data_checker(bot_token: str) -> Callable[[str, datetime, timedelta], WebAppUser | None]:
    """A checker bound to this bot's token, for the wiring to hand to the dashboard."""

    def check(init_data: str, now: datetime, max_age: timedelta) -> WebAppUser | None:
        return check_init_data(init_data, bot_token, now=now, max_age=max_age)

    return check
