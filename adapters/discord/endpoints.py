"""Where discord.py dials: Discord itself, or a REST proxy (e.g. nirn-proxy) and a gateway proxy in front of it.

discord.py has no setting for either. Every REST URL, interaction callbacks and webhooks included, is built from
the class attribute ``Route.BASE``; the gateway is dialled at ``DiscordWebSocket.DEFAULT_GATEWAY`` (first connect,
and after Discord invalidates a session) or at the ``resume_gateway_url`` that READY named (resumes and
reconnects). Both attributes are process-wide, as is the one Discord client a Gavel process runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Route

if TYPE_CHECKING:
    from bot.core.config import Settings


DISCORD_API = "https://discord.com/api/v10"
DISCORD_GATEWAY = "wss://gateway.discord.gg/"


@dataclass(frozen=True)
class DiscordEndpoints:
    """The REST base and gateway URL a client uses; None means Discord's own."""

    api_base: str | None = None
    gateway: str | None = None

    @classmethod
    def of(cls, settings: Settings) -> DiscordEndpoints:
        return cls(settings.discord_api_base_url, settings.discord_gateway_url)

    def apply(self) -> None:
        """Before login: every REST call from now on goes to ``api_base``, every first connect to ``gateway``."""
        # Set both even when unset, so a client never inherits another one's proxy (tests run many in a process).
        Route.BASE = self.api_base or DISCORD_API
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway or DISCORD_GATEWAY)

    async def resolve_gateway(self, http: HTTPClient) -> None:
        """After login: behind a REST proxy with no gateway named, dial the gateway that API names."""
        # A plain discord.Client never asks (only AutoShardedClient does): it would dial Discord's default.
        if self.api_base and not self.gateway:
            _shards, url, _limits = await http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    def pin(self, ws: DiscordWebSocket | None) -> None:
        """On READY: resume through the configured gateway, not the ``resume_gateway_url`` READY just named."""
        if self.gateway and ws is not None:
            ws.gateway = yarl.URL(self.gateway)
