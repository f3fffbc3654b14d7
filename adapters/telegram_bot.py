"""Telegram adapter: translates Bot API updates into core Requests and core Replies into Bot API calls.

Started by hand (initialize, start, then polling or a webhook) so that Telegram, Discord and the
scheduler share one event loop; ``run_polling()`` would own the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import uvicorn
from aiolimiter import AsyncLimiter
from telegram import (
    BotCommand,
    Chat,
    ChatMemberUpdated,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatAction, ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults, TypeHandler
from telegram.warnings import PTBDeprecationWarning

from adapters.telegram_render import caption_and_rest, keyboard, parse_callback_data, text_chunks
from bot.config import Settings
from bot.core import Core
from bot.errors import DeliveryFailed, RecipientGone, RetryLater
from bot.messages import Alert, Button, Outcome, Reply, Request, split_command
from bot.registry import Scope
from storage import repo

log = logging.getLogger(__name__)

PLATFORM = "telegram"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
CONCURRENT_UPDATES = 32  # updates of one user in one chat still run in order (see _in_order)
MAX_REPLY_WAIT = 10.0  # a reply waits out a RetryAfter this short once; alerts hand it to the dispatcher
INVITE_LIFETIME = timedelta(hours=1)
EXPIRED_BUTTON = "This button has expired, send the command again"
JOIN_LABEL = "Join the buyers' group"
INVITE_FAILED = "I could not open the buyers' group for you. Please contact the seller."
DEEP_LINK_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EDITED_NOTE = "I only act on new messages. Send the command again if you meant to run it."


def api_urls(base: str) -> tuple[str, str]:
    """(base_url, base_file_url) for PTB, which appends the token: ``http://host:8081/bot`` or ``.../bot{token}``."""
    base = base.rstrip("/")
    if "{token}" in base:
        return base, base.replace("/bot{token}", "/file/bot{token}")
    if not base.endswith("/bot"):
        base += "/bot"
    return base, base[: -len("/bot")] + "/file/bot"


