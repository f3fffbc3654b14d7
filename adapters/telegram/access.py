"""Buyer access on Telegram: one join-request link per group, and a join request approved only for verified buyers.

A link that anyone may use is as good as a public group, so no link here lets anyone in by itself:
each set-up group has one invite link created with ``creates_join_request``; a verified buyer gets it
privately, and whoever follows it lands in a join request that the bot approves when the requester
holds an active claim for an item mapped to that group, and declines otherwise. The link is made once
and kept (through the core's key-value port); it is made again only when an admin revoked it.
"""

from __future__ import annotations

import contextlib
import html
import logging
from dataclasses import replace

from telegram import Bot, ChatJoinRequest, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.core.i18n import N_, _
from bot.core.messages import Button, Grant, Outcome, Reply
from bot.core.port import Port

log = logging.getLogger(__name__)

PLATFORM = "telegram"
LINK_NAME = "Gavel: verified buyers"
# Translators: a button label: a link that asks to join the group for buyers of an item
JOIN_LABEL = N_("Join the buyers' group")
INVITE_FAILED = N_("I could not open the buyers' group for you. Please contact the seller.")
# Translators: /verify is a command, keep it; "<purchase code>" stands for the code the buyer types after it
NOT_VERIFIED = N_(
    "I could not let you into that group: it is for verified buyers. Send me /verify <purchase code> "
    "in this private chat, then ask to join again."
)
# Translators: a button label: opens the private chat with the bot at /verify
VERIFY_LABEL = N_("Verify a purchase")


def join_link_key(chat_id: int | str) -> str:
    return f"telegram:join_link:{chat_id}"


class JoinAccess:
    """Hands out join-request links and answers join requests, for one running bot."""

    def __init__(self, bot: Bot, port: Port, deep_link: str) -> None:
        self.bot = bot
        self.port = port
        self.deep_link = deep_link  # the private chat, landing in /verify

    async def join_link(self, chat_id: int) -> str | None:
        """The group's join-request link: the stored one while it works, else a new one; None if the bot cannot."""
        stored = await self.port.recall(join_link_key(chat_id))
        if stored and await self._still_works(chat_id, stored):
            return stored
        try:
            invite = await self.bot.create_chat_invite_link(chat_id=chat_id, creates_join_request=True, name=LINK_NAME)
        except TelegramError as error:  # usually: the bot is not an admin there (any more)
            log.warning("no join link for chat %s: %s", chat_id, type(error).__name__)
            return None
        await self.port.remember(join_link_key(chat_id), invite.invite_link)
        return invite.invite_link

    async def _still_works(self, chat_id: int, link: str) -> bool:
        # Telegram has no "get link": editing it (changing nothing) fails, or says so, once it is revoked.
        try:
            edited = await self.bot.edit_chat_invite_link(chat_id=chat_id, invite_link=link, name=LINK_NAME)
        except TelegramError:
            return False
        return not edited.is_revoked

    async def with_join_links(self, reply: Reply) -> Reply:
        """The reply with a Join button per granted group (the grants themselves consumed)."""
        grants = [grant for grant in reply.grants if grant.platform == PLATFORM]
        if not grants:
            return reply
        links = [link for grant in grants if (link := await self._link_for(grant))]
        text = reply.text + ("\n\n" + _(INVITE_FAILED) if len(links) < len(grants) else "")
        rows = tuple((Button(_(JOIN_LABEL), url=link),) for link in dict.fromkeys(links))
        return replace(reply, text=text.strip(), grants=(), buttons=rows + reply.buttons)

    async def _link_for(self, grant: Grant) -> str | None:
        try:
            return await self.join_link(int(grant.target_id))
        except ValueError:
            return None

    async def on_join_request(self, request: ChatJoinRequest) -> bool:
        """Approve a verified buyer of an item mapped to this group; decline anyone else who came by our link.

        A request through a link the bot did not make (the group's own approval flow) is left to the
        group's admins unless the requester is a verified buyer. True if approved.
        """
        chat_id, user_id = request.chat.id, request.from_user.id
        entitled = await self.port.entitled_targets(PLATFORM, str(chat_id), str(user_id))
        ours = request.invite_link is not None and request.invite_link.creator.id == self.bot.id
        try:
            if str(chat_id) in entitled:
                await self.bot.approve_chat_join_request(chat_id=chat_id, user_id=user_id)
                log.info("join request of %s to %s approved", user_id, chat_id)
                return True
            if not ours:
                return False
            await self.bot.decline_chat_join_request(chat_id=chat_id, user_id=user_id)
        except TelegramError as error:  # answered already, or the bot lost its rights there
            log.warning("join request of %s to %s: %s", user_id, chat_id, type(error).__name__)
            return False
        log.info("join request of %s to %s declined: no verified purchase for it", user_id, chat_id)
        # A join request opens the private chat for five minutes, even with someone who never wrote to the bot.
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(_(VERIFY_LABEL), url=self.deep_link)]])
        note = html.escape(_(NOT_VERIFIED))  # the default parse mode is HTML, where "<purchase code>" is no tag
        with contextlib.suppress(TelegramError):
            await self.bot.send_message(chat_id=request.user_chat_id, text=note, reply_markup=markup)
        return False

    async def check_grants(self, reply: Reply) -> Reply:
        """/verify_setup: tell the admin now if the bot cannot answer join requests in the chosen chat."""
        checks = [grant for grant in reply.grant_checks if grant.platform == PLATFORM]
        problems = [problem for grant in checks if (problem := await self._invite_problem(int(grant.target_id)))]
        if not problems:
            return reply
        return replace(reply, text="\n\n".join([reply.text, *problems]).strip(), outcome=Outcome.WARNING)

    async def _invite_problem(self, chat_id: int) -> str | None:
        try:
            member = await self.bot.get_chat_member(chat_id=chat_id, user_id=self.bot.id)
        except TelegramError as error:
            # Translators: {error} is Telegram's own reason, in English
            return _("Warning: I could not check my rights in this group ({error}). Buyers may not get in.").format(
                error=error.message
            )
        if member.status == ChatMemberStatus.OWNER:
            return None
        if member.status == ChatMemberStatus.ADMINISTRATOR and getattr(member, "can_invite_users", False):
            return None
        if member.status == ChatMemberStatus.ADMINISTRATOR:
            # Translators: “Invite users via link” is the name of the admin right in Telegram's group settings
            return _(
                "Warning: I am an admin here but may not invite users, so I cannot let buyers in. "
                "Give me the “Invite users via link” right."
            )
        # Translators: “Invite users via link” is the name of the admin right in Telegram's group settings
        return _(
            "Warning: I am not an admin of this group, so I cannot let buyers in. "
            "Make me an admin with the “Invite users via link” right."
        )
