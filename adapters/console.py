"""Terminal chat with the real core: type commands, press buttons by number, read alerts as they arrive.

Works interactively and with stdin piped (one command a line), so a session can be scripted:
``printf '/help\\n/items\\n' | gavel demo``.

Each message with buttons gets a number of its own, and its buttons are pressed as ``<message>.<button>``
(``3.1``): an alert arriving later takes new numbers and never those of the confirmation above it. A bare
``1`` presses a button of the last answer to something you typed. Lines are read on a daemon thread, so Ctrl-C
ends the chat at once instead of waiting for the Enter key; an alert arriving while you type is printed above
the prompt, which is drawn again with what you had typed.
"""

from __future__ import annotations

import asyncio
import getpass
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.core.i18n import _
from bot.core.messages import CARD_KIND, Alert, Button, Image, Reply, Request, split_command
from bot.core.port import Port

PLATFORM = "console"
USER_ID = "local"
KEPT_MESSAGES = 50  # how many numbered messages stay pressable
CLEAR_LINE = "\r\x1b[K"  # back to the line's start, and erase it: where the prompt was
PRESS = re.compile(r"^(?:(\d{1,6})\.)?(\d{1,3})$")


def render(reply: Reply, *, picture: Path | None = None, number: int | None = None) -> tuple[str, list[Button]]:
    """A reply as terminal text; its buttons numbered ``[number.1]`` on (``[1]`` without a message number)."""
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
        prefix = f"{number}." if number is not None else ""
        choices = []
        for index, button in enumerate(buttons, 1):
            choices.append(f"[{prefix}{index}] {button.label}" + (f" <{button.url}>" if button.url else ""))
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
        typed_so_far: Callable[[], str] | None = None,
    ) -> None:
        self.port = port
        self.language = language  # as a platform would say it (`gavel demo --language es`)
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.user_id = user_id
        self.interactive = self.stdin.isatty()
        self.read_secret = read_secret or (getpass.getpass if self.interactive else None)
        # The real terminal: input() edits the line with readline, which also knows what has been typed so far.
        self._terminal = self.interactive and self.stdin is sys.stdin and self.stdout is sys.stdout
        self.typed_so_far = typed_so_far or _readline_buffer(self._terminal)
        self._messages: dict[int, list[Button]] = {}  # message number -> its buttons
        self._numbered = 0
        self._last_answer: int | None = None  # the last answer to a typed line that had buttons
        self._prompt: str | None = None  # on screen, waiting for a line: redrawn after an alert
        self._pictures: Path | None = None  # a folder of this session's pictures, made at the first one
        self._closed = False

    def _print(self, text: str) -> None:
        if self._prompt is not None:  # the user may be typing: print above the prompt, then draw it again
            self.stdout.write(f"{CLEAR_LINE}{text}\n{self._prompt}{self.typed_so_far()}")
        else:
            self.stdout.write(text + "\n")
        self.stdout.flush()

    async def _render(self, reply: Reply) -> tuple[str, list[Button]]:
        """The reply as text, its buttons under a new message number; an attached picture is saved to a file."""
        picture = await asyncio.to_thread(self._save, reply.image) if reply.image is not None else None
        if not any(row for row in reply.buttons):
            return render(reply, picture=picture)
        self._numbered += 1
        shown, buttons = render(reply, picture=picture, number=self._numbered)
        self._messages[self._numbered] = buttons
        self._messages.pop(self._numbered - KEPT_MESSAGES, None)
        return shown, buttons

    def _save(self, image: Image) -> Path | None:
        """Write a picture under a temporary folder (deleted at exit); a refresh of the same name replaces it."""
        if self._closed:
            return None
        if self._pictures is None:
            self._pictures = Path(tempfile.mkdtemp(prefix="gavel-pictures-"))
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(image.filename).name).lstrip(".")
        path = self._pictures / (name or "picture.png")
        path.write_bytes(image.data)
        return path

    def close(self) -> None:
        """Delete this session's pictures: nothing of a chat stays in /tmp."""
        self._closed = True
        if self._pictures is not None:
            shutil.rmtree(self._pictures, ignore_errors=True)
            self._pictures = None

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

    def _button(self, text: str) -> Button | None:
        """The button ``3.1`` (message 3, button 1) or ``1`` (of the last answer) names, if there is one."""
        pressed = PRESS.match(text)
        if pressed is None:
            return None
        message = int(pressed.group(1)) if pressed.group(1) else self._last_answer
        buttons = self._messages.get(message) if message is not None else None
        number = int(pressed.group(2))
        return buttons[number - 1] if buttons and 1 <= number <= len(buttons) else None

    async def handle_line(self, line: str) -> Reply | None:
        """Run one typed line (a command, a button number or a conversation answer); print and return the reply."""
        text = line.strip()
        if not text:
            return None
        pending = await self.port.pending_prompt(self.request_for("")) if PRESS.match(text) else None
        # A bare number answering a question is the answer; "3.1" presses a button unless a password is asked.
        button = self._button(text) if pending is None or ("." in text and not pending.secret) else None
        if button is not None:
            if button.url:
                # Translators: the answer to a link button's number in the terminal: open this address
                self._print(_("Open {url}").format(url=button.url))
                return None
            text = "/" + button.command
        reply = await self.port.handle(self.request_for(text))
        if reply is not None:
            shown, buttons = await self._render(reply)
            if buttons:
                self._last_answer = self._numbered
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
        shown, _buttons = await self._render(alert.reply)  # numbers of its own: the answers' stay pressable
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

    def _read(self, secret: bool, prompt: str) -> str | None:
        """One line from the user (on the reader thread); None at the end of input."""
        if secret and self.read_secret is not None:
            return self.read_secret("")
        if self._terminal:
            try:
                return input(prompt) + "\n"
            except EOFError:
                return None
        if prompt:
            self.stdout.write(prompt)
            self.stdout.flush()
        return self.stdin.readline() or None

    async def _read_line(self, secret: bool) -> str | None:
        """Read on a daemon thread: a read blocked on the terminal never holds up the exit (Ctrl-C is at once)."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str | None] = loop.create_future()
        # Translators: the console's input prompt, shown as "you> " before each line the user types
        prompt = _("you") + "> " if self.interactive and not secret else ""

        def read() -> None:
            try:
                line = self._read(secret, prompt)
            except BaseException as error:  # handed to the loop, which raises it in the chat
                loop.call_soon_threadsafe(_settle, answer, None, error)
                return
            loop.call_soon_threadsafe(_settle, answer, line, None)

        self._prompt = prompt if prompt else None
        threading.Thread(target=read, name="gavel-console-input", daemon=True).start()
        try:
            return await answer
        finally:
            self._prompt = None

    async def run(self, *, linger: float = 0.0) -> None:
        """Read lines until end of input or /quit. ``linger`` keeps alerts flowing after piped input ends."""
        try:
            if self.interactive:
                self._print(_("Gavel console — type /help, or /quit to leave."))
            while True:
                pending = await self.port.pending_prompt(self.request_for(""))
                secret = bool(pending and pending.secret)
                line = await self._read_line(secret)
                if line is None or line.strip() in ("/quit", "/exit"):
                    break
                if not self.interactive and not secret:
                    self._print(_("you") + "> " + line.rstrip())
                await self.handle_line(line)
            if linger > 0:
                await asyncio.sleep(linger)
        finally:
            self.close()


def _settle(future: asyncio.Future[str | None], line: str | None, error: BaseException | None) -> None:
    if future.done():  # the chat was stopped while this read waited
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(line)


def _readline_buffer(terminal: bool) -> Callable[[], str]:
    """What the user has typed on the prompt's line so far (readline knows it on a real terminal)."""
    if terminal:
        try:
            import readline

            return readline.get_line_buffer
        except ImportError:  # Windows: no readline, the half-typed line is simply not redrawn
            pass
    return lambda: ""
