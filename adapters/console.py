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

from bot.core.i18n import _
from bot.core.messages import CARD_KIND, Alert, Button, Image, Reply, Request, split_command
from bot.core.port import Port

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
        # Translators: a terminal line standing for a picture found at {url}
        lines.append("  " + _("[image] {url}").format(url=reply.image_url))
    if picture is not None:
        # Translators: {path} is the file where the reply's chart was saved, for the user to open
        lines.append("  " + _("Chart: {path}").format(path=picture))
    if reply.footer:
        lines.append(f"  ({reply.footer})")
    for grant in reply.grants:
        # Translators: the console only shows the access a buyer would get: {platform} is telegram or discord,
        # {target} the id of the group or role there
        unlock = _("[access] would unlock {platform} {target} for item #{item}")
        lines.append("  " + unlock.format(platform=grant.platform, target=grant.target_id, item=grant.item_id))
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
        port: Port,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        user_id: str = USER_ID,
        read_secret: Callable[[str], str] | None = None,
        language: str | None = None,
    ) -> None:
        self.port = port
        self.language = language  # as a platform would say it (`gavel demo --language es`)
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
            language=self.language,
        )

    async def handle_line(self, line: str) -> Reply | None:
        """Run one typed line (a command, a button number or a conversation answer); print and return the reply."""
        text = line.strip()
        if not text:
            return None
        if text.isdigit() and self._buttons and await self.port.pending_prompt(self.request_for("")) is None:
            number = int(text)
            if 1 <= number <= len(self._buttons):
                button = self._buttons[number - 1]
                if button.url:
                    # Translators: the answer to a link button's number in the terminal: open this address
                    self._print(_("Open {url}").format(url=button.url))
                    return None
                text = "/" + button.command
        reply = await self.port.handle(self.request_for(text))
        if reply is not None:
            shown, self._buttons = await self._render(reply)
            self._print(shown)
        return reply

    async def send(self, alert: Alert) -> str | None:
        """Print a pushed alert (the dispatcher calls this); a live card's updates say which card they redraw."""
        if alert.access is not None:
            change = alert.access
            if change.grant:
                # Translators: a buyer's access to a group or role ({target}, an id) was given back
                note = _("[access] given back: {target}").format(target=change.target_id)
            else:
                # Translators: a buyer's access to a group or role ({target}, an id) was taken away
                note = _("[access] taken away: {target}").format(target=change.target_id)
            self._print(f"🔒 {note}")
            return None
        shown, buttons = await self._render(alert.reply)
        self._buttons = buttons or self._buttons
        if alert.kind == CARD_KIND:  # a terminal cannot edit what it printed: it prints the card again
            card, message_id = alert.extra.get("card_id", "?"), alert.extra.get("message_id")
            if message_id:
                # Translators: a live auction card ({card}, its id) is printed again, updated; the card follows
                note = _("card {card} updated:").format(card=card)
            else:
                # Translators: a live auction card ({card}, its id) is posted; the card follows
                note = _("card {card} posted:").format(card=card)
            self._print(f"🃏 {note}\n{shown}")
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
            self._print(_("Gavel console — type /help, or /quit to leave."))
        while True:
            if self.interactive:
                # Translators: the console's input prompt, shown as "you> " before each line the user types
                self.stdout.write(_("you") + "> ")
                self.stdout.flush()
            pending = await self.port.pending_prompt(self.request_for(""))
            line = await self._read_line(bool(pending and pending.secret))
            if line is None or line.strip() in ("/quit", "/exit"):
                break
            if not self.interactive and not (pending and pending.secret):
                self._print(_("you") + "> " + line.rstrip())
            await self.handle_line(line)
        if linger > 0:
            await asyncio.sleep(linger)
