"""The one list of chat platforms: an adapter for each whose token is set, started and stopped together.

To add a platform: write ``adapters/<name>/`` against the port (bot/core/port.py), then add one line to
``PLATFORMS``. An adapter's module is imported only when its platform is configured, so a Telegram-only bot
never loads discord.py.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

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


PLATFORMS = (
    Platform("telegram", "adapters.telegram.adapter:TelegramAdapter", lambda s: bool(s.telegram_bot_token)),
    Platform("discord", "adapters.discord.adapter:DiscordAdapter", lambda s: bool(s.discord_bot_token)),
)


def build_adapters(settings: Settings, port: Port) -> dict[str, Any]:
    """An adapter for every platform whose token is set."""
    adapters: dict[str, Any] = {}
    for platform in PLATFORMS:
        if platform.configured(settings):
            module, _, name = platform.adapter.partition(":")
            adapters[platform.name] = getattr(importlib.import_module(module), name)(port, settings)
    return adapters


@contextlib.asynccontextmanager
async def started_adapters(adapters: dict[str, Any], *, receive: bool) -> AsyncIterator[None]:
    """Start each adapter (``receive=False``: to send only), and stop the started ones, last first, on exit."""
    started = []
    try:
        for adapter in adapters.values():
            await adapter.start(receive=receive)
            started.append(adapter)
            log.info("%s adapter started%s", adapter.platform, "" if receive else " (sending only)")
        yield
    finally:
        for adapter in reversed(started):
            with contextlib.suppress(Exception):
                await adapter.stop()
