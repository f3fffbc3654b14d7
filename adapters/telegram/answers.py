"""How a core Reply reaches Telegram: in the chat it was asked in, edited in place, or privately with a pointer."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from telegram import Message
from telegram.error import Forbidden

from adapters.telegram.send import PRIVATE_CHAT_LABEL, TelegramSender
from bot.core.i18n import N_, _
from bot.core.messages import Button, Outcome, Reply, Request
from bot.core.port import Port

if TYPE_CHECKING:
    from adapters.telegram.access import JoinAccess

SENT_PRIVATELY = N_("I sent you the answer in a private message.")
WILL_DELETE = N_("(I delete your message as soon as I have read it.)")
PRIVATE_ONLY = N_("I can only answer this in a private chat. Open one with me, then send /{command} there.")


class Answers:
    """Delivers the core's replies for one running bot."""

    def __init__(self, sender: TelegramSender, port: Port, access: JoinAccess | None) -> None:
        self.sender = sender
        self.port = port
        self.access = access

    async def answer(
        self, request: Request, reply: Reply, *, reply_to: int | None = None, edit: Message | None = None
    ) -> None:
        """``edit``: the message a button that edits in place sits under (its stored action says so)."""
        sender = self.sender
        if reply.grant_checks and self.access is not None:
            reply = await self.access.check_grants(reply)
        if reply.grants and self.access is not None:
            reply = await self.access.with_join_links(reply)
        if reply.open_private_chat and not request.is_private:
            reply = reply.with_buttons([Button(_(PRIVATE_CHAT_LABEL), url=sender.deep_link(request.command))])
        if reply.prompt is not None and reply.prompt.secret:  # here, the answer is a message others could read
            reply = replace(reply, text=f"{reply.text}\n{_(WILL_DELETE)}")
        if reply.private and not request.is_private:
            await self.privately(request, reply, reply_to=reply_to)
            return
        # An error under a paging button gets its own message rather than replacing the page.
        if edit is not None and reply.outcome is not Outcome.ERROR and await sender.edit(edit, reply):
            return
        await sender.deliver(int(request.chat_id), reply, reply_to=reply_to)

    async def privately(self, request: Request, reply: Reply, *, reply_to: int | None) -> None:
        """A private answer asked for in a group goes to the asker's private chat; the group gets a pointer."""
        sender = self.sender
        try:
            await sender.deliver(int(request.user_id), reply)
            pointer = Reply(_(SENT_PRIVATELY), outcome=Outcome.SUCCESS)
        except Forbidden:  # the user never opened a private chat with the bot: nothing of the answer here
            command = request.command or "start"
            pointer = Reply(_(PRIVATE_ONLY).format(command=command), outcome=Outcome.WARNING).with_buttons(
                [Button(_(PRIVATE_CHAT_LABEL), url=sender.deep_link(command))]
            )
        warning = await self.port.secret_warning(request)
        if warning:  # the warning to delete the message belongs where the message is
            pointer = replace(pointer, text=f"{pointer.text}\n\n{warning}")
        await sender.deliver(int(request.chat_id), pointer, reply_to=reply_to)
