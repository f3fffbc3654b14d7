"""The command table: every command declared once; help, Telegram's list and Discord's tree come from it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.messages import Reply, Request
    from bot.services import Services

Handler = Callable[["Request", "Services"], Awaitable["Reply"]]


class Scope(StrEnum):
    ANYONE = "anyone"
    PRIVATE = "private"  # only in a private chat (credentials)
    ADMIN = "admin"  # only for GAVEL_ADMINS
    MANAGER = "manager"  # GAVEL_ADMINS, or an admin of the guild / group it runs in


class ArgKind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    AUCTION_ID = "auction_id"
    CODE = "code"
    ROLE = "role"  # a role of the place (platforms with roles resolve it; see messages.RoleChoice)


@dataclass(frozen=True)
class Argument:
    """One positional argument. ``rest`` swallows the remaining words (names with spaces)."""

    name: str
    help: str
    kind: ArgKind = ArgKind.TEXT
    required: bool = True
    rest: bool = False
    min_value: int | None = None
    max_value: int | None = None
    choices: tuple[str, ...] = ()
    autocomplete: str | None = None  # "items" | "watched_auctions": adapters may offer completions


@dataclass(frozen=True)
class FormField:
    """A value a command collects privately (Discord modal field, or one chat message each)."""

    name: str
    prompt: str
    label: str
    secret: bool = False  # a password: asked for privately, the answer deleted or hidden, never echoed
    private: bool = False  # asked for only in a private chat (a purchase code), but need not be deleted there
    max_length: int = 200

    @property
    def only_in_private(self) -> bool:
        return self.secret or self.private


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    help: str
    args: tuple[Argument, ...] = ()
    aliases: tuple[str, ...] = ()
    scope: Scope = Scope.ANYONE
    form: tuple[FormField, ...] = ()
    ephemeral: bool = False  # replies only the asker needs to see
    private: bool = False  # replies only the asker may see (account details, winners, verifications)
    slow: bool = False  # calls an upstream: adapters show progress / defer
    needs_place: bool = False  # must run inside a guild or group (grants)
    hidden: bool = False  # not in help or command lists (button-only helpers)
    platforms: tuple[str, ...] = ()  # empty: every platform

    @property
    def usage(self) -> str:
        parts = [f"/{self.name}"]
        for arg in self.args:
            label = f"{arg.name}…" if arg.rest else arg.name
            parts.append(f"<{label}>" if arg.required else f"[{label}]")
        return " ".join(parts)


@dataclass
class Registry:
    """Commands by name and alias, in declaration order."""

    commands: dict[str, Command] = field(default_factory=dict)
    _aliases: dict[str, str] = field(default_factory=dict)

    def add(self, command: Command) -> Command:
        for name in (command.name, *command.aliases):
            if name in self.commands or name in self._aliases:
                raise ValueError(f"command name {name!r} declared twice")
        self.commands[command.name] = command
        for alias in command.aliases:
            self._aliases[alias] = command.name
        return command

    def command(self, name: str, help: str, **options: object) -> Callable[[Handler], Handler]:
        """Decorator form of ``add``."""

        def register(handler: Handler) -> Handler:
            self.add(Command(name=name, handler=handler, help=help, **options))  # type: ignore[arg-type]
            return handler

        return register

    def find(self, name: str) -> Command | None:
        name = name.lower()
        return self.commands.get(name) or self.commands.get(self._aliases.get(name, ""))

    def __iter__(self) -> Iterator[Command]:
        return iter(self.commands.values())

    def visible(self, platform: str | None = None) -> Iterable[Command]:
        """Commands a user can see listed (help, setMyCommands, the slash tree)."""
        for command in self:
            if command.hidden:
                continue
            if platform and command.platforms and platform not in command.platforms:
                continue
            yield command
