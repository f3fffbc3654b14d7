"""Discord faked at discord.py's HTTP boundary: recorded REST and webhook calls, and realistic interaction payloads.

``FakeDiscord`` plays the Discord API: ``FakeDiscord.http`` replaces the client's ``HTTPClient`` (REST: login,
command sync, roles, DMs, channel messages) and ``FakeDiscord.webhooks`` replaces discord.py's webhook adapter
(interaction responses, edits, follow-ups). Everything above those two seams is the real discord.py. A message
with files arrives as multipart (its JSON in ``payload_json``); the fake keeps the files' bytes by file name.
``DiscordUser`` sends interactions the way the gateway delivers them (``parse_interaction_create``) and returns
what that user would see.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import discord
from discord.http import HTTPClient, Route
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

BOT_ID = 900_000_000_000_000_001
GUILD_ID = 700_000_000_000_000_001
CHANNEL_ID = 710_000_000_000_000_001
BOT_ROLE_ID = 720_000_000_000_000_001
BUYER_ROLE_ID = 720_000_000_000_000_002
ADMIN_ROLE_ID = 720_000_000_000_000_003
TIMESTAMP = "2026-01-01T12:00:00.000000+00:00"

MANAGE_ROLES = discord.Permissions(manage_roles=True)
MEMBER = discord.Permissions(send_messages=True, view_channel=True, use_application_commands=True)
BOT_PERMISSIONS = discord.Permissions(manage_roles=True, send_messages=True, embed_links=True, view_channel=True)

_ids = itertools.count(1_000_000_000_000_000_000)


def snowflake() -> int:
    return next(_ids)


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name.title(),
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def http_error(status: int, code: int = 0, message: str = "", *, retry_after: float | None = None) -> Exception:
    """The exception discord.py raises for this Discord answer (after its own 429 handling gave up)."""
    if retry_after is not None:
        return discord.RateLimited(retry_after)
    headers = {"Retry-After": "5"} if status == 429 else {}
    response = SimpleNamespace(
        status=status, reason={403: "Forbidden", 404: "Not Found"}.get(status, "Error"), headers=headers
    )
    kind = {403: discord.Forbidden, 404: discord.NotFound}.get(status, discord.HTTPException)
    if status >= 500:
        kind = discord.DiscordServerError
    return kind(response, {"code": code, "message": message})


def displayed(markdown: str) -> str:
    """What a reader sees of escaped text: Discord drops the backslash before an escaped character."""
    return re.sub(r"\\([\\*_~`|>#\-\[\]()])", r"\1", markdown)


@dataclass
class Call:
    """One request discord.py made: REST or webhook, with the JSON it sent and the files it uploaded."""

    method: str
    path: str
    payload: Any = None
    files: dict[str, bytes] = field(default_factory=dict)  # file name -> bytes

    def matches(self, method: str, pattern: str) -> bool:
        return self.method == method and re.fullmatch(pattern, self.path) is not None


@dataclass
class Shown:
    """A message a user sees (or a version of it, after an edit), read from the payload the bot sent."""

    message: dict[str, Any]
    ephemeral: bool
    how: str  # "reply", "edit", "followup", "message"
    files: dict[str, bytes] = field(default_factory=dict)  # uploaded with this version: file name -> bytes

    @property
    def image(self) -> str | None:
        """The embed's image URL: ``attachment://<name>`` for a picture uploaded with the message."""
        return (self.embed.get("image") or {}).get("url")

    @property
    def attachments(self) -> list[str]:
        return [a["filename"] for a in self.message.get("attachments", [])]

    @property
    def embed(self) -> dict[str, Any]:
        embeds = self.message.get("embeds") or [{}]
        return embeds[0]

    @property
    def title(self) -> str:
        return displayed(self.embed.get("title") or "")

    @property
    def text(self) -> str:
        return displayed(self.embed.get("description") or "")

    @property
    def content(self) -> str:
        return self.message.get("content") or ""

    @property
    def colour(self) -> int | None:
        return self.embed.get("color")

    @property
    def fields(self) -> dict[str, str]:
        return {displayed(f["name"]): displayed(f["value"]) for f in self.embed.get("fields", [])}

    @property
    def everything(self) -> str:
        """All the text a user reads: content, title, description, fields, footer."""
        parts = [self.content, self.title, self.text, *(f"{k}: {v}" for k, v in self.fields.items())]
        parts.append(displayed((self.embed.get("footer") or {}).get("text", "")))
        return "\n".join(p for p in parts if p)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return [c for row in self.message.get("components", []) for c in row.get("components", [])]

    @property
    def labels(self) -> list[str]:
        return [b.get("label", "") for b in self.buttons]

    def button(self, label: str) -> dict[str, Any]:
        for button in self.buttons:
            if label in button.get("label", ""):
                return button
        raise AssertionError(f"no button {label!r} in {self.labels}")


