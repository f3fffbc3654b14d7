"""Replies as Discord embeds and button views; buttons carry their command in a stable custom id."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import discord

from bot.core.formatting import clip
from bot.core.i18n import _
from bot.core.messages import Button, Image, Outcome, Reply
from bot.core.port import ButtonAction

PREFIX = "gavel:"
TOKEN_PREFIX = "t:"
# Older messages carry their command line itself (``gavel:<line>``), with ``e:`` for a button that edited its
# message in place: they still run, and never edit (the flag rode where a client could change it).
EDIT_FLAG = "e:"
MAX_CUSTOM_ID = 100
# Every custom id we ever put on a button; older messages keep working after a restart because the stored
# token (or, on older messages, the command line) is the whole state.
CUSTOM_ID_TEMPLATE = re.compile(r"gavel:(?P<ref>[^\n]{1,94})")

COLOURS = {
    Outcome.INFO: discord.Colour(0x5865F2),
    Outcome.SUCCESS: discord.Colour(0x2ECC71),
    Outcome.WARNING: discord.Colour(0xF1C40F),
    Outcome.ERROR: discord.Colour(0xE74C3C),
}

# Discord's embed limits (characters).
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
MAX_FIELDS = 25
MAX_ROWS = 5
MAX_PER_ROW = 5
LABEL_LIMIT = 80
ALT_TEXT_LIMIT = 1024  # an attachment's description


class ButtonPresser(Protocol):
    """The client side of a press: our discord.Client subclass runs the command for whoever pressed."""

    async def press(self, interaction: discord.Interaction, reference: str) -> None: ...


def escape(text: str) -> str:
    """Text as it was written, never as markdown: an auction named ``[Claim refund](https://evil.example)`` must
    not render as a masked link, nor ``**`` or ``@everyone`` tricks as anything but characters.

    A value that is one bare web address is left alone, so Discord still makes it clickable.
    """
    if _web_url(text.strip()) and " " not in text.strip():
        return text
    return discord.utils.escape_markdown(text)


def _web_url(url: str | None) -> str | None:
    # Discord rejects the whole message for one bad URL, so anything not http(s) is dropped.
    return url if url and re.match(r"^https?://\S+$", url) else None


def attachment_name(image: Image) -> str:
    """The file's name as ``attachment://<name>`` can point at it: Discord matches only plain characters."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", image.filename)[-100:] or "image.png"


class CommandButton(discord.ui.DynamicItem[discord.ui.Button], template=CUSTOM_ID_TEMPLATE):
    """A button whose custom id is ``gavel:t:<token>`` (or, on older messages, ``gavel:<command line>``); it survives
    restarts."""

    def __init__(self, custom_id: str, *, label: str | None = None, style: discord.ButtonStyle | None = None) -> None:
        super().__init__(
            discord.ui.Button(label=label, custom_id=custom_id, style=style or discord.ButtonStyle.secondary)
        )
        self.reference = custom_id[len(PREFIX) :]

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> CommandButton:
        return cls(match.group(0), label=getattr(item, "label", None), style=getattr(item, "style", None))

    async def callback(self, interaction: discord.Interaction) -> None:
        presser: ButtonPresser = interaction.client  # type: ignore[assignment]
        await presser.press(interaction, self.reference)


def is_token_reference(reference: str) -> bool:
    return reference.startswith(TOKEN_PREFIX)


@dataclass
class Rendered:
    """What one reply becomes on Discord: optional text (mentions), one embed, a view of buttons, and a picture
    attached as a file that the embed shows."""

    embed: discord.Embed
    view: discord.ui.View | None
    content: str | None = None
    image: Image | None = None

    def file(self) -> discord.File | None:
        """A new File at each call: sending leaves a File's stream at its end, so each File goes out once."""
        if self.image is None:
            return None
        alt = clip(self.image.alt, ALT_TEXT_LIMIT) or None
        return discord.File(io.BytesIO(self.image.data), filename=attachment_name(self.image), description=alt)

    def send_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"embed": self.embed}
        if self.view is not None:
            kwargs["view"] = self.view
        if self.content:
            kwargs["content"] = self.content
        if self.image is not None:
            kwargs["file"] = self.file()
        return kwargs

    def edit_kwargs(self) -> dict[str, Any]:
        """For replacing a message in place: its old picture goes unless the new reply brings one."""
        file = self.file()
        return {"content": self.content, "embed": self.embed, "view": self.view, "attachments": [file] if file else []}


