"""What the Telegram bot sends: replies as text or photo, edits in place, alerts under flood limits."""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from adapters.telegram.render import caption_and_rest, keyboard, text_chunks
from bot.errors import DeliveryFailed, RecipientGone, RetryLater
from bot.messages import Reply
from bot.port import AdapterPort

log = logging.getLogger(__name__)

PLATFORM = "telegram"
MAX_REPLY_WAIT = 10.0  # a reply waits out a RetryAfter this short once; alerts hand it to the dispatcher
PRIVATE_CHAT_LABEL = "Open a private chat"
DEEP_LINK_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB warns that retry_after will become a timedelta; we accept both
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class FloodLimits:
    """Telegram's limits for messages the bot starts: ~30/s overall, 1/s per chat, 20/min per group."""

    MAX_TRACKED_CHATS = 10_000

    def __init__(self, *, overall_per_second: int = 30, chat_per_second: float = 1.0, group_per_minute: int = 20):
        # One token at a time, evenly spaced: AsyncLimiter(30, 1) would let ~60 through in the first second
        # (a full bucket plus its refill), which is exactly the burst Telegram answers with 429.
        self.overall = AsyncLimiter(1, 1 / overall_per_second)
        self.chat_interval = 1 / chat_per_second
        self.group_per_minute = group_per_minute
        self._chats: OrderedDict[int, AsyncLimiter] = OrderedDict()

    def _for_chat(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            # Group ids are negative. One token per interval spaces messages evenly (a bucket of 20 per 60 s
            # would admit ~40 in the first minute).
            interval = 60 / self.group_per_minute if chat_id < 0 else self.chat_interval
            limiter = AsyncLimiter(1, interval)
            self._chats[chat_id] = limiter
            if len(self._chats) > self.MAX_TRACKED_CHATS:
                self._chats.popitem(last=False)  # a forgotten idle chat just starts with a full allowance
        else:
            self._chats.move_to_end(chat_id)
        return limiter

    async def wait(self, chat_id: int) -> None:
        await self._for_chat(chat_id).acquire()
        await self.overall.acquire()


class TelegramSender:
    """Renders Replies into Bot API calls for one running bot."""

    def __init__(self, bot: Bot, port: AdapterPort, flood: FloodLimits) -> None:
        self.bot = bot
        self.port = port
        self.flood = flood

    def redact(self, text: str) -> str:
        return text.replace(self.bot.token, "***")

    def deep_link(self, command: str | None) -> str:
        """``t.me/<bot>?start=<command>``: opens the private chat and lands in that command's flow."""
        link = f"https://t.me/{self.bot.username}"
        return f"{link}?start={command}" if command and DEEP_LINK_PAYLOAD.match(command) else link

    async def keyboard(self, reply: Reply) -> InlineKeyboardMarkup | None:
        """The reply's buttons; each command is stored under a short token that outlives restarts."""
        tokens = await self.port.button_tokens(
            button.command for row in reply.buttons for button in row if button.command and not button.url
        )
        return keyboard(reply.buttons, tokens.__getitem__)

    async def deliver(self, chat_id: int, reply: Reply, *, reply_to: int | None = None, alert: bool = False) -> None:
        """Send a reply as a photo with caption (falling back to text) or as text split within 4,096 characters."""
        markup = await self.keyboard(reply)
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
            wait = retry_seconds(error)
            if alert or wait > MAX_REPLY_WAIT:
                raise
            await asyncio.sleep(wait)
            return await method(chat_id=chat_id, **params)

    async def edit(self, message: Message, reply: Reply) -> bool:
        """Replace a message in place (paging); False when it cannot be, so the caller sends a new one."""
        chunks = text_chunks(reply)
        if reply.image_url or len(chunks) != 1:
            return False
        markup = await self.keyboard(reply)
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

    async def push(self, chat_id: int, reply: Reply) -> None:
        """An alert: RetryLater, RecipientGone or DeliveryFailed tell the dispatcher what to do next."""
        try:
            try:
                await self.deliver(chat_id, reply, alert=True)
            except ChatMigrated as moved:  # the group became a supergroup: follow it, and say it there
                await self.port.chat_moved(PLATFORM, str(chat_id), str(moved.new_chat_id))
                await self.deliver(moved.new_chat_id, reply, alert=True)
        except RetryAfter as error:
            seconds = retry_seconds(error)
            raise RetryLater(f"Telegram asked to wait {seconds:g}s", retry_after=seconds) from None
        except Forbidden as error:  # blocked by the user, user deactivated, bot kicked from the group
            raise RecipientGone(error.message) from None
        except ChatMigrated as error:
            raise DeliveryFailed(f"the group moved twice, now to {error.new_chat_id}") from None
        except BadRequest as error:
            if "chat not found" in error.message.lower():
                raise RecipientGone(error.message) from None
            raise DeliveryFailed(error.message) from None
        except TelegramError as error:
            raise DeliveryFailed(self.redact(str(error))) from None
