"""Reaching Discord's API: what a failed login means (no answer: try again; a rejected token: stop), and whoami.

`gavel run` logs in (GET /users/@me) before it opens the gateway, and `gavel doctor` asks the same; both word a
failure the same way, for the operator.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord.http import HTTPClient

from adapters.discord.endpoints import DISCORD_API, DiscordEndpoints
from bot.core.errors import Refused, StartFailed, Unreachable, unreachable_reason
from bot.core.logs import redact, without_credentials

if TYPE_CHECKING:
    from bot.core.config import Settings

SERVICE = "Discord"


def api_in_use(settings: Settings) -> str:
    """The REST base the bot calls, as it may be shown (without a proxy's password)."""
    return without_credentials(settings.discord_api_base_url or DISCORD_API)


def login_failure(error: BaseException, settings: Settings) -> StartFailed | None:
    """What a failed login means: Refused (a definite no), Unreachable (try again), or None (something else)."""
    called = f"GET /users/@me at {api_in_use(settings)}"
    if isinstance(error, discord.LoginFailure):
        return Refused(
            f"Discord rejected the token (401 from {called}): copy it again from the developer portal "
            "(your application, Bot, Reset Token) into DISCORD_BOT_TOKEN",
            service=SERVICE,
            called=called,
        )
    if isinstance(error, discord.DiscordServerError | aiohttp.ClientError | OSError | asyncio.TimeoutError):
        return Unreachable(service=SERVICE, reason=unreachable_reason(error), called=called)
    if isinstance(error, discord.HTTPException):  # a 404 from a proxy that is not Discord's API, say
        return Refused(
            f"Discord answered {error.status} to {called}: check DISCORD_API_BASE_URL (it includes /api/v10)",
            service=SERVICE,
            called=called,
        )
    return None


async def bot_identity(settings: Settings) -> str:
    """GET /users/@me with the configured token, and what it answered; StartFailed when it fails (`gavel doctor`)."""
    token = settings.discord_bot_token.get_secret_value() if settings.discord_bot_token else ""
    DiscordEndpoints.of(settings).apply()
    http = HTTPClient(asyncio.get_running_loop())
    try:
        me = await asyncio.wait_for(http.static_login(token), timeout=15)
    except Exception as error:
        failure = login_failure(error, settings)
        if failure is None:  # e.g. aiohttp refusing a proxy URL with a password in it
            called = f"GET /users/@me at {api_in_use(settings)}"
            detail = redact(str(error))[:160]
            raise Refused(f"Discord: {called} failed ({type(error).__name__}: {detail})", service=SERVICE) from None
        raise failure from None
    finally:
        await http.close()
        if http.connector is not discord.utils.MISSING:
            await http.connector.close()
    return f"GET /users/@me at {api_in_use(settings)} answered @{me['username']} (id {me['id']})"
