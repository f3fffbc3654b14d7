"""Telegram test fixtures: the fake Bot API served on loopback, the real adapter polling it, and chat helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters.telegram.adapter import TelegramAdapter
from bot.core.adapter_port import AdapterPort
from bot.sandbox.server import serve_in_thread
from tests.fakes.telegram_api import TOKEN, Call, FakeTelegram

ALICE = 1001  # a buyer, in her private chat with the bot
BOB = 1002  # an admin of the buyers' group (not a bot admin)
BOT_ADMIN = 1000  # telegram:1000 is in GAVEL_ADMINS (see conftest)
GROUP = -1001234567890


@pytest.fixture(scope="session")
def _telegram_server() -> Iterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram()
    with serve_in_thread(fake.app) as running:
        yield fake, running.url


@pytest.fixture
def telegram(_telegram_server: tuple[FakeTelegram, str], request: Any) -> Iterator[FakeTelegram]:
    """The fake Bot API, empty; prints what the bot did when the test ends (shown with -s or on failure)."""
    fake, _ = _telegram_server
    fake.reset()
    yield fake
    print(f"\n--- {request.node.name}\n{fake.transcript()}")


@pytest.fixture
def telegram_settings(settings_factory: Any, _telegram_server: tuple[FakeTelegram, str]) -> Any:
    _, url = _telegram_server
    return settings_factory(telegram_bot_token=TOKEN, telegram_api_base_url=f"{url}/bot")


@pytest.fixture
async def adapter(core: AdapterPort, telegram: FakeTelegram, telegram_settings: Any) -> AsyncIterator[TelegramAdapter]:
    """The real Application, long polling the fake, started by hand as `gavel run` does."""
    running = TelegramAdapter(core, telegram_settings, poll_timeout=1)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def say(
    telegram: FakeTelegram, text: str, *, user: int = ALICE, chat: int | None = None, count: int = 1
) -> list[Call]:
    """Send ``text`` as ``user`` and wait for the bot's first ``count`` messages to that chat."""
    chat = user if chat is None else chat
    since = telegram.mark()
    telegram.message(text, user_id=user, chat_id=chat)
    return await telegram.next_sent(chat, since=since, count=count)


async def settle(telegram: FakeTelegram, *, user: int = ALICE, chat: int | None = None) -> int:
    """Send /help and wait for its answer: anything sent before it in that chat has been handled by then."""
    chat = user if chat is None else chat
    await say(telegram, "/help", user=user, chat=chat)
    return telegram.mark()


def grant_group(core: AdapterPort, group: int = GROUP, item_id: int = 101) -> None:
    """Open ``group`` to verified buyers of ``item_id``, as /verify_setup in that group would."""
    from datetime import UTC, datetime

    from storage import places

    with core.services.db.session() as session:
        places.set_access_grant(
            session, platform="telegram", place_id=str(group), item_id=item_id, target_id=str(group),
            created_by="test", now=datetime.now(UTC),
        )  # fmt: skip


def button(call: Call, label: str) -> dict[str, Any]:
    found = [b for b in call.buttons if label in b["text"]]
    assert found, f"no button {label!r} in {[b['text'] for b in call.buttons]}"
    return found[0]
