"""Conversations: a command that asks for its missing arguments one message at a time (email, then password).

The answers so far live in the database, encrypted, so the next message may reach any replica. A
password is always asked last and never stored: its answer runs the command at once. A conversation
stays known for SECRET_GRACE after it times out, so a late password is still recognised (and deleted
by the adapter) rather than taken for chatter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.messages import Prompt, Request
from bot.core.registry import Argument, Command
from storage.conversations import end_conversation, get_conversation, save_conversation

if TYPE_CHECKING:
    from bot.core.services import Services

CONVERSATION_TIMEOUT = timedelta(minutes=5)
SECRET_GRACE = timedelta(minutes=30)


@dataclass(frozen=True)
class Conversation:
    """An open conversation: which command, the raw answers given so far, until when."""

    command: Command
    answers: dict[str, str]
    expires_at: datetime

    def next_argument(self) -> Argument | None:
        return next((a for a in self.command.asked if a.name not in self.answers), None)

    def expired(self, now: datetime) -> bool:
        return self.expires_at < now

    def awaits_secret(self, now: datetime) -> bool:
        """A password is asked for now, or was until so recently that its answer may still arrive."""
        pending = self.next_argument()
        return pending is not None and pending.secret and now <= self.expires_at + SECRET_GRACE

    def prompt(self) -> Prompt | None:
        pending = self.next_argument()
        if pending is None:
            return None
        return Prompt(pending.name, secret=pending.secret, timeout_seconds=int(CONVERSATION_TIMEOUT.total_seconds()))


class Conversations:
    """Reads and writes conversations for the core; every call is one database round trip off the loop."""

    def __init__(self, services: Services, find_command: callable) -> None:  # type: ignore[valid-type]
        self.services = services
        self._find_command = find_command

    async def get(self, request: Request) -> Conversation | None:
        """The user's conversation in this chat, while it is open or within its grace period."""
        key = _key(request)
        found = await self.services.db.read(lambda s: get_conversation(s, **key))
        if found is None:
            return None
        command = self._find_command(found.command)
        now = self.services.now()
        if command is None or found.expires_at + SECRET_GRACE < now:
            await self.end(request)
            return None
        answers = json.loads(self.services.box.decrypt(found.answers_encrypted))
        return Conversation(command, answers, found.expires_at)

    async def save(self, request: Request, command: Command, answers: dict[str, str]) -> Conversation:
        """Start (or advance) the conversation with these answers; its clock starts again with each answer."""
        secret = {a.name for a in command.args if a.secret}
        if secret & answers.keys():
            raise ValueError("a secret answer is never stored")
        expires_at = self.services.now() + CONVERSATION_TIMEOUT
        encrypted = self.services.box.encrypt(json.dumps(answers))
        await self.services.db.run(
            lambda s: save_conversation(
                s, **_key(request), command=command.name, answers_encrypted=encrypted, expires_at=expires_at
            )
        )
        return Conversation(command, answers, expires_at)

    async def end(self, request: Request) -> bool:
        return await self.services.db.run(lambda s: end_conversation(s, **_key(request)))


def _key(request: Request) -> dict[str, str]:
    return {"platform": request.platform, "chat_id": request.chat_id, "user_id": request.user_id}
