"""The command table: each command declared once, next to its handler; help, menus and slash trees read it.

A command module declares its commands on a ``CommandGroup``::

    commands = CommandGroup()

    @commands.command(args=(AUCTION_ID, AMOUNT), slow=True)
    async def bid(request: Request, services: Services) -> Reply:
        \"\"\"Bid on an auction.\"\"\"

The handler's name is the command's name and the first line of its docstring is its help. Nothing is
registered at import time: ``build_registry`` (bot/wiring/commands.py) gathers the groups into a Registry.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.core.i18n import argument_name

if TYPE_CHECKING:
    from bot.core.messages import Reply, Request
    from bot.core.services import Services

Handler = Callable[["Request", "Services"], Awaitable["Reply"]]


class Scope(StrEnum):
    ANYONE = "anyone"
    PRIVATE = "private"  # only in a private chat (credentials)
    ADMIN = "admin"  # only for GAVEL_ADMINS
    MANAGER = "manager"  # GAVEL_ADMINS, or an admin of the guild / group it runs in


class ArgKind(StrEnum):
    """What an argument holds; bot/core/arguments.py has exactly one converter for each."""

    TEXT = "text"
    INTEGER = "integer"
    CHOICE = "choice"
    AMOUNT = "amount"  # a whole amount of money, 1 to 10^12
    ITEM_ID = "item_id"
    AUCTION_ID = "auction_id"
    AUCTION_IDS = "auction_ids"  # one or more, separated by spaces or commas
    CODE = "code"  # a purchase code, normalised
    ROLE = "role"  # a role of the place (platforms with roles resolve it; see messages.RoleChoice)
    USER = "user"  # a chat user of this platform, by id (or the author of the message replied to)
    EMAIL = "email"
    PASSWORD = "password"
    NEW_PASSWORD = "new_password"  # one being chosen: MIN_PASSWORD_LENGTH or more
    WHEN = "when"  # now, +2h, +3d, or ISO 8601
    REMINDERS = "reminders"  # remind 1h,10m
    NAME = "name"  # a display name: blanks squeezed, bounded


@dataclass(frozen=True)
class Argument:
    """One argument of a command, given as a word, a named option, a form field or a conversation answer.

    ``prompt``: when it is missing, the command asks for it (a Discord modal field, or one chat message),
    instead of refusing. ``secret`` answers are passwords: asked for only privately, deleted or hidden,
    never echoed, never stored; ``private`` ones (a purchase code) are asked for only privately.
    """

    name: str
    help: str
    kind: ArgKind = ArgKind.TEXT
    required: bool = True
    rest: bool = False  # swallows the remaining words (names with spaces)
    min_value: int | None = None
    max_value: int | None = None
    choices: tuple[str, ...] = ()
    autocomplete: str | None = None  # "items" | "watched_auctions": adapters may offer completions
    prompt: str | None = None
    label: str = ""  # a form field's label
    secret: bool = False
    private: bool = False
    max_length: int = 1000

    @property
    def asked(self) -> bool:
        return self.prompt is not None

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
    ephemeral: bool = False  # replies only the asker needs to see
    private: bool = False  # replies only the asker may see (account details, winners, verifications)
    slow: bool = False  # calls an upstream: adapters show progress / defer
    needs_place: bool = False  # must run inside a guild or group (grants)
    hidden: bool = False  # not in help or command lists (button-only helpers)
    conversational: bool = False  # only meaningful where forms are asked one message at a time (/cancel)
    deep_link: bool = False  # "/start <name>" (a link into the private chat) runs it
    # ("off", "autobid_off"): "/autobid off <id>" runs /autobid_off <id>. A first word, never an argument.
    subcommands: tuple[tuple[str, str], ...] = ()
    # Runs instead of asking when arguments it asks for are missing; None from it: ask after all.
    when_missing: Callable[[Request, Services], Awaitable[Reply | None]] | None = None

    @property
    def asked(self) -> tuple[Argument, ...]:
        """The arguments the command asks for when they are missing: its form."""
        return tuple(a for a in self.args if a.asked)

    @property
    def positional(self) -> tuple[Argument, ...]:
        """The arguments that may be typed after the command: every one but passwords."""
        return tuple(a for a in self.args if not a.secret)

    @property
    def usage(self) -> str:
        """``/bid <auction_id> <amount>``, the argument names in the reader's language."""
        parts = [f"/{self.name}"]
        for arg in self.positional:
            name = argument_name(arg.name)
            label = f"{name}…" if arg.rest else name
            parts.append(f"<{label}>" if arg.required and not arg.asked else f"[{label}]")
        return " ".join(parts)


def help_of(docstring: str | None) -> str:
    """A command's help: the first paragraph of its handler's docstring, on one line (bot/core/i18n_extract.py
    extracts it for the catalogues the same way)."""
    first = inspect.cleandoc(docstring or "").split("\n\n", 1)[0]
    return " ".join(first.split())


class CommandGroup:
    """The commands of one module, in the order they are declared."""

    def __init__(self) -> None:
        self.commands: list[Command] = []

    def command(self, name: str | None = None, **options: Any) -> Callable[[Handler], Handler]:
        """Declare the decorated handler as a command; its docstring's first paragraph is the help."""

        def declare(handler: Handler) -> Handler:
            command_name = name or handler.__name__.rstrip("_")
            help_text = help_of(handler.__doc__)
            if not help_text:
                raise ValueError(f"/{command_name} needs a docstring: it is the command's help")
            asked = [a for a in options.get("args", ()) if a.asked]
            if any(a.secret for a in asked[:-1]):
                raise ValueError(f"/{command_name}: a secret argument must be asked last (it is never stored)")
            self.commands.append(Command(name=command_name, handler=handler, help=help_text, **options))
            return handler

        return declare


@dataclass
class Registry:
    """Commands by name and alias, in declaration order."""

    commands: dict[str, Command] = field(default_factory=dict)
    _aliases: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, *groups: CommandGroup) -> Registry:
        registry = cls()
        for group in groups:
            for command in group.commands:
                registry.add(replace(command))  # a registry of its own: nothing one changes leaks into another
        return registry

    def add(self, command: Command) -> Command:
        for name in (command.name, *command.aliases):
            if name in self.commands or name in self._aliases:
                raise ValueError(f"command name {name!r} declared twice")
        self.commands[command.name] = command
        for alias in command.aliases:
            self._aliases[alias] = command.name
        return command

    def find(self, name: str) -> Command | None:
        name = name.lower()
        return self.commands.get(name) or self.commands.get(self._aliases.get(name, ""))

    def __iter__(self) -> Iterator[Command]:
        return iter(self.commands.values())

    def visible(self, *, conversations: bool = True) -> Iterable[Command]:
        """Commands a user can see listed (help, setMyCommands, the slash tree).

        ``conversations``: whether the platform asks forms one message at a time; where it uses forms
        (Discord's modals), commands that only steer a conversation are left out.
        """
        for command in self:
            if command.hidden or (command.conversational and not conversations):
                continue
            yield command
