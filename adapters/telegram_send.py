"""What the Telegram bot sends: replies as text or photo, edits in place, invite links, alerts under flood limits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from adapters.telegram_render import caption_and_rest, keyboard, text_chunks
from bot.errors import DeliveryFailed, RecipientGone, RetryLater
from bot.messages import Button, Grant, Outcome, Reply
from bot.services import Services
from storage import repo

log = logging.getLogger(__name__)

PLATFORM = "telegram"
MAX_REPLY_WAIT = 10.0  # a reply waits out a RetryAfter this short once; alerts hand it to the dispatcher
INVITE_LIFETIME = timedelta(hours=1)
JOIN_LABEL = "Join the buyers' group"
INVITE_FAILED = "I could not open the buyers' group for you. Please contact the seller."
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

    def __init__(self, bot: Bot, services: Services, flood: FloodLimits) -> None:
        self.bot = bot
        self.services = services
        self.flood = flood

    def redact(self, text: str) -> str:
        return text.replace(self.bot.token, "***")

    def deep_link(self, command: str | None) -> str:
        """``t.me/<bot>?start=<command>``: opens the private chat and lands in that command's flow."""
        link = f"https://t.me/{self.bot.username}"
        return f"{link}?start={command}" if command and DEEP_LINK_PAYLOAD.match(command) else link

    def keyboard(self, reply: Reply) -> InlineKeyboardMarkup | None:
        """The reply's buttons; each command is stored under a short token that outlives restarts."""
        if not any(button.command and not button.url for row in reply.buttons for button in row):
            return keyboard(reply.buttons, lambda command: "")
        now = self.services.now()
        with self.services.db() as session:
            return keyboard(reply.buttons, lambda command: repo.store_button_command(session, command=command, now=now))

    async def deliver(self, chat_id: int, reply: Reply, *, reply_to: int | None = None, alert: bool = False) -> None:
        """Send a reply as a photo with caption (falling back to text) or as text split within 4,096 characters."""
        markup = self.keyboard(reply)
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
        markup = self.keyboard(reply)
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
            await self.deliver(chat_id, reply, alert=True)
        except RetryAfter as error:
            seconds = retry_seconds(error)
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
            raise DeliveryFailed(self.redact(str(error))) from None

    # --- access grants ------------------------------------------------------------------------------

    async def check_grants(self, reply: Reply) -> Reply:
        """/verify_setup: tell the admin now if the bot cannot create invite links in the chosen chat."""
        checks = [grant for grant in reply.grant_checks if grant.platform == PLATFORM]
        problems = [problem for grant in checks if (problem := await self._invite_problem(int(grant.target_id)))]
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

    async def hand_out_grants(
        self, reply: Reply, *, chat_id: int, user_id: int, is_private: bool, reply_to: int | None = None
    ) -> None:
        """One-time invite links (one member, one hour) for the buyer alone: a link posted in a group is anyone's."""
        links = [link for grant in reply.grants if grant.platform == PLATFORM and (link := await self._invite(grant))]
        failed = len(links) < sum(1 for grant in reply.grants if grant.platform == PLATFORM)
        text = reply.text + ("\n\n" + INVITE_FAILED if failed else "")
        rows = tuple((Button(JOIN_LABEL, url=link),) for _, link in links)
        private_reply = replace(reply, text=text, grants=(), buttons=rows + reply.buttons)
        if is_private:
            await self.deliver(chat_id, private_reply, reply_to=reply_to)
            return
        try:
            await self.deliver(user_id, private_reply)
            note = Reply("I sent you the details and your invite link in a private message.", outcome=Outcome.SUCCESS)
        except Forbidden:  # the user never opened a private chat with the bot
            for target, link in links:  # never delivered: make sure nobody else can use it
                with contextlib.suppress(TelegramError):
                    await self.bot.revoke_chat_invite_link(chat_id=target, invite_link=link)
            note = Reply(
                "Your purchase is verified, but I can only send invite links in a private chat. "
                "Open a private chat with me and send /verify there.",
                outcome=Outcome.WARNING,
            ).with_buttons([Button(PRIVATE_CHAT_LABEL, url=self.deep_link("verify"))])
        await self.deliver(chat_id, note, reply_to=reply_to)

    async def _invite(self, grant: Grant) -> tuple[int, str] | None:
        try:
            target = int(grant.target_id)
            invite = await self.bot.create_chat_invite_link(
                chat_id=target,
                member_limit=1,
                expire_date=self.services.now() + INVITE_LIFETIME,
                name=f"Buyer of #{grant.item_id}",
            )
        except (TelegramError, ValueError) as error:  # usually: the bot is not an admin there any more
            log.warning("no invite link for chat %s: %s", grant.target_id, self.redact(str(error)))
            return None
        return target, invite.invite_link
