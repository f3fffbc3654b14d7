"""The port: all an adapter may ask of the core, as a Protocol, so adapters depend on nothing behind it.

Adapters receive one object of this shape (``AdapterPort``, bot/core/adapter_port.py, built by the wiring) and
import only this module, the vocabulary (bot/core/messages.py, registry, errors, i18n, pacing) and their platform's
library: never storage, a client, a command module or the routing behind ``handle``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.core.messages import Prompt, Reply, Request
from bot.core.registry import Registry


@dataclass(frozen=True)
class Suggestion:
    """One autocomplete choice: what the user sees, and the value the option takes."""

    label: str
    value: Any


@dataclass(frozen=True)
class ButtonAction:
    """What pressing a button does, kept server side with its token: the command line it runs, and whether the
    answer replaces the message the button sits under (paging). A client controls everything a press carries,
    so a press carries only the token."""

    command: str
    edits: bool = False


class Port(Protocol):
    """What adapters ask of the core; every method is safe to call from any adapter at any time."""

    @property
    def registry(self) -> Registry:
        """The command table (menus, slash trees, a button's command)."""
        ...

    # --- requests ---------------------------------------------------------------------------------------

    async def handle(self, request: Request) -> Reply | None:
        """Answer one request in the asker's language; never raises (a failure is a polite Reply)."""
        ...

    async def speak_to(self, request: Request) -> str:
        """Answer in the asker's language from here to the end of this task (adapters' own words included)."""
        ...

    async def pending_prompt(self, request: Request) -> Prompt | None:
        """The prompt the user is answering right now, if any (adapters hide secret answers)."""
        ...

    async def hides_secret(self, request: Request) -> bool:
        """Whether the message behind ``request`` must disappear from the chat before anything else happens."""
        ...

    async def secret_warning(self, request: Request) -> str | None:
        """What to tell a user whose secret the adapter could not delete (None when there is nothing to say)."""
        ...

    # --- state an adapter keeps through the core ---------------------------------------------------------

    def now(self) -> datetime:
        """The core's clock (injected in tests), for anything an adapter dates."""
        ...

    async def recall(self, key: str) -> str | None: ...

    async def remember(self, key: str, value: str) -> None: ...

    async def forget(self, key: str) -> None: ...

    async def button_tokens(self, actions: Iterable[ButtonAction]) -> dict[ButtonAction, str]:
        """A stored token for each button's action, the same one every time for the same action."""
        ...

    async def button_action(self, token: str) -> ButtonAction | None:
        """What a token's button does; None if this database never made it (or it went unused and was forgotten)."""
        ...

    # --- places and chats ---------------------------------------------------------------------------------

    async def entitled_targets(self, platform: str, place_id: str, user_id: str) -> list[str]:
        """What this user's verified purchases unlock in this place: role ids, or the place's own id."""
        ...

    async def chat_gone(self, platform: str, chat_id: str, *, user_id: str | None = None) -> int:
        """The bot can no longer write to this chat (or to this user there): stop their watches; how many."""
        ...

    async def chat_moved(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        """The chat has a new id (a group became a supergroup): its watches, grants and settings follow it."""
        ...

    async def suggestions(self, source: str, platform: str, user_id: str, typed: str) -> list[Suggestion]:
        """Choices for an argument being typed; never raises."""
        ...
