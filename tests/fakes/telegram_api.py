"""A fake Telegram Bot API on loopback: takes updates injected by a test, records every call the bot makes.

Served at ``/bot<token>/<method>`` like api.telegram.org, so the real python-telegram-bot Application
talks to it through ``base_url``. It answers with realistic ``{"ok": true, "result": ...}`` payloads
(Message objects with ids, chats and dates), keeps the messages it "sent" so a test can press their
buttons, keeps the files the bot uploaded (multipart, as PTB sends them), and fails on request: 429 with
retry_after, 403 for a user who blocked the bot, 400 for a photo URL Telegram cannot fetch, an upload that
is not a PNG, or an invite link in a chat where the bot is not an admin.

The server runs in its own thread (one server for the whole session); tests call the public methods
from their event loop, so shared state is guarded by a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN = "123456:TEST-fake-telegram-token"
BOT_ID = 4242
BOT_USERNAME = "gavel_test_bot"
MAX_LONG_POLL = 2.0  # seconds; the bot asks for more, but a test never waits that long for nothing

# Parameters that are text even when they look like JSON ("123" typed by a user stays a string).
STRING_PARAMS = {
    "text", "caption", "photo", "url", "name", "invite_link", "callback_query_id", "secret_token", "action",
    "parse_mode", "description", "short_description", "language_code", "ip_address", "query", "emoji",
}  # fmt: skip
SENDING = ("sendMessage", "sendPhoto")
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
ADMIN_RIGHTS = (
    "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
    "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories",
)  # fmt: skip


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded in a multipart request."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass
class Call:
    """One Bot API call as the fake received it."""

    method: str
    params: dict[str, Any]
    at: float
    message_id: int | None = None  # of the message the call created, so a test can press its buttons
    files: dict[str, Upload] = field(default_factory=dict)  # by multipart field name ("photo", an attach:// name)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if isinstance(value, int | str) and str(value).lstrip("-").isdigit() else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    def summary(self) -> str:
        """``method key=value …`` for transcripts: the parameters a reader cares about, shortened."""
        shown = []
        for key, value in self.params.items():
            if key in ("parse_mode", "link_preview_options"):
                continue
            if key == "reply_markup":
                value = [b.get("text", "") + (f"→{b['url']}" if "url" in b else "") for b in self.buttons]
            elif key == "commands":
                value = [c["command"] for c in value]
            text = str(value).replace("\n", "⏎")
            shown.append(f"{key}={text[:70] + '…' if len(text) > 70 else text}")
        shown.extend(f"{name}=<{u.filename}, {len(u.data):,} bytes>" for name, u in self.files.items())
        return f"{self.method} " + " ".join(shown)


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _error(status: int, description: str, **parameters: Any) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Upload]]:
    """A multipart/form-data body as (text fields, uploaded files), read with the standard library's MIME parser."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = data.decode()
        else:
            files[name] = Upload(filename, part.get_content_type(), data)
    return fields, files


def _is_png(upload: Upload | None) -> bool:
    return upload is not None and upload.data.startswith(b"\x89PNG\r\n\x1a\n")


def _decode(params: dict[str, Any]) -> dict[str, Any]:
    """Form values arrive as strings, with objects and numbers JSON-encoded (how PTB sends them)."""
    decoded = {}
    for key, value in params.items():
        if isinstance(value, str) and key not in STRING_PARAMS:
            with contextlib.suppress(ValueError):  # "@channel" or a plain word stays text
                value = json.loads(value)
        decoded[key] = value
    return decoded