def _retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB warns that retry_after will become a timedelta; we accept both
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class FloodLimits:
    """Telegram's limits for messages the bot starts: ~30/s overall, 1/s per chat, 20/min per group."""

    MAX_TRACKED_CHATS = 10_000

    def __init__(self, *, overall_per_second: int = 30, chat_per_second: float = 1.0, group_per_minute: int = 20):
        self.overall = AsyncLimiter(overall_per_second, 1)
        self.chat_interval = 1 / chat_per_second
        self.group_per_minute = group_per_minute
        self._chats: OrderedDict[int, AsyncLimiter] = OrderedDict()

    def _for_chat(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            # Group ids are negative. One token per interval spaces private messages evenly; a group may
            # burst up to its per-minute allowance.
            limiter = AsyncLimiter(self.group_per_minute, 60) if chat_id < 0 else AsyncLimiter(1, self.chat_interval)
            self._chats[chat_id] = limiter
            if len(self._chats) > self.MAX_TRACKED_CHATS:
                self._chats.popitem(last=False)  # a forgotten idle chat just starts with a full allowance
        else:
            self._chats.move_to_end(chat_id)
        return limiter

    async def wait(self, chat_id: int) -> None:
        await self._for_chat(chat_id).acquire()
        await self.overall.acquire()


class _QuietServer(uvicorn.Server):
    """The webhook server leaves SIGTERM and Ctrl-C to the app, which stops everything in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class TelegramAdapter:
    """One Telegram bot: every registry command, buttons, photos, private credential flows, invite links, alerts."""

    platform = PLATFORM

    def __init__(
        self, core: Core, settings: Settings, *, poll_timeout: float = 10.0, flood: FloodLimits | None = None
    ) -> None:
        if settings.telegram_bot_token is None:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        self.core = core
        self.settings = settings
        self.poll_timeout = poll_timeout
        self.flood = flood or FloodLimits()
        self.application: Application | None = None
        self.webhook_port: int | None = None
        self._webhook: _QuietServer | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_secret = ""
        self._order: dict[tuple[int, int], list[Any]] = {}

    # --- lifecycle --------------------------------------------------------------------------------------

    @property
    def bot(self) -> Any:
        if self.application is None:
            raise DeliveryFailed("the Telegram adapter is not running")
        return self.application.bot

    @property
    def username(self) -> str:
        return self.bot.username or ""

    async def start(self) -> None:
        """Connect (getMe), publish the command list, then take updates by long polling or webhook."""
        token = self.settings.telegram_bot_token.get_secret_value()  # type: ignore[union-attr]
        builder = (
            ApplicationBuilder()
            .token(token)
            .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
            .concurrent_updates(CONCURRENT_UPDATES)
            .job_queue(None)
            .connect_timeout(10)
            .read_timeout(20)
            .write_timeout(20)
            .get_updates_read_timeout(self.poll_timeout + 10)
        )
        if self.settings.telegram_api_base_url:
            base_url, base_file_url = api_urls(self.settings.telegram_api_base_url)
            builder = builder.base_url(base_url).base_file_url(base_file_url)
        if self.settings.telegram_webhook_url:
            builder = builder.updater(None)
        application = builder.build()
        application.add_handler(TypeHandler(Update, self._on_update))
        application.add_error_handler(self._on_error)
        await application.initialize()
        self.application = application
        try:
            await self._publish_commands()
            await application.start()
            if self.settings.telegram_webhook_url:
                await self._start_webhook()
            else:
                await application.updater.start_polling(  # type: ignore[union-attr]
                    timeout=timedelta(seconds=self.poll_timeout),
                    allowed_updates=ALLOWED_UPDATES,
                    error_callback=self._on_poll_error,
                )
        except BaseException:
            await self.stop()
            raise
        log.info("telegram bot @%s is listening", self.username)

    async def stop(self) -> None:
        """Stop taking updates, let handlers in flight finish, close the HTTP connections."""
        application, self.application = self.application, None
        if application is None:
            return
        if self._webhook is not None and self._webhook_task is not None:
            self._webhook.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._webhook_task, 5)
            self._webhook = self._webhook_task = None
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()

    async def _publish_commands(self) -> None:
        commands = [BotCommand(c.name, c.help[:256]) for c in self.core.registry.visible(PLATFORM)]
        try:
            await self.bot.set_my_commands(commands)
        except TelegramError as error:  # the bot still works without the menu
            log.warning("setMyCommands failed: %s", self._redact(str(error)))

    async def _start_webhook(self) -> None:
        """A small Starlette endpoint on WEBHOOK_LISTEN:PORT; Telegram proves itself with the secret token."""
        from starlette.applications import Starlette
        from starlette.routing import Route

        secret = self.settings.telegram_webhook_secret
        # Telegram echoes whatever secret we register, so a random one per run is as good as a configured one.
        self._webhook_secret = secret.get_secret_value() if secret else secrets.token_urlsafe(32)
        url = str(self.settings.telegram_webhook_url)
        path = urlparse(url).path or "/"
        endpoint = Starlette(routes=[Route(path, self._on_webhook, methods=["POST"])])
        config = uvicorn.Config(
            endpoint,
            host=self.settings.telegram_webhook_listen,
            port=self.settings.telegram_webhook_port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._webhook = _QuietServer(config)
        self._webhook_task = asyncio.create_task(self._webhook.serve())
        while not self._webhook.started:
            if self._webhook_task.done():
                self._webhook_task.result()
                raise RuntimeError("the Telegram webhook server stopped at start")
            await asyncio.sleep(0.01)
        self.webhook_port = self._webhook.servers[0].sockets[0].getsockname()[1]
        await self.bot.set_webhook(url=url, secret_token=self._webhook_secret, allowed_updates=ALLOWED_UPDATES)

    async def _on_webhook(self, request: Any) -> Any:
        from starlette.responses import Response

        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not secrets.compare_digest(given.encode(), self._webhook_secret.encode()):
            return Response(status_code=403)
        try:
            update = Update.de_json(await request.json(), self.bot)
        except Exception:  # a malformed body is the sender's problem, not a crash
            return Response(status_code=400)
        await self.application.update_queue.put(update)  # type: ignore[union-attr]
        return Response(status_code=200)

    # --- updates in -------------------------------------------------------------------------------------

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The one path from any update to the core."""
        chat = update.effective_chat
        user = update.effective_user
        async with self._in_order(chat.id if chat else 0, user.id if user else 0):
            if update.callback_query is not None:
                await self._on_button(update)
            elif update.message is not None:
                await self._on_message(update.message)
            elif update.edited_message is not None:
                await self._on_edited(update.edited_message)
            elif update.my_chat_member is not None:
                self._on_membership(update.my_chat_member)

    @contextlib.asynccontextmanager
    async def _in_order(self, chat_id: int, user_id: int) -> AsyncIterator[None]:
        """Updates run concurrently, but one user's messages in one chat stay in order (email, then password)."""
        key = (chat_id, user_id)
        entry = self._order.setdefault(key, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._order[key]

    async def _on_message(self, message: Message) -> None:
        user = message.from_user
        if user is None or user.is_bot:
            return
        private = message.chat.type == ChatType.PRIVATE
        if message.text is None and not private:
            return  # stickers and photos in a group are people talking to each other
        request = await self._request_for(user, message.chat, message.text or "", sender_chat=message.sender_chat)
        if request is None:
            return
        if self._holds_secret(request):
            await self._delete(message)
        reply = await self._ask_core(request)
        if reply is not None:
            await self._answer(request, reply, reply_to=None if private else message.message_id)

    def _holds_secret(self, request: Request) -> bool:
        """A password answering a prompt, or typed after a command that only takes it privately."""
        if request.command is None:
            prompt = self.core.pending_prompt(request)
            return prompt is not None and prompt.secret
        command = self.core.registry.find(request.command)
        return bool(command and request.args and any(field.secret for field in command.form))

    async def _on_edited(self, message: Message) -> None:
        """Edits never re-run a command: a user fixing a typo must not bid twice."""
        if message.chat.type == ChatType.PRIVATE and (message.text or "").startswith("/"):
            await self._deliver(message.chat.id, Reply(EDITED_NOTE))

    def _on_membership(self, change: ChatMemberUpdated) -> None:
        """The user blocked the bot, or the bot left a group: alerts there can no longer arrive."""
        if change.new_chat_member.status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
            with self.core.services.db() as session:
                stopped = repo.deactivate_watches_for_chat(session, platform=PLATFORM, chat_id=str(change.chat.id))
            log.info("telegram chat %s closed to the bot; %d watches stopped", change.chat.id, stopped)

    async def _on_button(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None
        parsed = parse_callback_data(query.data)
        command_line = None
        if parsed is not None:
            with self.core.services.db() as session:
                command_line = repo.resolve_button_token(session, token=parsed[0])
        if command_line is None:
            await query.answer(EXPIRED_BUTTON)
            return
        await query.answer()
        message = query.message if isinstance(query.message, Message) else None
        # A button under a message too old to read still works: the answer goes to the user privately.
        chat = message.chat if message is not None else Chat(query.from_user.id, ChatType.PRIVATE)
        request = await self._request_for(query.from_user, chat, "/" + command_line)
        if request is None:
            return
        reply = await self._ask_core(request)
        if reply is not None:
            await self._answer(request, reply, edit=message if parsed and parsed[1] else None)

    async def _request_for(
        self, user: User, chat: Chat, text: str, *, sender_chat: Chat | None = None
    ) -> Request | None:
        command, args = split_command(text)
        if command is not None and not self._addressed_to_me(text):
            return None
        private = chat.type == ChatType.PRIVATE
        request = Request(
            platform=PLATFORM,
            user_id=str(user.id),
            chat_id=str(chat.id),
            command=command,
            args=args,
            text="" if command else text,
            is_private=private,
            display_name=user.full_name,
            place_id=None if private else str(chat.id),
        )
        found = self.core.registry.find(command) if command else None
        if found is not None and found.scope is Scope.MANAGER and not private:
            # Only for manager commands: a getChatMember call per message would burn the rate limit.
            request = replace(request, is_place_admin=await self._is_chat_admin(chat.id, user.id, sender_chat))
        return request

    def _addressed_to_me(self, text: str) -> bool:
        """``/help`` and ``/help@this_bot`` are for us; ``/help@other_bot`` in a shared group is not."""
        head = text.strip().split(maxsplit=1)[0]
        _, at, name = head.partition("@")
        return not at or name.lower() == self.username.lower()

    async def _is_chat_admin(self, chat_id: int, user_id: int, sender_chat: Chat | None) -> bool:
        if sender_chat is not None and sender_chat.id == chat_id:
            return True  # an anonymous admin posting as the group itself
        try:
            member = await self.bot.get_chat_member(chat_id=chat_id, user_id=user_id)
        except TelegramError as error:
            log.warning("getChatMember failed in %s: %s", chat_id, self._redact(str(error)))
            return False
        return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)

    async def _ask_core(self, request: Request) -> Reply | None:
        command = self.core.registry.find(request.command) if request.command else None
        if command is None or not command.slow:
            return await self.core.handle(request)
        async with self._typing(int(request.chat_id)):
            return await self.core.handle(request)

    @contextlib.asynccontextmanager
    async def _typing(self, chat_id: int) -> AsyncIterator[None]:
        """ "typing…" while a slow command waits on an upstream; Telegram shows it for 5 s per call."""

        async def keep_typing() -> None:
            while True:
                with contextlib.suppress(TelegramError):
                    await self.bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING)
                await asyncio.sleep(4.5)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _delete(self, message: Message) -> None:
        try:
            await self.bot.delete_message(chat_id=message.chat.id, message_id=message.message_id)
        except TelegramError as error:
            log.warning("could not delete a message holding a secret: %s", self._redact(str(error)))

    # --- replies out ------------------------------------------------------------------------------------

    async def _answer(
        self, request: Request, reply: Reply, *, reply_to: int | None = None, edit: Message | None = None
    ) -> None:
        chat_id = int(request.chat_id)
        if reply.grant_checks:
            reply = await self._check_grants(reply)
        if reply.open_private_chat and not request.is_private:
            reply = reply.with_buttons([Button("Open a private chat", url=self._deep_link(request.command))])
        if any(grant.platform == PLATFORM for grant in reply.grants):
            await self._hand_out_grants(request, reply, reply_to)
            return
        if edit is not None and reply.outcome is not Outcome.ERROR and await self._edit(edit, reply):
            return
        await self._deliver(chat_id, reply, reply_to=reply_to)

    def _deep_link(self, command: str | None) -> str:
        link = f"https://t.me/{self.username}"
        return f"{link}?start={command}" if command and DEEP_LINK_PAYLOAD.match(command) else link

    async def _check_grants(self, reply: Reply) -> Reply:
        """/verify_setup: tell the admin now if the bot cannot create invite links in the chosen chat."""
        problems = [await self._invite_problem(int(g.target_id)) for g in reply.grant_checks if g.platform == PLATFORM]
        problems = [problem for problem in problems if problem]
        if not problems:
            return reply
        return replace(reply, text="\n\n".join([reply.text, *problems]).strip(), outcome=Outcome.WARNING)

    async def _invite_problem(self, chat_id: int) -> str | None:
        try:
            member = await self.bot.get_chat_member(chat_id=chat_id, user_id=self.bot.id)
        except TelegramError as error:
            return f"Warning: I could not check my rights in that chat ({error.message}). Buyers may not get a link."
        if member.status == ChatMemberStatus.OWNER:
            return None
        if member.status == ChatMemberStatus.ADMINISTRATOR and getattr(member, "can_invite_users", False):
            return None
        if member.status == ChatMemberStatus.ADMINISTRATOR:
            return (
                "Warning: I am an admin here but may not invite users, so buyers will not get invite links. "
                "Give me the “Invite users via link” right."
            )
        return (
            "Warning: I am not an admin of this chat, so buyers will not get invite links. "
            "Make me an admin with the “Invite users via link” right."
        )

    async def _hand_out_grants(self, request: Request, reply: Reply, reply_to: int | None) -> None:
        """One-time invite links, sent only to the buyer: a link posted in a group is anyone's."""
        links: list[tuple[int, str]] = []
        failed = False
        expires = self.core.services.now() + INVITE_LIFETIME
        for grant in reply.grants:
            if grant.platform != PLATFORM:
                continue
            try:
                invite = await self.bot.create_chat_invite_link(
                    chat_id=int(grant.target_id), member_limit=1, expire_date=expires, name=f"Buyer of #{grant.item_id}"
                )
                links.append((int(grant.target_id), invite.invite_link))
            except (TelegramError, ValueError) as error:
                failed = True
                log.warning("no invite link for chat %s: %s", grant.target_id, self._redact(str(error)))
        text = reply.text + ("\n\n" + INVITE_FAILED if failed else "")
        rows = tuple((Button(JOIN_LABEL, url=link),) for _, link in links)
        private_reply = replace(reply, text=text, grants=(), buttons=rows + reply.buttons)
        if request.is_private:
            await self._deliver(int(request.chat_id), private_reply, reply_to=reply_to)
            return
        try:
            await self._deliver(int(request.user_id), private_reply)
            note = Reply("I sent you the details and your invite link in a private message.", outcome=Outcome.SUCCESS)
        except Forbidden:
            for target, link in links:  # never delivered: make sure nobody else can use it
                with contextlib.suppress(TelegramError):
                    await self.bot.revoke_chat_invite_link(chat_id=target, invite_link=link)
            note = Reply(
                "Your purchase is verified, but I can only send invite links in a private chat. "
                "Open a private chat with me and send /verify there.",
                outcome=Outcome.WARNING,
            ).with_buttons([Button("Open a private chat", url=self._deep_link("verify"))])
        await self._deliver(int(request.chat_id), note, reply_to=reply_to)

    def _keyboard(self, reply: Reply) -> InlineKeyboardMarkup | None:
        if not any(button.command and not button.url for row in reply.buttons for button in row):
            return keyboard(reply.buttons, lambda command: "")
        now = self.core.services.now()
        with self.core.services.db() as session:
            return keyboard(reply.buttons, lambda command: repo.store_button_command(session, command=command, now=now))

    async def _edit(self, message: Message, reply: Reply) -> bool:
        """Replace a message in place (paging); False when it cannot be, so the caller sends a new one."""
        chunks = text_chunks(reply)
        if reply.image_url or len(chunks) != 1:
            return False
        markup = self._keyboard(reply)
        ids = {"chat_id": message.chat.id, "message_id": message.message_id}
        try:
            if message.photo:
                caption, rest = caption_and_rest(reply)
                if rest:
                    return False
                await self.bot.edit_message_caption(**ids, caption=caption, reply_markup=markup)
            else:
                await self.bot.edit_message_text(**ids, text=chunks[0], reply_markup=markup)
        except BadRequest as error:
            return "not modified" in error.message.lower()  # pressing the same page twice is fine
        return True

    async def _deliver(self, chat_id: int, reply: Reply, *, reply_to: int | None = None, alert: bool = False) -> None:
        """Send a reply as a photo with caption (falling back to text) or as text split within 4,096 characters."""
        markup = self._keyboard(reply)
        quote = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        if reply.image_url:
            caption, rest = caption_and_rest(reply)
            try:
                await self._call(
                    self.bot.send_photo, chat_id, alert, photo=reply.image_url, caption=caption or None,
                    reply_markup=None if rest else markup, reply_parameters=quote,
                )  # fmt: skip
            except BadRequest as error:  # Telegram could not fetch the image: the text still matters
                log.info("photo refused (%s); sending text instead", error.message)
            else:
                await self._send_texts(chat_id, rest, markup, alert=alert)
                return
        chunks = text_chunks(reply)
        if not chunks and markup is not None:
            chunks = ["…"]
        await self._send_texts(chat_id, chunks, markup, alert=alert, quote=quote)

    async def _send_texts(
        self,
        chat_id: int,
        chunks: list[str],
        markup: InlineKeyboardMarkup | None,
        *,
        alert: bool,
        quote: ReplyParameters | None = None,
    ) -> None:
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            await self._call(
                self.bot.send_message, chat_id, alert, text=chunk, reply_markup=markup if last else None,
                reply_parameters=quote if index == 0 else None,
            )  # fmt: skip

    async def _call(self, method: Callable[..., Awaitable[Any]], chat_id: int, alert: bool, **params: Any) -> Any:
        """One outgoing message: alerts wait for the flood limits; replies wait out one short RetryAfter."""
        if alert:
            await self.flood.wait(chat_id)
        try:
            return await method(chat_id=chat_id, **params)
        except RetryAfter as error:
            wait = _retry_seconds(error)
            if alert or wait > MAX_REPLY_WAIT:
                raise
            await asyncio.sleep(wait)
            return await method(chat_id=chat_id, **params)

    # --- alerts -----------------------------------------------------------------------------------------

    async def send(self, alert: Alert) -> None:
        """Push an alert; RetryLater, RecipientGone or DeliveryFailed tell the dispatcher what to do next."""
        try:
            chat_id = int(alert.chat_id)
        except ValueError:
            raise RecipientGone(f"not a Telegram chat id: {alert.chat_id[:40]!r}") from None
        try:
            await self._deliver(chat_id, alert.reply, alert=True)
        except RetryAfter as error:
            seconds = _retry_seconds(error)
            raise RetryLater(f"Telegram asked to wait {seconds:g}s", retry_after=seconds) from None
        except Forbidden as error:  # blocked by the user, user deactivated, bot kicked from the group
            raise RecipientGone(error.message) from None
        except ChatMigrated as error:
            raise DeliveryFailed(f"the group moved to {error.new_chat_id}") from None
        except BadRequest as error:
            if "chat not found" in error.message.lower():
                raise RecipientGone(error.message) from None
            raise DeliveryFailed(error.message) from None
        except TelegramError as error:
            raise DeliveryFailed(self._redact(str(error))) from None

    # --- errors -----------------------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        token = self.settings.telegram_bot_token
        return text.replace(token.get_secret_value(), "***") if token else text

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log what failed, never the message text (it may be a password) nor the token."""
        error = context.error
        update_id = getattr(update, "update_id", None)
        if isinstance(error, TelegramError):
            log.warning("telegram update %s: %s: %s", update_id, type(error).__name__, self._redact(str(error)))
        else:
            log.error("telegram update %s failed: %s", update_id, type(error).__name__, exc_info=error)

    def _on_poll_error(self, error: TelegramError) -> None:
        log.warning("telegram polling: %s: %s", type(error).__name__, self._redact(str(error)))