def render_embed(reply: Reply) -> discord.Embed:
    """Title, text, fields, images, colour by outcome and footer, clipped to Discord's limits."""
    title = clip(escape(reply.title), TITLE_LIMIT) if reply.title else None
    # Translators: the whole answer of a command that had nothing else to say
    text = escape(reply.text) if reply.text else ("" if title or reply.fields else _("Done."))
    embed = discord.Embed(
        title=title,
        description=clip(text, DESCRIPTION_LIMIT) if text else None,
        colour=COLOURS.get(reply.outcome, COLOURS[Outcome.INFO]),
        url=_web_url(reply.url) if title else None,
    )
    budget = EMBED_TOTAL_LIMIT - len(title or "") - len(embed.description or "")
    footer = clip(escape(reply.footer), FOOTER_LIMIT) if reply.footer else None
    budget -= len(footer or "")
    for field in reply.fields[:MAX_FIELDS]:
        name = clip(escape(field.name) or "\u200b", FIELD_NAME_LIMIT)
        value = clip(escape(field.value) or "—", FIELD_VALUE_LIMIT)
        if len(name) + len(value) > budget:
            break  # the total limit would reject the whole embed; drop the tail rather than fail
        budget -= len(name) + len(value)
        embed.add_field(name=name, value=value, inline=field.inline)
    if _web_url(reply.thumbnail_url):
        embed.set_thumbnail(url=reply.thumbnail_url)
    if reply.image is not None:
        embed.set_image(url=f"attachment://{attachment_name(reply.image)}")
    elif _web_url(reply.image_url):
        embed.set_image(url=reply.image_url)
    if footer:
        embed.set_footer(text=footer)
    return embed


def _action(button: Button) -> ButtonAction:
    return ButtonAction(" ".join(button.command.split()), button.edits)


def actions_needing_tokens(reply: Reply) -> list[ButtonAction]:
    """What each command button of the reply does: a stored token is fetched for each before rendering."""
    return [_action(button) for row in reply.buttons for button in row if button.command and not button.url]


def custom_id_for(action: ButtonAction, store_token: Callable[[ButtonAction], str]) -> str:
    """``gavel:t:<stored token>``: what the button does stays on our side, the custom id is opaque."""
    return PREFIX + TOKEN_PREFIX + store_token(action)


def render_view(
    rows: tuple[tuple[Button, ...], ...],
    store_token: Callable[[ButtonAction], str],
    *,
    extra: list[Button] | None = None,
) -> discord.ui.View | None:
    """Buttons in rows of at most five; link buttons for URLs; nothing when there are none."""
    flat_rows: list[list[Button]] = []
    for row in (*rows, tuple(extra or ())):
        usable = [b for b in row if (b.url and _web_url(b.url)) or (not b.url and b.command)]
        for start in range(0, len(usable), MAX_PER_ROW):
            flat_rows.append(usable[start : start + MAX_PER_ROW])
    flat_rows = [r for r in flat_rows if r][:MAX_ROWS]
    if not flat_rows:
        return None
    view = discord.ui.View(timeout=None)
    for number, row in enumerate(flat_rows):
        for button in row:
            label = clip(button.label or "…", LABEL_LIMIT)
            if button.url:
                view.add_item(discord.ui.Button(label=label, url=button.url, row=number))
            else:
                style = discord.ButtonStyle.secondary if button.edits else discord.ButtonStyle.primary
                item = CommandButton(custom_id_for(_action(button), store_token), label=label, style=style)
                item.row = number
                view.add_item(item)
    return view


def render(
    reply: Reply,
    store_token: Callable[[ButtonAction], str],
    *,
    mention_user_id: str | None = None,
    private_chat_url: str | None = None,
) -> Rendered:
    """The whole reply; ``mention_user_id`` pings one user (alerts posted in a channel)."""
    # Translators: a button label: opens a direct-message chat with the bot
    extra = [Button(_("Message me"), url=private_chat_url)] if reply.open_private_chat and private_chat_url else None
    content = f"<@{mention_user_id}>" if mention_user_id else None
    view = render_view(reply.buttons, store_token, extra=extra)
    return Rendered(render_embed(reply), view, content, reply.image)
