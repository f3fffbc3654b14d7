"""Terminal chat with the real core: type commands, press buttons by number, read alerts as they arrive.

Works interactively and with stdin piped (one command a line), so a session can be scripted:
``printf '/help\\n/items\\n' | gavel demo``.
"""

from __future__ import annotations

import asyncio
import getpass
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.core import Core
from bot.messages import CARD_KIND, Alert, Button, Image, Reply, Request, split_command

PLATFORM = "console"
USER_ID = "local"


def render(reply: Reply, *, picture: Path | None = None) -> tuple[str, list[Button]]:
    """A reply as terminal text, with its buttons numbered from 1; ``picture``: where its image was saved."""
    lines: list[str] = []
    marker = {"success": "✔ ", "error": "✖ ", "warning": "! "}.get(reply.outcome.value, "")
    if reply.title:
        lines.append(f"{marker}{reply.title}")
        marker = ""
    if reply.text:
        lines.append(f"{marker}{reply.text}")
    for field in reply.fields:
        lines.append(f"  {field.name}: {field.value}")
    if reply.image_url:
        lines.append(f"  [image] {reply.image_url}")
    if picture is not None:
        lines.append(f"  Chart: {picture}")
    if reply.footer:
        lines.append(f"  ({reply.footer})")
    for grant in reply.grants:
        lines.append(f"  [access] would unlock {grant.platform} {grant.target_id} for item #{grant.item_id}")
    buttons = [button for row in reply.buttons for button in row]
    if buttons:
        choices = []
        for number, button in enumerate(buttons, 1):
            choices.append(f"[{number}] {button.label}" + (f" <{button.url}>" if button.url else ""))
        lines.append("  " + "  ".join(choices))
    return "\n".join(lines), buttons


class ConsoleAdapter:
    """One local user chatting in a private conversation with the bot."""

    platform = PLATFORM

    def __init__(
        self,
        core: Core,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        user_id: str = USER_ID,
        read_secret: Callable[[str], str] | None = None,
    ) -> None:
        self.core = core
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.user_id = user_id
        self.interactive = self.stdin.isatty()
        self.read_secret = read_secret or (getpass.getpass if self.interactive else None)
        self._buttons: list[Button] = []
        self._pictures: Path | None = None  # a folder of this session's pictures, made at the first one

    def _print(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def _render(self, reply: Reply) -> tuple[str, list[Button]]:
        """The reply as text; an attached picture is saved to a file first, for the user to open."""
        picture = await asyncio.to_thread(self._save, reply.image) if reply.image is not None else None
        return render(reply, picture=picture)

    def _save(self, image: Image) -> Path:
        """Write a picture under a temporary folder; a newer picture of the same name (a refresh) replaces it."""
        if self._pictures is None:
            self._pictures = Path(tempfile.mkdtemp(prefix="gavel-pictures-"))
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(image.filename).name).lstrip(".")
        path = self._pictures / (name or "picture.png")
        path.write_bytes(image.data)
        return path

    def request_for(self, text: str) -> Request:
        command, args = split_command(text)
        return Request(
            platform=PLATFORM,
            user_id=self.user_id,
            chat_id=self.user_id,
            command=command,
            args=args,
            text="" if command else text,
            is_private=True,
            display_name=getpass.getuser() if self.interactive else "console",
        )

    async def handle_line(self, line: str) -> Reply | None:
        """Run one typed line (a command, a button number or a conversation answer); print and return the reply."""
        text = line.strip()
        if not text:
            return None
        if text.isdigit() and self._buttons and await self.core.pending_prompt(self.request_for("")) is None:
            number = int(text)
            if 1 <= number <= len(self._buttons):
                button = self._buttons[number - 1]
                if button.url:
                    self._print(f"Open {button.url}")
                    return None
                text = "/" + button.command
        reply = await self.core.handle(self.request_for(text))
        if reply is not None:
            shown, self._buttons = await self._render(reply)
            self._print(shown)
        return reply

    async def send(self, alert: Alert) -> str | None:
        """Print a pushed alert (the dispatcher calls this); a live card's updates say which card they redraw."""
        if alert.access is not None:
            change = alert.access
            self._print(f"🔒 [access] {'given back' if change.grant else 'taken away'}: {change.target_id}")
            return None
        shown, buttons = await self._render(alert.reply)
        self._buttons = buttons or self._buttons
        if alert.kind == CARD_KIND:  # a terminal cannot edit what it printed: it prints the card again
            card, message_id = alert.extra.get("card_id", "?"), alert.extra.get("message_id")
            self._print(f"🃏 card {card} {'updated' if message_id else 'posted'}:\n{shown}")
            return message_id or f"card-{card}"
        self._print(f"🔔 {shown}")
        return None

    async def _read_line(self, prompt_secret: bool) -> str | None:
        loop = asyncio.get_running_loop()
        if prompt_secret and self.read_secret is not None:
            return await loop.run_in_executor(None, self.read_secret, "")
        line = await loop.run_in_executor(None, self.stdin.readline)
        return line if line else None

    async def run(self, *, linger: float = 0.0) -> None:
        """Read lines until end of input or /quit. ``linger`` keeps alerts flowing after piped input ends."""
        if self.interactive:
            self._print("Gavel console — type /help, or /quit to leave.")
        while True:
            if self.interactive:
                self.stdout.write("you> ")
                self.stdout.flush()
            pending = await self.core.pending_prompt(self.request_for(""))
            line = await self._read_line(bool(pending and pending.secret))
            if line is None or line.strip() in ("/quit", "/exit"):
                break
            if not self.interactive and not (pending and pending.secret):
                self._print(f"you> {line.rstrip()}")
            await self.handle_line(line)
        if linger > 0:
            await asyncio.sleep(linger)
