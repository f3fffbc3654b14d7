"""Telegram adapter: translates Bot API updates into core Requests and core Replies into Bot API calls.

Started by hand (initialize, start, then polling or a webhook) so that Telegram, Discord and the
scheduler share one event loop; ``run_polling()`` would own the loop.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import CallbackQuery, Chat, ChatMemberUpdated, LinkPreviewOptions, Message, Update, User
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults, TypeHandler

from adapters.telegram.access import JoinAccess, join_link_key
from adapters.telegram.answers import Answers
from adapters.telegram.cards import CARD_KIND, send_card
from adapters.telegram.connect import api_urls, start_failure
from adapters.telegram.menu import publish_commands
from adapters.telegram.render import parse_callback_data
from adapters.telegram.send import OVERALL_PER_SECOND, PLATFORM, TelegramSender, chat_interval
from adapters.telegram.turns import Turns
from adapters.telegram.webhook import WebhookServer
from bot.core import i18n
from bot.core.errors import DeliveryFailed, RecipientGone
from bot.core.i18n import N_, _
from bot.core.logs import add_secret, redact
from bot.core.messages import Alert, Outcome, Reply, Request, split_command
from bot.core.pacing import Pacing
from bot.core.port import Port
from bot.core.registry import ArgKind, Scope

if TYPE_CHECKING:
    from bot.core.config import Settings

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member", "chat_join_request"]
ADMITTED_UPDATES = 4096  # PTB's limit, wide open: ours is in adapters/telegram/turns.py
TOO_FAST = N_("You are sending messages faster than I can answer them, so I skipped some. Send them again slowly.")
EXPIRED_BUTTON = N_("This button has expired, send the command again")
EDITED_NOTE = N_("I only act on new messages. Send the command again if you meant to run it.")


class TelegramAdapter:
    """One Telegram bot: every registry command, buttons, photos, private answers, join requests, alerts."""

    platform = PLATFORM

    pacing = Pacing(per_second=OVERALL_PER_SECOND, interval_for=chat_interval)

    def __init__(self, port: Port, settings: Settings, *, poll_timeout: float = 10.0) -> None:
        if settings.telegram_bot_token is None:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        self.port = port
        self.settings = settings
        self.poll_timeout = poll_timeout
        self.application: Application | None = None
        self.sender: TelegramSender | None = None
        self.access: JoinAccess | None = None
        self.answers: Answers | None = None
        self.webhook: WebhookServer | None = None
        self.turns = Turns()

    # --- lifecycle --------------------------------------------------------------------------------------

    @property
    def bot(self) -> Any:
        if self.application is None:
            raise DeliveryFailed("the Telegram adapter is not running")
        return self.application.bot

    @property
    def username(self) -> str:
        return self.bot.username or ""

    @property
    def webhook_port(self) -> int | None:
        return self.webhook.bound_port if self.webhook else None

    def _sender(self) -> TelegramSender:
        if self.sender is None:
            raise DeliveryFailed("the Telegram adapter is not running")
        return self.sender

    def _answers(self) -> Answers:
        if self.answers is None:
            raise DeliveryFailed("the Telegram adapter is not running")
        return self.answers

    async def start(self, *, receive: bool = True) -> None:
        """Connect (getMe), publish the command list, then take updates by long polling or webhook.

        ``receive=False`` (a `gavel worker`): connect only, to send alerts; updates go to the `gavel run` replicas.
        """
        token = self.settings.telegram_bot_token.get_secret_value()  # type: ignore[union-attr]
        add_secret(token)
        # PTB logs every update's text at DEBUG, and a text may be a password: never below INFO.
        telegram_log = logging.getLogger("telegram")
        if telegram_log.level < logging.INFO:  # its own level: a DEBUG root set later must not reach it
            telegram_log.setLevel(logging.INFO)
        builder = (
            ApplicationBuilder()
            .token(token)
            .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
            .concurrent_updates(ADMITTED_UPDATES)
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
        try:
            await application.initialize()  # getMe: the token and the way to Telegram are tested here
        except TelegramError as error:
            await application.bot.shutdown()  # its HTTP connections, opened before getMe failed
            failure = start_failure(error, self.settings)
            if failure is None:
                raise
            raise failure from None
        self.application = application
        self.sender = TelegramSender(application.bot, self.port)
        self.access = JoinAccess(application.bot, self.port, self.sender.deep_link("verify"))
        self.answers = Answers(self.sender, self.port, self.access)
        if not receive:
            log.info("telegram bot @%s sends alerts only", self.username)
            return
        try:
            await publish_commands(self.bot, self.port.registry, self.settings.default_language)
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
        application = self.application
        if application is None:
            return
        if self.webhook is not None:
            await self.webhook.stop()
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()  # handlers in flight finish first, and they still need self.sender
        await application.shutdown()
        self.application = None
        self.sender = self.answers = None

    async def _start_webhook(self) -> None:
        secret = self.settings.telegram_webhook_secret
        self.webhook = WebhookServer(
            str(self.settings.telegram_webhook_url),
            listen=self.settings.telegram_webhook_listen,
            port=self.settings.telegram_webhook_port,
            secret=secret.get_secret_value() if secret else "",
        )
        await self.webhook.start(self._on_webhook_update)
        await self.bot.set_webhook(
            url=self.webhook.url, secret_token=self.webhook.secret, allowed_updates=ALLOWED_UPDATES
        )

    async def _on_webhook_update(self, body: dict[str, Any]) -> None:
        update = Update.de_json(body, self.bot)
        await self.application.update_queue.put(update)  # type: ignore[union-attr]

    # --- updates in -------------------------------------------------------------------------------------

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The one path from any update to the core."""
        chat = update.effective_chat
        user = update.effective_user
        i18n.use(user.language_code if user else None)  # the core refines it with a /language choice
        user_id = user.id if user else 0
        if self.turns.full(user_id):
            if chat is not None and chat.type == ChatType.PRIVATE and self.turns.warn_once(user_id):
                await self._sender().deliver(chat.id, Reply(_(TOO_FAST), outcome=Outcome.WARNING))
            return
        async with self.turns.turn(chat.id if chat else 0, user_id):
            await self._dispatch(update)

    async def _dispatch(self, update: Update) -> None:
        if update.callback_query is not None:
            await self._on_button(update.callback_query)
        elif update.message is not None:
            await self._on_message(update.message)
        elif update.edited_message is not None:
            await self._on_edited(update.edited_message)
        elif update.my_chat_member is not None:
            await self._on_membership(update.my_chat_member)
        elif update.chat_join_request is not None and self.access is not None:
            await self.access.on_join_request(update.chat_join_request)

    async def _on_message(self, message: Message) -> None:
        # Telegram announces an upgrade twice: in the old group (migrate_to) and in the new one
        # (migrate_from); either may arrive first, and moving twice moves nothing the second time.
        if message.migrate_to_chat_id:
            await self._chat_moved(message.chat.id, message.migrate_to_chat_id)
            return
        if message.migrate_from_chat_id:
            await self._chat_moved(message.migrate_from_chat_id, message.chat.id)
            return
        user = message.from_user
        if user is None or user.is_bot:
            return
        private = message.chat.type == ChatType.PRIVATE
        if message.text is None and not private:
            return  # stickers and photos in a group are people talking to each other
        replied = message.reply_to_message.from_user if message.reply_to_message else None
        request = await self._request_for(
            user, message.chat, message.text or "", sender_chat=message.sender_chat, about=replied
        )
        if request is None:  # a command for another bot: still, a code in it is for everyone to copy
            if private:
                return
            request = self._plain(user, message.chat, message.text or "")
        await self._guarded(message, request)

    async def _guarded(self, message: Message, request: Request) -> None:
        """Before anything else: a password, or a purchase code in a group, must not stay on screen."""
        if await self.port.hides_secret(request) and not await self._delete(message):
            request = replace(request, secret_left_visible=True)
        reply = await self._ask_core(request)
        if reply is not None:
            await self._answers().answer(request, reply, reply_to=None if request.is_private else message.message_id)

    def _plain(self, user: User, chat: Chat, text: str, *, edited: bool = False) -> Request:
        """A message taken as words only (never a command to run): what a secret check needs."""
        private = chat.type == ChatType.PRIVATE
        return Request(
            platform=PLATFORM, user_id=str(user.id), chat_id=str(chat.id), text=text, is_private=private,
            display_name=user.full_name, place_id=None if private else str(chat.id), language=user.language_code,
            edited=edited,
        )  # fmt: skip

    async def _chat_moved(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: its watches, grants and settings follow it; its old join link is dead."""
        await self.port.chat_moved(PLATFORM, str(old_chat_id), str(new_chat_id))
        await self.port.forget(join_link_key(old_chat_id))

    async def _on_edited(self, message: Message) -> None:
        """Edits never re-run a command (a user fixing a typo must not bid twice); a code edited into a group
        message is deleted all the same."""
        user = message.from_user
        if user is None or user.is_bot or message.text is None:
            return
        if message.chat.type != ChatType.PRIVATE:
            await self._guarded(message, self._plain(user, message.chat, message.text, edited=True))
        elif message.text.startswith("/"):
            await self._sender().deliver(message.chat.id, Reply(_(EDITED_NOTE)))

    async def _on_membership(self, change: ChatMemberUpdated) -> None:
        """The user blocked the bot, or the bot left a group: alerts there can no longer arrive."""
        if change.new_chat_member.status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
            await self.port.chat_gone(PLATFORM, str(change.chat.id))

    async def _on_button(self, query: CallbackQuery) -> None:
        """A press runs what its stored token says, edit in place included; a press whose data is not one of the
        buttons under its message (a forged one, from a modified client) runs nothing."""
        message = query.message if isinstance(query.message, Message) else None
        token = parse_callback_data(query.data)
        action = await self.port.button_action(token) if token is not None and _under(message, query.data) else None
        if action is None:
            await query.answer(_(EXPIRED_BUTTON))
            return
        await query.answer()
        # A button under a message too old to read still works: the answer goes to the user privately.
        chat = message.chat if message is not None else Chat(query.from_user.id, ChatType.PRIVATE)
        request = await self._request_for(query.from_user, chat, "/" + action.command)
        if request is None:
            return
        reply = await self._ask_core(request)
        if reply is not None:
            await self._answers().answer(request, reply, edit=message if action.edits else None)

    async def _request_for(
        self, user: User, chat: Chat, text: str, *, sender_chat: Chat | None = None, about: User | None = None
    ) -> Request | None:
        """``about``: the author of the message this one replies to, who a staff command may be about."""
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
            text=text,
            is_private=private,
            display_name=user.full_name,
            place_id=None if private else str(chat.id),
            language=user.language_code,
        )
        found = self.port.registry.find(command) if command else None
        if found is not None and about is not None and not args and any(a.kind is ArgKind.USER for a in found.args):
            request = replace(request, options={"user": str(about.id)})
        if found is not None and found.scope is Scope.MANAGER and not private:
            # Only for manager commands: a getChatMember call per message would burn the rate limit.
            request = replace(request, is_place_admin=await self._is_chat_admin(chat.id, user.id, sender_chat))
        return request

    def _addressed_to_me(self, text: str) -> bool:
        """``/help`` and ``/help@this_bot`` are for us; ``/help@other_bot`` in a shared group is not."""
        head = text.strip().split(maxsplit=1)[0]
        _command, at, name = head.partition("@")  # not ``_``: it translates
        return not at or name.lower() == self.username.lower()

    async def _is_chat_admin(self, chat_id: int, user_id: int, sender_chat: Chat | None) -> bool:
        if sender_chat is not None and sender_chat.id == chat_id:
            return True  # an anonymous admin posting as the group itself
        try:
            member = await self.bot.get_chat_member(chat_id=chat_id, user_id=user_id)
        except TelegramError as error:
            log.warning("getChatMember failed in %s: %s", chat_id, redact(str(error)))
            return False
        return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)

    async def _ask_core(self, request: Request) -> Reply | None:
        command = self.port.registry.find(request.command) if request.command else None
        if command is None or not command.slow:
            return await self.port.handle(request)
        async with self._sender().typing(int(request.chat_id)):
            return await self.port.handle(request)

    async def _delete(self, message: Message) -> bool:
        try:
            await self.bot.delete_message(chat_id=message.chat.id, message_id=message.message_id)
        except TelegramError as error:
            log.warning("could not delete a message holding a secret: %s", redact(str(error)))
            return False
        return True

    # --- alerts -----------------------------------------------------------------------------------------

    async def send(self, alert: Alert) -> str | None:
        """Push an alert; RetryLater, RecipientGone or DeliveryFailed tell the dispatcher what to do next."""
        sender = self._sender()
        if alert.access is not None:
            await sender.change_access(alert.access)
            return
        try:
            chat_id = int(alert.chat_id)
        except ValueError:
            raise RecipientGone(f"not a Telegram chat id: {alert.chat_id[:40]!r}") from None
        if alert.kind == CARD_KIND:  # a live card: posted once, then edited in place; its message id goes back
            return await send_card(sender, chat_id, alert)
        await sender.push(chat_id, alert.reply, for_user=alert.user_id)

    # --- errors -----------------------------------------------------------------------------------------

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log what failed, never the message text (it may be a password) nor the token."""
        error = context.error
        update_id = getattr(update, "update_id", None)
        if isinstance(error, TelegramError):
            log.warning("telegram update %s: %s: %s", update_id, type(error).__name__, redact(str(error)))
        else:
            log.error("telegram update %s failed: %s", update_id, type(error).__name__, exc_info=error)

    def _on_poll_error(self, error: TelegramError) -> None:
        log.warning("telegram polling: %s: %s", type(error).__name__, redact(str(error)))


def _under(message: Message | None, data: str | None) -> bool:
    """Whether ``data`` is one of the buttons under ``message`` (Telegram sends the message with the press; a
    message too old for Telegram to send is not checked, and its answer never edits anything)."""
    if message is None:
        return True
    markup = message.reply_markup
    rows = markup.inline_keyboard if markup is not None else ()
    return any(button.callback_data == data for row in rows for button in row)
