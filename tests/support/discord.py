"""Discord test fixtures: the real adapter on discord.py with Discord faked at its HTTP boundary."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.discord.adapter import DiscordAdapter
from bot.core.adapter_port import AdapterPort
from tests.fakes.discord_fakes import DiscordUser, FakeDiscord

ALICE = 800_000_000_000_000_001
BOB = 800_000_000_000_000_002
ADMIN = 800_000_000_000_000_003
DM_CHANNEL = 730_000_000_000_000_001
GAVEL_ADMIN = 2000  # in GAVEL_ADMINS of the test settings


@dataclass
class RunningBot:
    adapter: DiscordAdapter
    fake: FakeDiscord

    def user(self, user_id: int = ALICE, **options: Any) -> DiscordUser:
        return DiscordUser(self.adapter.client, self.fake, user_id=user_id, **options)


async def start_bot(core: AdapterPort, settings: Any, fake: FakeDiscord | None = None) -> RunningBot:
    """Start the adapter as `gavel run` does, with Discord's API faked; returns once the 'gateway' is up."""
    fake = fake or FakeDiscord()
    adapter = DiscordAdapter(core, settings, http=fake.http)
    await adapter.start()
    await asyncio.wait_for(fake.connected.wait(), timeout=5)
    return RunningBot(adapter, fake)


@pytest.fixture
def discord_settings(settings_factory: Any) -> Any:
    return settings_factory(discord_bot_token="fake-discord-token")


@pytest.fixture
async def bot(core: AdapterPort, discord_settings: Any):
    running = await start_bot(core, discord_settings)
    yield running
    await running.adapter.stop()
