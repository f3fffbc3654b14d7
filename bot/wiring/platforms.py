"""The one list of chat platforms: an adapter for each whose token is set, started and stopped together.

To add a platform: write ``adapters/<name>/`` against the port (bot/core/port.py), then add one line to
``PLATFORMS``. An adapter's module is imported only when its platform is configured, so a Telegram-only bot
never loads discord.py.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.wiring.startup import Backoff, keep_trying

if TYPE_CHECKING:
    from bot.core.config import Settings
    from bot.core.messages import Alert
    from bot.core.port import Port

log = logging.getLogger(__name__)


class Adapter(Protocol):
    """What every platform adapter offers the app: start, stop, and push an alert."""

    platform: str

    async def start(self, *, receive: bool = True) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, alert: Alert) -> None: ...


@dataclass(frozen=True)
class Platform:
    name: str
    adapter: str  # "module:Class", built as Class(port, settings)
    configured: Callable[[Settings], bool]
    token: str  # the setting that turns it on
    # "module:function": async (settings) -> "@name (id 123)", or StartFailed saying why not (`gavel doctor`)
    identity: str


PLATFORMS = (
    Platform(
        "telegram",
        "adapters.telegram.adapter:TelegramAdapter",
        lambda s: bool(s.telegram_bot_token),
        "TELEGRAM_BOT_TOKEN",
        "adapters.telegram.connect:bot_identity",
    ),
    Platform(
        "discord",
        "adapters.discord.adapter:DiscordAdapter",
        lambda s: bool(s.discord_bot_token),
        "DISCORD_BOT_TOKEN",
        "adapters.discord.connect:bot_identity",
    ),
)


def load(reference: str) -> Any:
    """The object a ``module:name`` reference names, its module imported now (only when its platform is used)."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def build_adapters(settings: Settings, port: Port) -> dict[str, Any]:
    """An adapter for every platform whose token is set."""
    adapters: dict[str, Any] = {}
    for platform in PLATFORMS:
        if platform.configured(settings):
            adapters[platform.name] = load(platform.adapter)(port, settings)
    return adapters


@contextlib.asynccontextmanager
async def started_adapters(
    adapters: dict[str, Any], *, receive: bool, backoff: Backoff | None = None
) -> AsyncIterator[None]:
    """Start each adapter (``receive=False``: to send only), and stop the started ones, last first, on exit.

    A platform that does not answer is tried again with ``backoff``; one that refuses (Refused) stops the start.
    """
    started = []
    backoff = backoff or Backoff()
    try:
        for adapter in adapters.values():
            await keep_trying(functools.partial(adapter.start, receive=receive), backoff)
            started.append(adapter)
            log.info("%s adapter started%s", adapter.platform, "" if receive else " (sending only)")
        yield
    finally:
        for adapter in reversed(started):
            with contextlib.suppress(Exception):
                await adapter.stop()