class FakeTelegram:
    """State and behaviour of the fake Bot API; ``app`` is the Starlette application to serve."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self._lock = threading.Lock()
        # Never reset: like Telegram's, update ids only grow, so a long poll left over from an earlier
        # test (its offset already confirmed) can never swallow a newer test's updates.
        self._update_ids = itertools.count(1)
        self.app = Starlette(
            routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])],
        )
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.calls: list[Call] = []
            self.polls = 0
            self._updates: list[dict[str, Any]] = []
            self._message_ids: dict[int, itertools.count[int]] = {}
            self._messages: dict[tuple[int, int], dict[str, Any]] = {}
            self._failures: dict[str, list[JSONResponse]] = {}
            self._blocked: set[int] = set()
            self._broken_photos: set[str] = set()
            self._members: dict[tuple[int, int], dict[str, Any]] = {}
            self._invites = itertools.count(1)
            self._photo_ids = itertools.count(1)
            self.user_messages: list[dict[str, Any]] = []
            self.links: dict[str, dict[str, Any]] = {}  # invite link -> the link object (with its chat_id)
            self.joined: set[tuple[int, int]] = set()  # (chat, user) let in by an approved join request
            self.declined: set[tuple[int, int]] = set()
            self._undeletable: set[int] = set()
            self._migrated: dict[int, int] = {}  # old group id -> its supergroup's id
            self.commands: list[dict[str, Any]] = []
            self.webhook: dict[str, Any] = {}

    # --- what a test sets up ------------------------------------------------------------------------

    def fail_next(self, method: str, times: int = 1, *, status: int = 429, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` fail (429 carries ``retry_after``)."""
        with self._lock:
            for _ in range(times):
                if status == 429:
                    response = _error(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
                else:
                    response = _error(status, "Internal Server Error")
                self._failures.setdefault(method, []).append(response)

    def block(self, chat_id: int) -> None:
        """The user of this private chat blocked the bot: every send to it is 403."""
        with self._lock:
            self._blocked.add(chat_id)

    def user_blocks_bot(self, user_id: int) -> dict[str, Any]:
        """The user blocks the bot: Telegram tells the bot (my_chat_member, "kicked") and refuses sends from now on."""
        self.block(user_id)
        bot = {"user": self._bot_user()}
        return self.push({
            "my_chat_member": {
                "chat": self.chat(user_id), "from": {"id": user_id, "is_bot": False, "first_name": "Alice"},
                "date": int(time.time()),
                "old_chat_member": {**bot, "status": "member"},
                "new_chat_member": {**bot, "status": "kicked", "until_date": 0},
            }
        })  # fmt: skip

    def cannot_delete_in(self, chat_id: int) -> None:
        """The bot may not delete messages in this chat (not an admin there)."""
        with self._lock:
            self._undeletable.add(chat_id)

    def revoke_link(self, link: str) -> None:
        """A group admin revokes an invite link in Telegram's own settings."""
        with self._lock:
            self.links[link]["is_revoked"] = True

    def join_request(self, chat_id: int, user_id: int, *, invite_link: str | None = None) -> dict[str, Any]:
        """A user follows a join-request link: Telegram asks the bot (chat_join_request)."""
        request: dict[str, Any] = {
            "chat": self.chat(chat_id),
            "from": {"id": user_id, "is_bot": False, "first_name": "Joiner"},
            "user_chat_id": user_id,
            "date": int(time.time()),
        }
        if invite_link is not None:
            request["invite_link"] = {**self.links[invite_link], "creator": self._bot_user()}
            request["invite_link"].pop("chat_id", None)
        return self.push({"chat_join_request": request})

    def migrate(self, old_chat_id: int, new_chat_id: int, *, user_id: int) -> dict[str, Any]:
        """A group is upgraded to a supergroup: sends to the old id fail from now on, and both chats say so
        (the old one with migrate_to_chat_id, the new one with migrate_from_chat_id), as Telegram does."""
        with self._lock:
            self._migrated[old_chat_id] = new_chat_id
        announced = self.message(None, user_id=user_id, chat_id=old_chat_id, migrate_to_chat_id=new_chat_id)
        self.message(None, user_id=user_id, chat_id=new_chat_id, migrate_from_chat_id=old_chat_id)
        return announced

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """Someone deletes a message the bot sent: editing it fails from now on ("message to edit not found")."""
        with self._lock:
            self._messages.pop((chat_id, message_id), None)

    def break_photo(self, url: str) -> None:
        """Telegram cannot fetch this image URL: sendPhoto with it answers 400."""
        with self._lock:
            self._broken_photos.add(url)

    def set_member(self, chat_id: int, user_id: int, status: str, **rights: bool) -> None:
        """``status`` of ``user_id`` in ``chat_id`` (member, administrator, creator…); rights default to False."""
        with self._lock:
            self._members[(chat_id, user_id)] = {"status": status, **rights}

    # --- what a user does ---------------------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; returns it with its update_id."""
        with self._lock:
            update = {"update_id": next(self._update_ids), **update}
            self._updates.append(update)
        return update

    def message(
        self,
        text: str | None,
        *,
        user_id: int,
        chat_id: int | None = None,
        first_name: str = "Alice",
        edited: bool = False,
        language_code: str = "en",
        **content: Any,
    ) -> dict[str, Any]:
        """A user's message in a chat (their private chat by default) queued as an update; returns the message."""
        chat_id = user_id if chat_id is None else chat_id
        with self._lock:
            message_id = self._next_message_id(chat_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat(chat_id, first_name=first_name),
            "from": {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code},
            **content,
        }
        if text is not None:
            message["text"] = text
            command = text.split(maxsplit=1)[0] if text.startswith("/") else ""
            if command:
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if edited:
            message["edit_date"] = int(time.time())
        with self._lock:
            self.user_messages.append(message)
        self.push({"edited_message" if edited else "message": message})
        return message

    def sticker(self, *, user_id: int, chat_id: int | None = None) -> dict[str, Any]:
        sticker = {
            "file_id": "CAACAgIAAxkBAAEBsticker", "file_unique_id": "AgADsticker", "type": "regular",
            "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": "👍",
        }  # fmt: skip
        return self.message(None, user_id=user_id, chat_id=chat_id, sticker=sticker)

    def press(self, sent: Call | dict[str, Any], label: str, *, user_id: int, first_name: str = "Alice") -> None:
        """Press the inline button whose text contains ``label`` under a message the bot sent."""
        message = self.sent_message(sent) if isinstance(sent, Call) else sent
        buttons = [b for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
        button = next((b for b in buttons if label in b["text"]), None)
        if button is None or "callback_data" not in button:
            raise AssertionError(f"no callback button {label!r} in {[b['text'] for b in buttons]}")
        self.callback(button["callback_data"], message=message, user_id=user_id, first_name=first_name)

    def callback(
        self, data: str, *, message: dict[str, Any] | None, user_id: int, first_name: str = "Alice"
    ) -> dict[str, Any]:
        """A callback query with arbitrary ``data``, as a stale or forged button would send."""
        query: dict[str, Any] = {
            "id": f"cbq-{time.monotonic_ns()}",
            "from": {"id": user_id, "is_bot": False, "first_name": first_name},
            "chat_instance": "fake-chat-instance",
            "data": data,
        }
        if message is not None:
            query["message"] = message
        return self.push({"callback_query": query})

    # --- what a test reads --------------------------------------------------------------------------

    def chat(self, chat_id: int, *, first_name: str = "Alice") -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": first_name}
        return {"id": chat_id, "type": "supergroup", "title": "Gavel buyers"}

    def calls_to(self, method: str | tuple[str, ...], chat_id: int | None = None, *, since: int = 0) -> list[Call]:
        methods = (method,) if isinstance(method, str) else method
        with self._lock:
            calls = list(self.calls[since:])
        return [c for c in calls if c.method in methods and (chat_id is None or c.chat_id == chat_id)]

    def sent_to(self, chat_id: int, *, since: int = 0) -> list[Call]:
        """Messages (text or photo) the bot sent to a chat."""
        return self.calls_to(SENDING, chat_id, since=since)

    def last_user_message(self, chat_id: int) -> dict[str, Any]:
        """The newest message a user sent in this chat."""
        with self._lock:
            return next(m for m in reversed(self.user_messages) if m["chat"]["id"] == chat_id)

    def mark(self) -> int:
        """A position in the call log; pass it as ``since`` to see only what came after."""
        with self._lock:
            return len(self.calls)

    def sent_message(self, call: Call) -> dict[str, Any]:
        """The Message object the fake returned for a sendMessage/sendPhoto call, as it is now (after edits)."""
        with self._lock:
            return copy.deepcopy(self._messages[(int(call.chat_id or 0), int(call.message_id or 0))])

    async def wait_for(self, check: Callable[[], Any], *, timeout: float = 5.0, what: str = "the bot's answer") -> Any:
        """Poll until ``check()`` returns something truthy; fail with the call log if it never does."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                log = "\n".join(c.summary() for c in self.calls)
                raise AssertionError(f"timed out waiting for {what}; calls so far:\n{log}")
            await asyncio.sleep(0.01)

    async def next_sent(self, chat_id: int, *, since: int, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait for ``count`` messages to ``chat_id`` after ``since`` and return them."""
        sent = await self.wait_for(
            lambda: (found := self.sent_to(chat_id, since=since)) and len(found) >= count and found,
            timeout=timeout,
            what=f"{count} message(s) to chat {chat_id}",
        )
        return sent

    def transcript(self, *, since: int = 0) -> str:
        return "\n".join(call.summary() for call in self.calls[since:])

    # --- the Bot API --------------------------------------------------------------------------------

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Gavel", "username": BOT_USERNAME}

    async def _params(self, request: Request) -> tuple[dict[str, Any], dict[str, Upload]]:
        """Query string plus a JSON, url-encoded or (with files) multipart body; and the files uploaded."""
        params: dict[str, Any] = dict(request.query_params)
        files: dict[str, Upload] = {}
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        if body and content_type.startswith("application/json"):
            params.update(json.loads(body))
        elif body and content_type.startswith("multipart/form-data"):
            fields, files = _multipart(content_type, body)
            params.update(fields)
        elif body:
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        return _decode(params), files

    async def _endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        params, files = await self._params(request)
        if method == "getUpdates":
            return await self._get_updates(params)
        with self._lock:
            call = Call(method, params, time.monotonic(), files=files)
            self.calls.append(call)
            failures = self._failures.get(method)
            if failures:
                return failures.pop(0)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        with self._lock:
            return handler(call)

    async def _get_updates(self, params: dict[str, Any]) -> JSONResponse:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), MAX_LONG_POLL)
        with self._lock:
            self.polls += 1
        while True:
            with self._lock:
                if offset:  # Telegram forgets every update below the offset: they are confirmed
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = self._updates[:limit]
            if ready or time.monotonic() >= deadline:
                return _ok(ready)
            await asyncio.sleep(0.01)

    def _chat_closed(self, call: Call) -> JSONResponse | None:
        chat_id = call.chat_id
        if chat_id in self._blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        if chat_id in self._migrated:
            moved_to = self._migrated[chat_id]
            return _error(400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=moved_to)
        return None

    def _store(self, call: Call, content: dict[str, Any]) -> JSONResponse:
        chat_id = int(call.chat_id or 0)
        message_id = self._next_message_id(chat_id)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self._bot_user(),
            **content,
        }
        if call.params.get("reply_markup"):
            message["reply_markup"] = call.params["reply_markup"]
        self._messages[(chat_id, message_id)] = message
        call.message_id = message_id
        return _ok(message)

    def _api_getMe(self, call: Call) -> JSONResponse:
        return _ok({**self._bot_user(), "can_join_groups": True, "can_read_all_group_messages": False,
                    "supports_inline_queries": False})  # fmt: skip

    def _api_sendMessage(self, call: Call) -> JSONResponse:
        closed = self._chat_closed(call)
        if closed:
            return closed
        if not str(call.params.get("text", "")).strip():
            return _error(400, "Bad Request: message text is empty")
        if len(call.params["text"]) > 4096:
            return _error(400, "Bad Request: message is too long")
        return self._store(call, {"text": call.params["text"]})

    def _api_sendPhoto(self, call: Call) -> JSONResponse:
        closed = self._chat_closed(call)
        if closed:
            return closed
        if call.params.get("photo") in self._broken_photos:
            return _error(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if "photo" not in call.params and not _is_png(call.files.get("photo")):
            return _error(400, "Bad Request: IMAGE_PROCESS_FAILED")
        if len(str(call.params.get("caption") or "")) > 1024:
            return _error(400, "Bad Request: message caption is too long")
        content: dict[str, Any] = {"photo": self._photo_sizes()}
        if call.params.get("caption"):
            content["caption"] = call.params["caption"]
        return self._store(call, content)

    def _edit(self, call: Call, key: str | None) -> JSONResponse:
        closed = self._chat_closed(call)
        if closed:
            return closed
        message = self._messages.get((int(call.chat_id or 0), int(call.params.get("message_id", 0))))
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        markup = call.params.get("reply_markup")
        if (key is None or message.get(key) == call.params.get(key)) and message.get("reply_markup") == markup:
            return _error(400, NOT_MODIFIED)
        if key is not None:
            message[key] = call.params.get(key)
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return _ok(message)

    def _api_editMessageText(self, call: Call) -> JSONResponse:
        return self._edit(call, "text")

    def _api_editMessageCaption(self, call: Call) -> JSONResponse:
        return self._edit(call, "caption")

    def _api_editMessageReplyMarkup(self, call: Call) -> JSONResponse:
        return self._edit(call, None)

    def _api_editMessageMedia(self, call: Call) -> JSONResponse:
        """A new photo (uploaded as ``attach://<name>``) and caption for a photo message."""
        closed = self._chat_closed(call)
        if closed:
            return closed
        message = self._messages.get((int(call.chat_id or 0), int(call.params.get("message_id", 0))))
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        media = call.params.get("media") or {}
        if media.get("type") != "photo" or "photo" not in message:
            return _error(400, "Bad Request: there is no media in the message to edit")
        if not _is_png(call.files.get(str(media.get("media", "")).removeprefix("attach://"))):
            return _error(400, "Bad Request: IMAGE_PROCESS_FAILED")
        if len(str(media.get("caption") or "")) > 1024:
            return _error(400, "Bad Request: message caption is too long")
        message["photo"] = self._photo_sizes()
        message["caption"] = media.get("caption")
        if call.params.get("reply_markup"):
            message["reply_markup"] = call.params["reply_markup"]
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return _ok(message)

    def _photo_sizes(self) -> list[dict[str, Any]]:
        """A photo as Telegram describes it, with a new file id each time (an upload is a new file)."""
        unique = f"AQADphoto{next(self._photo_ids)}"
        return [{"file_id": f"AgAC{unique}", "file_unique_id": unique, "width": 640, "height": 320}]

    def _member(self, chat_id: int, user_id: int) -> dict[str, Any]:
        setting = self._members.get((chat_id, user_id), {"status": "member"})
        user = self._bot_user() if user_id == BOT_ID else {"id": user_id, "is_bot": False, "first_name": "User"}
        status = setting["status"]
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "administrator":
            member.update({right: bool(setting.get(right, False)) for right in ADMIN_RIGHTS})
        elif status == "creator":
            member["is_anonymous"] = False
        return member

    def _api_getChatMember(self, call: Call) -> JSONResponse:
        return _ok(self._member(int(call.chat_id or 0), int(call.params["user_id"])))

    def _api_createChatInviteLink(self, call: Call) -> JSONResponse:
        bot = self._member(int(call.chat_id or 0), BOT_ID)
        if not (bot["status"] == "creator" or (bot["status"] == "administrator" and bot.get("can_invite_users"))):
            return _error(400, "Bad Request: not enough rights to manage chat invite links")
        link = {
            "invite_link": f"https://t.me/+fakeInvite{next(self._invites)}",
            "creator": self._bot_user(),
            "creates_join_request": bool(call.params.get("creates_join_request")),
            "is_primary": False,
            "is_revoked": False,
        }
        for key in ("name", "expire_date", "member_limit"):
            if call.params.get(key) is not None:
                link[key] = call.params[key]
        self.links[link["invite_link"]] = {**link, "chat_id": int(call.chat_id or 0)}
        return _ok(link)

    def _link_of(self, call: Call) -> dict[str, Any] | None:
        link = self.links.get(str(call.params.get("invite_link")))
        return link if link is not None and link["chat_id"] == int(call.chat_id or 0) else None

    def _api_editChatInviteLink(self, call: Call) -> JSONResponse:
        link = self._link_of(call)
        if link is None or link["is_revoked"]:
            return _error(400, "Bad Request: INVITE_HASH_EXPIRED")
        if call.params.get("name") is not None:
            link["name"] = call.params["name"]
        return _ok({k: v for k, v in link.items() if k != "chat_id"})

    def _api_revokeChatInviteLink(self, call: Call) -> JSONResponse:
        link = self._link_of(call)
        if link is None:
            return _error(400, "Bad Request: INVITE_HASH_EXPIRED")
        link["is_revoked"] = True
        return _ok({k: v for k, v in link.items() if k != "chat_id"})

    def _api_approveChatJoinRequest(self, call: Call) -> JSONResponse:
        self.joined.add((int(call.chat_id or 0), int(call.params["user_id"])))
        return _ok(True)

    def _api_declineChatJoinRequest(self, call: Call) -> JSONResponse:
        self.declined.add((int(call.chat_id or 0), int(call.params["user_id"])))
        return _ok(True)

    def _api_banChatMember(self, call: Call) -> JSONResponse:
        self.joined.discard((int(call.chat_id or 0), int(call.params["user_id"])))
        return _ok(True)

    def _api_unbanChatMember(self, call: Call) -> JSONResponse:
        return _ok(True)

    def _api_setMyCommands(self, call: Call) -> JSONResponse:
        self.commands = list(call.params.get("commands") or [])
        return _ok(True)

    def _api_getMyCommands(self, call: Call) -> JSONResponse:
        return _ok(self.commands)

    def _api_setWebhook(self, call: Call) -> JSONResponse:
        self.webhook = dict(call.params)
        return _ok(True)

    def _api_deleteWebhook(self, call: Call) -> JSONResponse:
        self.webhook = {}
        return _ok(True)

    def _api_deleteMessage(self, call: Call) -> JSONResponse:
        if call.chat_id in self._undeletable:
            return _error(400, "Bad Request: message can't be deleted")
        return _ok(True)

    def _api_answerCallbackQuery(self, call: Call) -> JSONResponse:
        return _ok(True)

    def _api_sendChatAction(self, call: Call) -> JSONResponse:
        closed = self._chat_closed(call)
        return closed or _ok(True)

    def _api_getChat(self, call: Call) -> JSONResponse:
        chat = self.chat(int(call.chat_id or 0))
        return _ok({**chat, "accent_color_id": 0, "max_reaction_count": 11,
                    "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                            "unique_gifts": False, "premium_subscription": False}})  # fmt: skip

    def _api_close(self, call: Call) -> JSONResponse:
        return _ok(True)

    def _api_logOut(self, call: Call) -> JSONResponse:
        return _ok(True)
