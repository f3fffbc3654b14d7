"""Reaching the Bot API: where it is, and what a failed getMe means (no answer: try again; a rejected token: stop).

`gavel run` and `gavel doctor` both ask getMe first; both word its failure the same way, for the operator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from bot.core.errors import Refused, StartFailed, Unreachable, unreachable_reason
from bot.core.logs import without_credentials

if TYPE_CHECKING:
    from bot.core.config import Settings

SERVICE = "Telegram"
TELEGRAM_API = "https://api.telegram.org/bot"


def api_urls(base: str) -> tuple[str, str]:
    """(base_url, base_file_url) for PTB, which appends the token: ``http://host:8081/bot`` or ``.../bot{token}``."""
    base = base.rstrip("/")
    if "{token}" in base:
        return base, base.replace("/bot{token}", "/file/bot{token}")
    if not base.endswith("/bot"):
        base += "/bot"
    return base, base[: -len("/bot")] + "/file/bot"


def api_in_use(settings: Settings) -> str:
    """The Bot API base the bot calls, as it may be shown (never with the token, nor a proxy's password)."""
    base = api_urls(settings.telegram_api_base_url)[0] if settings.telegram_api_base_url else TELEGRAM_API
    return without_credentials(base)


def start_failure(error: TelegramError, settings: Settings) -> StartFailed | None:
    """What a failed getMe means: Refused (a definite no), Unreachable (try again), or None (something else)."""
    called = f"getMe at {api_in_use(settings)}"
    if isinstance(error, InvalidToken):
        # PTB words it with the token in it; what Telegram said is the cause ("Unauthorized", "Not Found").
        said = str(error.__cause__ or "").lower()
        if "not found" in said:
            return Refused(
                f"Telegram answered 404 Not Found to {called}: the token is malformed, or TELEGRAM_API_BASE_URL "
                "is not a Bot API address (it ends in /bot); check both",
                service=SERVICE,
                called=called,
            )
        return Refused(
            f"Telegram rejected the token (401 from {called}): copy it again from @BotFather into TELEGRAM_BOT_TOKEN",
            service=SERVICE,
            called=called,
        )
    if isinstance(error, NetworkError):  # connection errors, timeouts, 5xx: a blip or a typo in the host
        return Unreachable(service=SERVICE, reason=unreachable_reason(error), called=called)
    return None


async def bot_identity(settings: Settings) -> str:
    """getMe with the configured token, and what it answered (``@name (id 123)``); StartFailed when it fails."""
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    base_url, base_file_url = api_urls(settings.telegram_api_base_url or TELEGRAM_API)
    request = HTTPXRequest(connect_timeout=5, read_timeout=10)
    bot = Bot(token, base_url=base_url, base_file_url=base_file_url, request=request)
    try:
        async with bot:
            me = bot.bot
    except TelegramError as error:
        failure = start_failure(error, settings)
        if failure is None:
            raise Refused(
                f"Telegram answered getMe at {api_in_use(settings)} with {type(error).__name__}", service=SERVICE
            ) from None
        raise failure from None
    return f"getMe at {api_in_use(settings)} answered @{me.username} (id {me.id})"
