"""Reply -> Telegram: HTML text split within Telegram's limits, captions, and inline keyboards."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.core.messages import Button, Outcome, Reply
from bot.core.port import ButtonAction

MAX_TEXT = 4096  # characters in one message, after entity parsing; we count the HTML, which is stricter
MAX_CAPTION = 1024
# Callback data made before button tokens held their edit flag: ``e:<token>`` or ``n:<token>``. They still work,
# and never edit in place: the flag was the client's to change.
LEGACY_PREFIXES = ("e:", "n:")

LINK = re.compile(r"^(https?|tg)://[^\s]+$")
MARKERS = {Outcome.SUCCESS: "✅ ", Outcome.ERROR: "❌ ", Outcome.WARNING: "⚠️ "}


def _wrap(tag: str | None) -> Callable[[str], str]:
    if tag is None:
        return html.escape
    return lambda raw: f"<{tag}>{html.escape(raw)}</{tag}>"


def _pieces(raw: str, wrap: Callable[[str], str], limit: int) -> list[str]:
    """One raw line as HTML lines of at most ``limit`` characters each, never cutting an entity or a tag.

    Lengths are counted after escaping (``&`` becomes five characters), so a cut lands between
    raw characters; it moves back to the last space when there is one in the second half.
    """
    whole = wrap(raw)
    if len(whole) <= limit:
        return [whole]
    overhead = len(wrap(""))
    room = max(limit - overhead, 8)
    pieces: list[str] = []
    start = 0
    while start < len(raw):
        size = 0
        end = start
        while end < len(raw) and size + len(html.escape(raw[end])) <= room:
            size += len(html.escape(raw[end]))
            end += 1
        if end < len(raw):
            space = raw.rfind(" ", start + (end - start) // 2, end)
            if space > start:
                end = space + 1
        pieces.append(wrap(raw[start:end].rstrip(" ") or raw[start:end]))
        start = end
    return pieces


def html_lines(reply: Reply, limit: int = MAX_TEXT) -> list[str]:
    """The reply as HTML lines, each closed on its own line (so any line break is a safe place to split)."""
    lines: list[str] = []

    def add(text: str, tag: str | None = None) -> None:
        for raw in text.split("\n"):
            lines.extend(_pieces(raw, _wrap(tag), limit) if raw else [""])

    marker = MARKERS.get(reply.outcome, "")
    if reply.title:
        add(marker + reply.title, "b")
        marker = ""
    if reply.text:
        if lines:
            lines.append("")
        add(marker + reply.text)
    if reply.fields:
        if lines:
            lines.append("")
        for field in reply.fields:
            name = f"<b>{html.escape(field.name)}:</b> "
            value_lines = _pieces(field.value.replace("\n", " "), html.escape, max(limit - len(name), 64))
            lines.append(name + value_lines[0])
            lines.extend(value_lines[1:])
    if reply.footer:
        if lines:
            lines.append("")
        add(reply.footer, "i")
    return lines


def pack(lines: Iterable[str], limit: int = MAX_TEXT) -> list[str]:
    """Join lines into as few messages as fit ``limit``, splitting only between lines; no blank edges."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        extra = len(line) + (1 if current else 0)
        if current and size + extra > limit:
            chunks.append("\n".join(current).strip("\n"))
            current, size = [], 0
            extra = len(line)
        current.append(line)
        size += extra
    if current:
        chunks.append("\n".join(current).strip("\n"))
    return [chunk for chunk in chunks if chunk.strip()]


def text_chunks(reply: Reply) -> list[str]:
    """The reply as one or more HTML messages of at most 4,096 characters."""
    return pack(html_lines(reply))


def caption_and_rest(reply: Reply) -> tuple[str, list[str]]:
    """A photo caption (at most 1,024 characters) and whatever did not fit, as follow-up messages."""
    lines = html_lines(reply, MAX_CAPTION)
    caption: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        extra = len(line) + (1 if caption else 0)
        if size + extra > MAX_CAPTION:
            rest = pack(lines[index:])
            return "\n".join(caption).strip("\n"), rest
        caption.append(line)
        size += extra
    return "\n".join(caption).strip("\n"), []


def callback_data(token: str) -> str:
    """Callback data for a stored button token: the token alone (16 bytes, far under Telegram's 64). What the button
    does, whether it edits its message included, is looked up by the token, never read from the data."""
    return token


def parse_callback_data(data: str | None) -> str | None:
    """The token in callback data (this bot's, or an older one's ``e:``/``n:`` form), or None for anything else."""
    if not data or len(data) > 64:
        return None
    for prefix in LEGACY_PREFIXES:
        if data.startswith(prefix):
            data = data[len(prefix) :]
            break
    return data or None


def keyboard(
    rows: Iterable[Iterable[Button]], token_for: Callable[[ButtonAction], str], *, private: bool = False
) -> InlineKeyboardMarkup | None:
    """Inline keyboard: link buttons open their URL, the others carry a stored token for what they do.

    A web-app button opens its page inside Telegram (which hands the page signed initData) where Telegram allows
    one: in a private chat, to an https page. Anywhere else it is a plain link.
    """
    keyboard_rows = []
    for row in rows:
        buttons = []
        for button in row:
            if button.url and button.web_app and private and button.url.startswith("https://"):
                buttons.append(InlineKeyboardButton(button.label, web_app=WebAppInfo(button.url)))
            elif button.url:
                # Telegram refuses the whole message over one odd link (an upstream's demo URL): drop the button.
                if LINK.match(button.url):
                    buttons.append(InlineKeyboardButton(button.label, url=button.url))
            elif button.command:
                data = callback_data(token_for(ButtonAction(button.command, button.edits)))
                buttons.append(InlineKeyboardButton(button.label, callback_data=data))
        if buttons:
            keyboard_rows.append(buttons)
    return InlineKeyboardMarkup(keyboard_rows) if keyboard_rows else None
