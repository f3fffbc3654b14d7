"""Reply -> Telegram: HTML text split within Telegram's limits, captions, and inline keyboards."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.core.messages import Button, Outcome, Reply

MAX_TEXT = 4096  # characters in one message, after entity parsing; we count the HTML, which is stricter
MAX_CAPTION = 1024
CALLBACK_PREFIX = {True: "e:", False: "n:"}  # e: the button edits its message in place (paging)

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


def callback_data(token: str, *, edits: bool) -> str:
    """Callback data for a stored button token: at most 18 bytes, far under Telegram's 64."""
    return CALLBACK_PREFIX[edits] + token


def parse_callback_data(data: str | None) -> tuple[str, bool] | None:
    """(token, edits) from callback data, or None for data this bot did not make."""
    if not data or len(data) > 64:
        return None
    for edits, prefix in CALLBACK_PREFIX.items():
        if data.startswith(prefix) and len(data) > len(prefix):
            return data[len(prefix) :], edits
    return None


def keyboard(
    rows: Iterable[Iterable[Button]], token_for: Callable[[str], str], *, private: bool = False
) -> InlineKeyboardMarkup | None:
    """Inline keyboard: link buttons open their URL, the others carry a stored token for their command.

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
                data = callback_data(token_for(button.command), edits=button.edits)
                buttons.append(InlineKeyboardButton(button.label, callback_data=data))
        if buttons:
            keyboard_rows.append(buttons)
    return InlineKeyboardMarkup(keyboard_rows) if keyboard_rows else None
