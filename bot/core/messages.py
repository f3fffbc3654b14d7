"""The neutral vocabulary between adapters and the core: Request in, Reply out, with Buttons and Fields."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """How a reply went; adapters pick colours and icons from it."""

    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Request:
    """One thing a chat user asked: a command with its arguments, or a plain message.

    Input comes in as typed: ``text`` the whole message, ``command`` and ``args`` its words, ``options``
    arguments by name (slash options, a form's fields; a value an adapter resolved, such as a RoleChoice).
    The core converts them once into ``values``, the only input a handler reads.
    """

    platform: str
    user_id: str
    chat_id: str
    command: str | None = None
    args: tuple[str, ...] = ()
    text: str = ""
    is_private: bool = True
    display_name: str = ""
    options: dict[str, Any] | None = None
    place_id: str | None = None  # the guild (Discord) or group (Telegram) the message came from
    is_place_admin: bool = False  # the adapter vouches the user administers that guild / group
    place_has_roles: bool = False  # access there is a role to hand out; else it is the place itself
    secret_left_visible: bool = False  # the message held a secret the adapter could not delete
    edited: bool = False  # an edit of an earlier message: never runs a command, only checked for secrets
    asks_in_forms: bool = False  # the platform collects missing arguments in a form, not message by message
    language: str | None = None  # what the platform says the user reads (Telegram language_code, Discord locale)
    values: dict[str, Any] = field(default_factory=dict)  # the typed arguments: set by the core only

    @property
    def who(self) -> str:
        """``platform:user_id``, the form GAVEL_ADMINS uses."""
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class RoleChoice:
    """A role named in a command, with what the adapter found out about it on its platform.

    ``resolved`` is False for a role typed as text, which nobody looked up; the core trusts only
    resolved roles, and refuses privileged ones and ones the invoker could not hand out themselves.
    """

    id: str
    name: str = ""
    resolved: bool = False
    privileged: bool = False  # carries an administration or moderation permission
    outranks_invoker: bool = False  # at or above the invoker's highest role, and they do not own the place
    managed: bool = False  # owned by an integration: nobody can hand it out


@dataclass(frozen=True)
class Button:
    """A button that runs ``command`` (a command line such as ``items 2``) for whoever presses it.

    ``edits`` asks the adapter to replace the message the button sits under (paging) rather than
    post a new one. ``url`` makes it a link button instead; with ``web_app`` the link is a web page meant to
    open inside the chat app, which tells the page who opened it (platforms that cannot make it a plain link).
    """

    label: str
    command: str = ""
    edits: bool = False
    url: str | None = None
    private: bool = False  # runs in the presser's private chat (a code or password follows), wherever it sits
    web_app: bool = False  # with ``url``: opens that page inside the chat app where the platform can


@dataclass(frozen=True)
class Image:
    """A picture sent with a reply as a file (a chart drawn for it), rather than fetched from a URL.

    ``alt`` says in words what it shows, for readers that cannot see it and platforms that describe files.
    """

    data: bytes = field(repr=False)  # a PNG's bytes: tens of kilobytes nobody wants in a log line
    filename: str
    alt: str = ""


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    inline: bool = True


@dataclass(frozen=True)
class Grant:
    """Access a valid purchase unlocks, for the adapter of ``platform`` to carry out.

    Discord: add role ``target_id`` in guild ``place_id``. Telegram: an invite link to chat
    ``target_id``. The core decides who gets what; only the adapter can do it.
    """

    platform: str
    place_id: str
    target_id: str
    item_id: int


@dataclass(frozen=True)
class Prompt:
    """The core is waiting for the next plain message from this user (a conversation step)."""

    field_name: str
    secret: bool = False  # the answer is a password: delete it (Telegram), hide it (console)
    timeout_seconds: int = 300


@dataclass(frozen=True)
class Reply:
    """What the bot says back. Adapters render it; they never add meaning to it."""

    text: str = ""
    title: str | None = None
    fields: tuple[Field, ...] = ()
    image_url: str | None = None
    image: Image | None = None  # a picture to upload with the reply; shown instead of image_url when both are set
    thumbnail_url: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    outcome: Outcome = Outcome.INFO
    ephemeral: bool = False  # only the asker needs to see it: platforms that can hide it from others do
    private: bool = False  # only the asker MAY see it: never shown in a shared chat (sent privately instead)
    footer: str | None = None
    url: str | None = None
    grants: tuple[Grant, ...] = ()
    grant_checks: tuple[Grant, ...] = ()  # grants the adapter should test it can carry out (setup)
    prompt: Prompt | None = None
    open_private_chat: bool = False  # "message me privately" refusals: adapters add a deep link

    def plain_text(self) -> str:
        """The whole reply as plain text: title, text, fields, footer (console, fallbacks, limits)."""
        parts: list[str] = []
        if self.title:
            parts.append(self.title)
        if self.text:
            parts.append(self.text)
        if self.fields:
            parts.append("\n".join(f"{f.name}: {f.value}" for f in self.fields))
        if self.footer:
            parts.append(self.footer)
        return "\n\n".join(parts)

    def with_buttons(self, *rows: tuple[Button, ...] | list[Button]) -> Reply:
        return replace(self, buttons=self.buttons + tuple(tuple(r) for r in rows if r))


def error_reply(text: str, *, ephemeral: bool = False) -> Reply:
    return Reply(text=text, outcome=Outcome.ERROR, ephemeral=ephemeral)


def warning_reply(text: str, *, ephemeral: bool = False) -> Reply:
    return Reply(text=text, outcome=Outcome.WARNING, ephemeral=ephemeral)


@dataclass(frozen=True)
class AccessChange:
    """Access to take away from (or give back to) a user in one place: a role, or a group to leave."""

    place_id: str
    target_id: str
    user_id: str
    grant: bool = False


# An Alert of this kind is a live auction card: ``extra["message_id"]`` names the message to edit; without one,
# the adapter posts the card in the chat. Either way ``send`` returns the message's id (the next update edits it),
# and raises RecipientGone(whole_chat=False) when that message is gone (deleted).
CARD_KIND = "card"


@dataclass
class Alert:
    """Something pushed to a chat without being asked: a watch alert, a staff-log line, or an access change.

    ``user_id`` is the person it is for; empty for a chat's own messages (a staff log). ``access`` set:
    not a message but an access change the adapter carries out.
    """

    platform: str
    chat_id: str
    user_id: str
    reply: Reply
    kind: str = "alert"
    extra: dict[str, str] = field(default_factory=dict)
    access: AccessChange | None = None


def split_command(text: str) -> tuple[str | None, tuple[str, ...]]:
    """``/bid@GavelBot 0xab… 150`` -> ("bid", ("0xab…", "150")); plain text -> (None, ()).

    Quotes group words (``/newauction "Old lamp" 100 now +2h``); unbalanced quotes fall back
    to plain splitting rather than failing.
    """
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) < 2:
        return None, ()
    head, _, rest = stripped[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    try:
        args = shlex.split(rest)
    except ValueError:
        args = rest.split()
    return name, tuple(args)
