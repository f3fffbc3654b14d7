"""The core's port: what adapters may ask of the core besides answering requests.

Adapters never touch storage or the clients; what they need from the database (a small key-value
store, who may enter a place, "this chat is gone", "this chat moved") they ask for here, in words
that name no platform.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from storage import places, repo

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


class AdapterPort:
    """One per process; every method is safe to call from any adapter at any time."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def now(self) -> datetime:
        """The core's clock (injected in tests), for anything an adapter dates: invite expiries, say."""
        return self.services.now()

    # --- buttons: a short token stands for a command line (callback data is small), and outlives restarts ---

    async def button_tokens(self, commands: Iterable[str]) -> dict[str, str]:
        """A stored token for each command line, the same one every time for the same line."""
        wanted = list(dict.fromkeys(commands))
        if not wanted:
            return {}
        now = self.services.now()
        with self.services.db() as session:
            return {command: repo.store_button_command(session, command=command, now=now) for command in wanted}

    async def button_command(self, token: str) -> str | None:
        """The command line a token stands for; None if this database never made it (or forgot it)."""
        with self.services.db() as session:
            return repo.resolve_button_token(session, token=token)

    # --- a small key-value store (an adapter's own bits of state: links it made, hashes it pushed) ---

    async def recall(self, key: str) -> str | None:
        with self.services.db() as session:
            return repo.get_value(session, key=key)

    async def remember(self, key: str, value: str) -> None:
        with self.services.db() as session:
            repo.set_value(session, key=key, value=value)

    async def forget(self, key: str) -> None:
        with self.services.db() as session:
            repo.delete_value(session, key=key)

    # --- places ---------------------------------------------------------------------------------------

    async def entitled_targets(self, platform: str, place_id: str, user_id: str) -> list[str]:
        """What this user's verified purchases unlock in this place: role ids, or the place's own id."""
        with self.services.db() as session:
            return places.entitled_targets(session, platform=platform, place_id=place_id, platform_user_id=user_id)

    async def chat_gone(self, platform: str, chat_id: str, *, user_id: str | None = None) -> int:
        """The bot can no longer write to this chat (or to this user there): stop their watches; how many."""
        with self.services.db() as session:
            chat_user_id = None
            if user_id is not None:
                user = repo.find_chat_user(session, platform=platform, platform_user_id=user_id)
                if user is None:
                    return 0
                chat_user_id = user.id
            stopped = repo.deactivate_watches_for_chat(
                session, platform=platform, chat_id=chat_id, chat_user_id=chat_user_id
            )
        log.info("%s chat %s is closed to the bot; %d watch(es) stopped", platform, chat_id, stopped)
        return stopped

    async def chat_moved(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        """The chat has a new id (a group became a supergroup): its watches, grants and settings follow it."""
        if old_chat_id == new_chat_id:
            return
        with self.services.db() as session:
            moved = places.move_chat(session, platform=platform, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
        log.info("%s chat %s moved to %s; %d record(s) followed it", platform, old_chat_id, new_chat_id, moved)