@dataclass
class Failure:
    method: str
    pattern: str
    error: Callable[[], Exception]
    times: int | None = None  # None: every time


@dataclass
class FakeDiscord:
    """The Discord API as these tests need it: records every call and answers plausibly."""

    calls: list[Call] = field(default_factory=list)
    shown: list[Shown] = field(default_factory=list)
    modals: list[dict[str, Any]] = field(default_factory=list)
    choices: list[list[dict[str, Any]]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    # The guild's roles (position 0 is @everyone) and the bot's own roles in it.
    roles: list[dict[str, Any]] = field(default_factory=list)
    bot_roles: list[int] = field(default_factory=lambda: [BOT_ROLE_ID])
    member_roles: dict[int, set[int]] = field(default_factory=dict)
    channels: dict[str, int] = field(default_factory=dict)  # interaction token -> channel id
    owner_id: int = 1  # the server's owner (nobody the tests play, unless they say so)
    ephemeral_tokens: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.bot_user = user_payload(BOT_ID, "gavel", bot=True)
        self.http = FakeHTTP(self)
        self.webhooks = FakeWebhooks(self)
        self.connected = asyncio.Event()
        self.closed = asyncio.Event()
        if not self.roles:
            self.roles = [
                role_payload(GUILD_ID, "@everyone", 0),
                role_payload(BUYER_ROLE_ID, "Verified buyer", 1),
                role_payload(BOT_ROLE_ID, "Gavel", 2, managed=True),
                role_payload(ADMIN_ROLE_ID, "Admins", 3),
            ]

    # --- what tests arrange and read ---

    def fail(self, method: str, pattern: str, error: Callable[[], Exception], *, times: int | None = None) -> None:
        self.failures.append(Failure(method, pattern, error, times))

    def requests(self, method: str, pattern: str) -> list[Call]:
        return [c for c in self.calls if c.matches(method, pattern)]

    def last(self) -> Shown:
        assert self.shown, "the bot showed nothing"
        return self.shown[-1]

    # --- plumbing shared by both seams ---

    def record(self, method: str, path: str, payload: Any, files: dict[str, bytes] | None = None) -> None:
        self.calls.append(Call(method, path, payload, files or {}))
        for failure in list(self.failures):
            if failure.method == method and re.fullmatch(failure.pattern, path):
                if failure.times is not None:
                    failure.times -= 1
                    if failure.times <= 0:
                        self.failures.remove(failure)
                raise failure.error()

    def add_guild_to_cache(self, client: discord.Client) -> None:
        """What the gateway's GUILD_CREATE does: the guild, its roles and owner, known to discord.py's cache."""
        data = {"id": str(GUILD_ID), "name": "Shop", "owner_id": str(self.owner_id), "roles": self.roles,
                "emojis": [], "stickers": [], "features": [], "member_count": 1, "channels": [], "members": [],
                "threads": [], "unavailable": False}  # fmt: skip
        client._connection._add_guild_from_data(data)  # type: ignore[arg-type]

    def member_joins(self, client: discord.Client, user_id: int) -> None:
        """Someone joins (or rejoins) the server: GUILD_MEMBER_ADD, as the gateway sends it."""
        client._connection.parse_guild_member_add(  # type: ignore[arg-type]
            {"guild_id": str(GUILD_ID), "user": user_payload(user_id, "member"), "roles": [],
             "joined_at": TIMESTAMP, "deaf": False, "mute": False, "flags": 0}
        )  # fmt: skip

    def message(
        self,
        data: dict[str, Any],
        channel_id: int,
        *,
        message_id: int | None = None,
        files: dict[str, bytes] | None = None,
    ) -> dict[str, Any]:
        return {
            "id": str(message_id or snowflake()),
            "channel_id": str(channel_id),
            "type": 0,
            "content": data.get("content") or "",
            "embeds": data.get("embeds") or [],
            "components": data.get("components") or [],
            "author": self.bot_user,
            "attachments": [attachment_payload(name, data) for name, data in (files or {}).items()],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "flags": data.get("flags") or 0,
        }


def attachment_payload(filename: str, data: bytes) -> dict[str, Any]:
    attachment_id = snowflake()
    url = f"https://cdn.discordapp.com/attachments/{CHANNEL_ID}/{attachment_id}/{filename}"
    return {"id": str(attachment_id), "filename": filename, "size": len(data), "url": url, "proxy_url": url}


def unpack(payload: Any, multipart: list[dict[str, Any]] | None, files: Any) -> tuple[Any, dict[str, bytes]]:
    """The JSON a request carried and the files it uploaded: with files, discord.py sends multipart, the JSON
    in its ``payload_json`` part."""
    if not multipart:
        return payload, {}
    parts = {part["name"]: part for part in multipart}
    return json.loads(parts["payload_json"]["value"]), {file.filename: file.fp.read() for file in files or ()}


def role_payload(
    role_id: int, name: str, position: int, *, managed: bool = False, permissions: discord.Permissions | None = None
) -> dict[str, Any]:
    return {
        "id": str(role_id),
        "name": name,
        "color": 0,
        "hoist": False,
        "position": position,
        "permissions": str((permissions or discord.Permissions.none()).value),
        "managed": managed,
        "mentionable": False,
        "flags": 0,
    }


class FakeHTTP(HTTPClient):
    """discord.py's REST client with the network replaced: every request is recorded and answered here."""

    def __init__(self, fake: FakeDiscord) -> None:
        super().__init__(None)  # type: ignore[arg-type]  # the client sets the loop in its setup
        self.fake = fake

    async def static_login(self, token: str) -> Any:
        self.token = token
        return await self.request(Route("GET", "/users/@me"))

    async def ws_connect(self, url: str, *, compress: int = 0) -> Any:
        # The gateway: "connected" until the client closes; interactions arrive via DiscordUser instead.
        self.fake.calls.append(Call("WS", url))
        self.fake.connected.set()
        await self.fake.closed.wait()
        raise OSError("gateway closed")

    async def close(self) -> None:
        self.fake.closed.set()

    async def request(self, route: Route, *, files: Any = None, form: Any = None, **kwargs: Any) -> Any:
        path = route.url[len(Route.BASE) :]
        payload, uploads = unpack(kwargs.get("json"), form, files)
        self.fake.record(route.method, path, payload, uploads)
        return self._answer(route, path, payload, uploads)

    def _answer(self, route: Route, path: str, payload: Any, uploads: dict[str, bytes]) -> Any:
        fake = self.fake
        key = (route.method, route.path)
        if key == ("GET", "/users/@me"):
            return fake.bot_user
        if key == ("GET", "/oauth2/applications/@me"):
            return {
                "id": str(BOT_ID),
                "name": "Gavel",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": user_payload(1, "owner"),
                "bot": fake.bot_user,
            }
        if route.method == "PUT" and route.path.endswith("/commands"):
            return [
                {**command, "id": str(snowflake()), "application_id": str(BOT_ID), "version": "1"}
                for command in payload
            ]
        if key == ("GET", "/guilds/{guild_id}/roles"):
            return fake.roles
        if key == ("GET", "/guilds/{guild_id}"):
            return {"id": path.split("/")[2], "name": "Shop", "owner_id": str(fake.owner_id), "roles": fake.roles}
        if key == ("GET", "/guilds/{guild_id}/members/{member_id}"):
            member_id = int(path.split("/")[4])
            is_bot = member_id == BOT_ID
            return {
                "user": fake.bot_user if is_bot else user_payload(member_id, "member"),
                "roles": [str(r) for r in (fake.bot_roles if is_bot else fake.member_roles.get(member_id, set()))],
                "joined_at": TIMESTAMP,
                "deaf": False,
                "mute": False,
                "flags": 0,
            }
        if key == ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"):
            parts = path.split("/")
            fake.member_roles.setdefault(int(parts[4]), set()).add(int(parts[6]))
            return None
        if key == ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"):
            parts = path.split("/")
            fake.member_roles.setdefault(int(parts[4]), set()).discard(int(parts[6]))
            return None
        if key == ("POST", "/users/@me/channels"):
            recipient = int(payload["recipient_id"])
            return {"id": str(recipient + 1), "type": 1, "recipients": [user_payload(recipient, "someone")]}
        if key == ("POST", "/channels/{channel_id}/messages"):
            message = fake.message(payload, int(path.split("/")[2]), files=uploads)
            fake.shown.append(Shown(message, ephemeral=False, how="message", files=uploads))
            return message
        if key == ("PATCH", "/channels/{channel_id}/messages/{message_id}"):  # the bot edits its own message
            parts = path.split("/")
            message = fake.message(payload, int(parts[2]), message_id=int(parts[4]), files=uploads)
            fake.shown.append(Shown(message, ephemeral=False, how="edit", files=uploads))
            return message
        raise NotImplementedError(f"FakeDiscord does not answer {route.method} {route.path}")


class FakeWebhooks(AsyncWebhookAdapter):
    """discord.py's webhook adapter (interaction callbacks, edits, follow-ups) answered by FakeDiscord."""

    def __init__(self, fake: FakeDiscord) -> None:
        super().__init__()
        self.fake = fake
        self.originals: dict[str, dict[str, Any]] = {}  # token -> the original response message

    async def request(self, route: Route, session: Any, *, payload: Any = None, **kwargs: Any) -> Any:
        path = route.url[len(Route.BASE) :]
        payload, uploads = unpack(payload, kwargs.get("multipart"), kwargs.get("files"))
        self.fake.record(route.method, path, payload, uploads)
        token = str(route.webhook_token)
        channel_id = self.fake.channels.get(token, CHANNEL_ID)
        if route.path.endswith("/callback"):
            return self._callback(token, int(route.webhook_id or 0), channel_id, payload or {}, uploads)
        if route.path.endswith("/messages/@original"):
            if route.method == "DELETE":
                self.originals.pop(token, None)
                return None
            original = self.originals.get(token) or {"id": str(snowflake())}
            if route.method == "PATCH":
                message = self.fake.message(payload or {}, channel_id, message_id=int(original["id"]), files=uploads)
                self.originals[token] = message
                self.fake.shown.append(Shown(message, token in self.fake.ephemeral_tokens, "edit", uploads))
                return message
            return original
        if route.method == "POST":  # a follow-up message
            message = self.fake.message(payload or {}, channel_id, files=uploads)
            ephemeral = bool((payload or {}).get("flags", 0) & 64)
            self.fake.shown.append(Shown(message, ephemeral, "followup", uploads))
            return message
        raise NotImplementedError(f"FakeWebhooks does not answer {route.method} {route.path}")

    def _callback(
        self, token: str, interaction_id: int, channel_id: int, payload: dict[str, Any], uploads: dict[str, bytes]
    ) -> Any:
        kind = payload.get("type")
        data = payload.get("data") or {}
        ephemeral = bool(data.get("flags", 0) & 64)
        answer: dict[str, Any] = {"interaction": {"id": str(interaction_id), "type": 2}}
        if kind in (4, 7):  # a message, or an update of the component's message
            # As Discord does: a message (4) is a new one, even in answer to a button; only 7 replaces its message.
            message_id = int(self.originals.get(token, {}).get("id", 0)) or None if kind == 7 else None
            message = self.fake.message(data, channel_id, message_id=message_id, files=uploads)
            self.originals[token] = message
            self.fake.shown.append(Shown(message, ephemeral, "reply" if kind == 4 else "edit", uploads))
            answer["resource"] = {"type": kind, "message": message}
        elif kind == 5:  # "thinking…", a new message; the answer comes as an edit of it (@original)
            self.originals[token] = {"id": str(snowflake())}
            if ephemeral:
                self.fake.ephemeral_tokens.add(token)
            answer["interaction"].update(response_message_loading=True, response_message_ephemeral=ephemeral)
        elif kind == 8:
            self.fake.choices.append(data.get("choices", []))
        elif kind == 9:
            self.fake.modals.append(data)
        return answer


class DiscordUser:
    """One person on Discord: runs slash commands, presses buttons, fills modals; returns what they see."""

    def __init__(
        self,
        client: discord.Client,
        fake: FakeDiscord,
        *,
        user_id: int,
        name: str = "alice",
        guild_id: int | None = GUILD_ID,
        channel_id: int = CHANNEL_ID,
        permissions: discord.Permissions = MEMBER,
        app_permissions: discord.Permissions = BOT_PERMISSIONS,
        locale: str = "en-GB",
    ) -> None:
        self.client = client
        self.locale = locale  # the user's Discord client language
        self.fake = fake
        self.user = user_payload(user_id, name)
        self.user_id = user_id
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.permissions = permissions
        self.app_permissions = app_permissions

    # --- payloads ---

    def _base(self, kind: int, data: dict[str, Any], token: str) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(snowflake()),
            "application_id": str(BOT_ID),
            "type": kind,
            "token": token,
            "version": 1,
            "data": data,
            "channel_id": str(self.channel_id),
            "locale": self.locale,
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
            "app_permissions": str(self.app_permissions.value),
        }
        if self.guild_id is None:
            payload["user"] = self.user
            payload["context"] = 1
            payload["channel"] = {"id": str(self.channel_id), "type": 1, "recipients": [self.user], "flags": 0}
        else:
            payload["guild_id"] = str(self.guild_id)
            payload["guild_locale"] = "en-US"
            payload["context"] = 0
            payload["member"] = {
                "user": self.user,
                "roles": [],
                "permissions": str(self.permissions.value),
                "joined_at": TIMESTAMP,
                "deaf": False,
                "mute": False,
                "flags": 0,
            }
            payload["channel"] = {
                "id": str(self.channel_id),
                "type": 0,
                "guild_id": str(self.guild_id),
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
            }
        return payload

    def _options(self, command: str, values: dict[str, Any], focused: str | None = None) -> list[dict[str, Any]]:
        """Options typed as the bot declared them (Discord sends what the user is typing as a string)."""
        declared = self.client.tree.get_command(command)  # type: ignore[attr-defined]
        options = []
        for name, value in values.items():
            parameter = declared.get_parameter(name) if declared is not None else None
            kind = parameter.type.value if parameter is not None else (4 if isinstance(value, int) else 3)
            if kind in (6, 8):  # a user or a role: Discord sends its id, and the object under data.resolved
                value = str(value)
            option = {"name": name, "type": kind, "value": value}
            if name == focused:
                option["focused"] = True
            options.append(option)
        return options

    # --- actions ---

    async def dispatch(self, payload: dict[str, Any]) -> None:
        """Deliver an interaction as the gateway would, and wait until the bot has finished with it."""
        self.fake.channels[payload["token"]] = self.channel_id
        async_context.set(self.fake.webhooks)
        before = asyncio.all_tasks()
        self.client._connection.parse_interaction_create(payload)
        await settle(before)

    async def slash(self, name: str, **options: Any) -> Shown:
        """Run ``/name`` with these options; returns the last message the bot showed."""
        count = len(self.fake.shown) + len(self.fake.modals)
        data = {"id": str(snowflake()), "name": name, "type": 1, "options": self._options(name, options)}
        roles = {
            o["value"]: r for o in data["options"] if o["type"] == 8 for r in self.fake.roles if r["id"] == o["value"]
        }
        users = {o["value"]: user_payload(int(o["value"]), "member") for o in data["options"] if o["type"] == 6}
        if roles or users:
            data["resolved"] = {"roles": roles, "users": users}
        await self.dispatch(self._base(2, data, f"token-{snowflake()}"))
        assert len(self.fake.shown) + len(self.fake.modals) > count, f"/{name} showed nothing"
        return self.fake.shown[-1] if self.fake.shown else None  # type: ignore[return-value]

    async def slash_opening_modal(self, name: str, **options: Any) -> dict[str, Any]:
        count = len(self.fake.modals)
        data = {"id": str(snowflake()), "name": name, "type": 1, "options": self._options(name, options)}
        await self.dispatch(self._base(2, data, f"token-{snowflake()}"))
        assert len(self.fake.modals) == count + 1, f"/{name} opened no form"
        return self.fake.modals[-1]

    async def press(self, shown: Shown, label: str) -> Shown:
        """Press the button whose label contains ``label`` under a message the bot showed."""
        return await self.press_custom_id(shown.button(label)["custom_id"], shown.message)

    async def press_custom_id(self, custom_id: str, message: dict[str, Any]) -> Shown:
        count = len(self.fake.shown)
        data = {"custom_id": custom_id, "component_type": 2}
        payload = self._base(3, data, f"token-{snowflake()}")
        payload["message"] = message
        self.fake.webhooks.originals[payload["token"]] = message  # @original of a component is its message
        await self.dispatch(payload)
        assert len(self.fake.shown) > count, f"pressing {custom_id!r} showed nothing"
        return self.fake.shown[-1]

    async def complete(self, name: str, option: str, typed: str, **others: Any) -> list[dict[str, Any]]:
        """Type ``typed`` into an option with autocomplete; returns the suggestions offered."""
        count = len(self.fake.choices)
        values = {**others, option: typed}
        options = self._options(name, values, focused=option)
        data = {"id": str(snowflake()), "name": name, "type": 1, "options": options}
        await self.dispatch(self._base(4, data, f"token-{snowflake()}"))
        assert len(self.fake.choices) == count + 1, "no suggestions were sent"
        return self.fake.choices[-1]

    async def submit(self, modal: dict[str, Any], **values: str) -> Shown:
        """Fill in and submit a modal the bot opened."""
        count = len(self.fake.shown)
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": name, "value": value}]}
            for name, value in values.items()
        ]
        data = {"custom_id": modal["custom_id"], "components": rows}
        await self.dispatch(self._base(5, data, f"token-{snowflake()}"))
        assert len(self.fake.shown) > count, "the form submission showed nothing"
        return self.fake.shown[-1]


def _is_timer(task: asyncio.Task[Any]) -> bool:
    # View and modal timeouts sleep for minutes; they are not part of handling an interaction.
    return "timeout_task_impl" in getattr(task.get_coro(), "__qualname__", "")


async def settle(before: set[asyncio.Task[Any]], *, timeout: float = 10.0) -> None:
    """Wait for every task started since ``before`` (and the ones those start), timers aside."""
    current = asyncio.current_task()
    for _ in range(100):
        pending = {t for t in asyncio.all_tasks() - before if t is not current and not t.done() and not _is_timer(t)}
        if not pending:
            return
        done, still = await asyncio.wait(pending, timeout=timeout)
        assert not still, f"interaction handling did not finish: {still}"
        before = before | done
