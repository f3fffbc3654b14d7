"""What the Telegram bot sends: replies as text or photo, edits in place, alerts under flood limits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, InputFile, InputMediaPhoto, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from adapters.telegram.render import caption_and_rest, keyboard, text_chunks
from bot.core.errors import DeliveryFailed, RecipientGone, RetryLater
from bot.core.i18n import N_
from bot.core.logs import redact
from bot.core.messages import AccessChange, Button, Reply
from bot.core.port import ButtonAction, Port

log = logging.getLogger(__name__)

PLATFORM = "telegram"
MAX_REPLY_WAIT = 10.0  # a reply waits out a RetryAfter this short once; alerts hand it to the dispatcher
# Translators: a button label: opens a private chat with the bot
PRIVATE_CHAT_LABEL = N_("Open a private chat")
DEEP_LINK_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB warns that retry_after will become a timedelta; we accept both
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# Telegram's limits for messages a bot starts: about 30 a second overall, one a second per chat, 20 a minute per
# group. The dispatcher applies them (bot/core/pacing.py); a little slack keeps network jitter on the safe side.
OVERALL_PER_SECOND = 29.7
PRIVATE_CHAT_INTERVAL = 1.05
GROUP_INTERVAL = 3.05


def chat_interval(chat_id: str) -> float:
    """Seconds between two alerts to one chat: group and channel ids are negative."""
    return GROUP_INTERVAL if chat_id.startswith("-") else PRIVATE_CHAT_INTERVAL


class TelegramSender:
    """Renders Replies into Bot API calls for one running bot."""

    def __init__(self, bot: Bot, port: Port) -> None:
        self.bot = bot
        self.port = port

    def deep_link(self, command: str | None) -> str:
        """``t.me/<bot>?start=<command>``: opens the private chat and lands in that command's flow."""
        link = f"https://t.me/{self.bot.username}"
        return f"{link}?start={command}" if command and DEEP_LINK_PAYLOAD.match(command) else link

    async def keyboard(self, reply: Reply, *, private: bool = False) -> InlineKeyboardMarkup | None:
        """The reply's buttons; each command is stored under a short token that outlives restarts.

        A private button becomes a link into the presser's private chat, landing in its command. ``private``: the
        message goes to a private chat (where web-app buttons may open inside Telegram).
        """
        rows = tuple(
            tuple(Button(b.label, url=self.deep_link(b.command)) if b.private and b.command else b for b in row)
            for row in reply.buttons
        )
        actions = [ButtonAction(b.command, b.edits) for row in rows for b in row if b.command and not b.url]
        tokens = await self.port.button_tokens(actions)
        return keyboard(rows, tokens.__getitem__, private=private)

    async def deliver(self, chat_id: int, reply: Reply, *, reply_to: int | None = None, alert: bool = False) -> None:
        """Send a reply as a photo with caption (falling back to text) or as text split within 4,096 characters.

        Text too long for a caption (1,024 characters) follows the photo in messages of its own, the buttons
        under the last one: the chart stays under the title it illustrates, the buttons at the bottom of the chat.
        """
        markup = await self.keyboard(reply, private=chat_id > 0)  # groups and channels have negative ids
        quote = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        photo = InputFile(reply.image.data, filename=reply.image.filename) if reply.image else reply.image_url
        if photo:
            caption, rest = caption_and_rest(reply)
            try:
                await self._call(
                    self.bot.send_photo, chat_id, alert, photo=photo, caption=caption or None,
                    reply_markup=None if rest else markup, reply_parameters=quote,
                )  # fmt: skip
            except BadRequest as error:  # Telegram could not fetch (or read) the image: the text still matters
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
        """One outgoing message. An alert's RetryAfter goes back to the dispatcher, which paces alerts; a reply
        waits out one short RetryAfter, since its user is waiting for it."""
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
        if reply.image is not None:
            return await self._edit_photo(message, reply)
        chunks = text_chunks(reply)
        if reply.image_url or len(chunks) != 1:
            return False
        markup = await self.keyboard(reply, private=message.chat.id > 0)
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

    async def _edit_photo(self, message: Message, reply: Reply) -> bool:
        """A new picture and caption for a photo message (a refreshed chart); a text message cannot become one."""
        caption, rest = caption_and_rest(reply)
        if not message.photo or rest or reply.image is None:
            return False
        media = InputMediaPhoto(reply.image.data, caption=caption or None, filename=reply.image.filename)
        try:
            await self.bot.edit_message_media(
                chat_id=message.chat.id, message_id=message.message_id, media=media,
                reply_markup=await self.keyboard(reply, private=message.chat.id > 0),
            )  # fmt: skip
        except BadRequest as error:
            return "not modified" in error.message.lower()
        return True

    async def change_access(self, change: AccessChange) -> None:
        """Take a buyer out of a group (ban, then unban at once: they may come back only through a new approval)."""
        chat_id, user_id = int(change.place_id), int(change.user_id)
        try:
            if change.grant:
                return  # a group lets a buyer back in through their join request: nothing to do here
            await self.bot.ban_chat_member(chat_id=chat_id, user_id=user_id)
            await self.bot.unban_chat_member(chat_id=chat_id, user_id=user_id, only_if_banned=True)
        except RetryAfter as error:
            seconds = retry_seconds(error)
            raise RetryLater(f"Telegram asked to wait {seconds:g}s", retry_after=seconds) from None
        except TelegramError as error:  # usually: the bot is no longer an admin there
            raise DeliveryFailed(redact(str(error))) from None

    async def push(self, chat_id: int, reply: Reply, *, for_user: str = "") -> None:
        """An alert: RetryLater, RecipientGone or DeliveryFailed tell the dispatcher what to do next.

        A private reply (an auto-bid's maximum) goes to ``for_user``'s private chat, never to ``chat_id``; when
        that chat is closed, only that user is gone, not the chat the alert was queued for.
        """
        if reply.private:
            if not for_user.isdigit():
                raise RecipientGone("a private alert with no one to send it to", whole_chat=False)
            chat_id = int(for_user)  # a private chat's id is its user's id
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
            raise RecipientGone(error.message, whole_chat=not reply.private) from None
        except ChatMigrated as error:
            raise DeliveryFailed(f"the group moved twice, now to {error.new_chat_id}") from None
        except BadRequest as error:
            if "chat not found" in error.message.lower():
                raise RecipientGone(error.message, whole_chat=not reply.private) from None
            raise DeliveryFailed(error.message) from None
        except TelegramError as error:
            raise DeliveryFailed(redact(str(error))) from None

    @contextlib.asynccontextmanager
    async def typing(self, chat_id: int) -> AsyncIterator[None]:
        """Show "typing…" while a slow command waits on an upstream; Telegram shows it for 5 s per call."""

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
