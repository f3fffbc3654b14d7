"""The port's implementation (bot/core/port.py): requests go to the routing core, the rest to storage.

Adapters never touch storage or the clients; what they need from the database or an upstream (a small
key-value store, button tokens, who may enter a place, "this chat is gone", "this chat moved",
autocomplete suggestions) they ask for here, in words that name no platform.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.core.messages import Prompt, Reply, Request
from bot.core.port import ButtonAction, Suggestion
from storage import buttons, key_values, places, users, watches

if TYPE_CHECKING:
    from bot.core.registry import Registry
    from bot.core.routing import Core

log = logging.getLogger(__name__)

CATALOGUE_TTL_SECONDS = 60.0
MAX_SUGGESTIONS = 25


class AdapterPort:
    """One per process, handed to every adapter; implements ``Port``."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.services = core.services
        self._catalogue: tuple[float, list[Any]] = (0.0, [])

    @property
    def registry(self) -> Registry:
        return self.core.registry

    async def handle(self, request: Request) -> Reply | None:
        return await self.core.handle(request)

    async def speak_to(self, request: Request) -> str:
        return await self.core.speak_to(request)

    async def pending_prompt(self, request: Request) -> Prompt | None:
        return await self.core.pending_prompt(request)

    async def hides_secret(self, request: Request) -> bool:
        return await self.core.hides_secret(request)

    async def secret_warning(self, request: Request) -> str | None:
        return await self.core.secret_warning(request)

    def now(self) -> datetime:
        """The core's clock (injected in tests), for anything an adapter dates."""
        return self.services.now()

    # --- a small key-value store (an adapter's own bits of state: links it made, hashes it pushed) ---

    async def recall(self, key: str) -> str | None:
        return await self.services.db.read(lambda s: key_values.get_value(s, key=key))

    async def remember(self, key: str, value: str) -> None:
        await self.services.db.run(lambda s: key_values.set_value(s, key=key, value=value))

    async def forget(self, key: str) -> None:
        await self.services.db.run(lambda s: key_values.delete_value(s, key=key))

    # --- buttons: a short token stands for what a button does (callback data is small and a client's to forge) ---

    async def button_tokens(self, actions: Iterable[ButtonAction]) -> dict[ButtonAction, str]:
        """A stored token for each button's action, the same one every time for the same action."""
        wanted = list(dict.fromkeys(actions))
        if not wanted:
            return {}
        now = self.services.now()
        return await self.services.db.run(
            lambda s: {
                action: buttons.store_button(s, command=action.command, edits=action.edits, now=now)
                for action in wanted
            }
        )

    async def button_action(self, token: str) -> ButtonAction | None:
        """What a token's button does; None if this database never made it (or it went unused and was forgotten).

        A press is a use: written down when the last one written is a day old, so most presses only read.
        """
        found = await self.services.db.read(lambda s: buttons.find_button(s, token=token))
        if found is None:
            return None
        now = self.services.now()
        if found.stale(now):
            await self.services.db.run(lambda s: buttons.touch_button(s, token=token, now=now))
        return ButtonAction(found.command, found.edits)

    # --- places -------------------------------------------------------------------------------------------

    async def entitled_targets(self, platform: str, place_id: str, user_id: str) -> list[str]:
        """What this user's verified purchases unlock in this place: role ids, or the place's own id."""
        now = self.services.now()
        return await self.services.db.read(
            lambda s: places.entitled_targets(
                s, platform=platform, place_id=place_id, platform_user_id=user_id, now=now
            )
        )

    async def chat_gone(self, platform: str, chat_id: str, *, user_id: str | None = None) -> int:
        """The bot can no longer write to this chat (or to this user there): stop their watches; how many."""

        def stop(session: Session) -> int:
            chat_user_id = None
            if user_id is not None:
                user = users.find_chat_user(session, platform=platform, platform_user_id=user_id)
                if user is None:
                    return 0
                chat_user_id = user.id
            return watches.deactivate_watches_for_chat(
                session, platform=platform, chat_id=chat_id, chat_user_id=chat_user_id
            )

        stopped = await self.services.db.run(stop)
        log.info("%s chat %s is closed to the bot; %d watch(es) stopped", platform, chat_id, stopped)
        return stopped

    async def chat_moved(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        """The chat has a new id (a group became a supergroup): its watches, grants and settings follow it."""
        if old_chat_id == new_chat_id:
            return
        moved = await self.services.db.run(
            lambda s: places.move_chat(s, platform=platform, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
        )
        log.info("%s chat %s moved to %s; %d record(s) followed it", platform, old_chat_id, new_chat_id, moved)

    # --- autocomplete -------------------------------------------------------------------------------------

    async def suggestions(self, source: str, platform: str, user_id: str, typed: str) -> list[Suggestion]:
        """Choices for an argument being typed; never raises (an upstream hiccup just means no suggestions)."""
        try:
            if source == "items":
                return await self._items(typed)
            if source == "watched_auctions":
                return await self._watched(platform, user_id, typed)
        except Exception:
            log.warning("suggestions for %s failed", source, exc_info=True)
        return []

    async def _items(self, typed: str) -> list[Suggestion]:
        fetched_at, catalogue = self._catalogue
        if time.monotonic() - fetched_at > CATALOGUE_TTL_SECONDS:
            catalogue = list(await self.services.cryptogig.items())
            self._catalogue = (time.monotonic(), catalogue)
        wanted = typed.strip().lstrip("#").lower()
        chosen = [i for i in catalogue if not wanted or str(i.id).startswith(wanted) or wanted in i.name.lower()]
        return [Suggestion(f"#{item.id} {item.name}", item.id) for item in chosen[:MAX_SUGGESTIONS]]

    async def _watched(self, platform: str, user_id: str, typed: str) -> list[Suggestion]:
        def watched(session: Session) -> list[str]:
            user = users.find_chat_user(session, platform=platform, platform_user_id=user_id)
            if user is None or user.id is None:
                return []
            return [w.auction_id for w in watches.active_watches_for_user(session, chat_user_id=user.id)]

        wanted = typed.strip().lower()
        auction_ids = await self.services.db.read(watched)
        return [Suggestion(a, a) for a in auction_ids if wanted in a.lower()][:MAX_SUGGESTIONS]
