"""The core: one entry point from a Request to a Reply, with scope checks, argument parsing and conversations."""

from __future__ import annotations

import difflib
import logging
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.errors import GavelError, NotAllowed, UserInputError, user_message
from bot.messages import Button, Prompt, Reply, Request, RoleChoice, error_reply, warning_reply
from bot.port import AdapterPort
from bot.registry import ArgKind, Command, Registry, Scope
from bot.services import Services

log = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 4096
MAX_ARGUMENT_LENGTH = 1000
WHOLE_NUMBER = re.compile(r"-?\d+")  # \d: the decimal digits int() reads, any script's
CONVERSATION_TIMEOUT = timedelta(minutes=5)
# A password may still arrive this long after its prompt timed out: such a message is deleted all the same.
SECRET_GRACE = timedelta(minutes=30)
PASSWORD_LEFT_VISIBLE = (
    "⚠ I could not delete your message with the password. Delete it yourself now, "
    "and change your Auctionity password: others may have seen it."
)
CODE_LEFT_VISIBLE = (
    "⚠ I could not delete your message with the purchase code, so everyone here can read it. "
    "Delete it now (an admin must give me the right to delete messages for me to do it)."
)


@dataclass
class Conversation:
    """A command collecting its form one message at a time (``login``: email, then password)."""

    command: Command
    request: Request
    expires_at: datetime
    values: dict[str, str] = field(default_factory=dict)

    def next_field(self) -> Any:
        return next((f for f in self.command.form if f.name not in self.values), None)


class Core:
    """Routes requests to commands. Knows nothing about any chat platform."""

    def __init__(self, registry: Registry, services: Services) -> None:
        self.registry = registry
        self.services = services
        self.port = AdapterPort(services)
        self.conversations: dict[tuple[str, str, str], Conversation] = {}

    async def handle(self, request: Request) -> Reply | None:
        """Answer one request. Never raises: every failure becomes a polite Reply."""
        warning = self.secret_warning(request)
        try:
            reply = await self._route(request)
        except GavelError as error:
            reply = error_reply(user_message(error), ephemeral=True)
            reply = replace(reply, open_private_chat=bool(error.details.get("open_private_chat")))
        except Exception:
            reference = secrets.token_hex(3)
            log.exception("command %s failed (ref %s)", request.command, reference)
            reply = error_reply(f"Something went wrong on my side. Please try again later (ref {reference}).")
        if warning is not None:
            reply = reply or Reply()
            reply = replace(reply, text="\n\n".join(t for t in (reply.text, warning) if t))
        return reply

    def pending_prompt(self, request: Request) -> Prompt | None:
        """The prompt the user is answering right now, if any (adapters hide secret answers)."""
        conversation = self.conversations.get(self._key(request))
        if conversation is None or conversation.expires_at < self.services.now():
            return None
        pending = conversation.next_field()
        return Prompt(pending.name, secret=pending.secret) if pending else None

    def secret_warning(self, request: Request) -> str | None:
        """What to tell a user whose secret the adapter could not delete (None when there is nothing to say)."""
        if not request.secret_left_visible:
            return None
        kind = self._secret_kind(request)
        if kind is None:
            return None
        return PASSWORD_LEFT_VISIBLE if kind == "password" else CODE_LEFT_VISIBLE

    def hides_secret(self, request: Request) -> bool:
        """Whether the message behind ``request`` must disappear from the chat before anything else happens.

        A password (the answer to a password prompt, even a late one or one that starts with "/", or a
        password typed after a command), and a purchase code typed where others can read it.
        """
        return self._secret_kind(request) is not None

    def _secret_kind(self, request: Request) -> str | None:
        if self._awaits_secret(request):
            return "password"
        command = self.registry.find(request.command) if request.command else None
        if command is None or not request.args:
            return None
        if any(field.secret for field in command.form):
            return "password"
        if not request.is_private and any(argument.kind is ArgKind.CODE for argument in command.args):
            return "code"
        return None

    def _awaits_secret(self, request: Request) -> bool:
        """A secret prompt is open in this chat, or timed out so recently that its answer may still come."""
        conversation = self.conversations.get(self._key(request))
        if conversation is None:
            return False
        pending = conversation.next_field()
        now = self.services.now()
        if conversation.expires_at + SECRET_GRACE < now:
            del self.conversations[self._key(request)]
            return False
        return pending is not None and pending.secret

    @staticmethod
    def _key(request: Request) -> tuple[str, str, str]:
        return (request.platform, request.chat_id, request.user_id)

    async def _route(self, request: Request) -> Reply | None:
        if len(request.text) > MAX_MESSAGE_LENGTH or any(len(a) > MAX_MESSAGE_LENGTH for a in request.args):
            raise UserInputError(f"That message is too long (the limit is {MAX_MESSAGE_LENGTH} characters).")
        key = self._key(request)
        if request.command is None:
            conversation = self.conversations.get(key)
            if conversation is not None:
                return await self._continue(conversation, request)
            if request.is_private:
                return Reply("I answer commands. Send /help to see them all.")
            return None  # group chatter is not for us

        name = request.command.lower().lstrip("/")
        command = self.registry.find(name)
        conversation = self.conversations.get(key)
        if command is None and conversation is not None and self._awaits_secret(request):
            # "/hunter2" answering a password prompt is a password, not a command to complain about.
            return await self._continue(conversation, request)
        if command is None:
            return self._unknown(name)
        abandoned = self.conversations.pop(key, None)  # a new command abandons any open conversation
        if command.name == "cancel":
            return Reply("Cancelled." if abandoned else "There is nothing to cancel.", ephemeral=True)
        self._check_scope(command, request)
        if request.options is None:
            values = self._parse_args(command, request.args)
        else:
            values = self._parse_options(command, request.options)
        request = replace(request, command=command.name, values=values)
        if command.form:
            form = request.form if request.form is not None else self._form_from_args(command, request)
            if form is None:
                return self._start(command, request)
            request = replace(request, form=form)
        return await self._run(command, request)

    async def _run(self, command: Command, request: Request) -> Reply:
        reply = await command.handler(request, self.services)
        if command.private:
            reply = replace(reply, private=True, ephemeral=True)
        elif command.ephemeral and not reply.ephemeral:
            reply = replace(reply, ephemeral=True)
        return reply

    def _unknown(self, name: str) -> Reply:
        names = [c.name for c in self.registry.visible()]
        close = difflib.get_close_matches(name[:40], names, n=1)
        hint = f" Did you mean /{close[0]}?" if close else ""
        reply = warning_reply(f"I don't know the command /{name[:40]}.{hint} Send /help to see them all.")
        return reply.with_buttons([Button(f"/{close[0]}", close[0])] if close else [Button("Help", "help")])

    def _check_scope(self, command: Command, request: Request) -> None:
        settings = self.services.settings
        if command.scope is Scope.ADMIN and not settings.is_admin(request.who):
            raise NotAllowed("Only the bot's admins can use this command.")
        if command.needs_place and request.place_id is None:
            raise NotAllowed("This command only works inside a server or group, not in a private chat.")
        if command.scope is Scope.MANAGER and not (request.is_place_admin or settings.is_admin(request.who)):
            raise NotAllowed("Only an admin of this server or group can use this command.")
        if command.scope is Scope.PRIVATE and not request.is_private:
            raise _private_only(command)

    def _parse_args(self, command: Command, args: tuple[str, ...]) -> dict[str, Any]:
        args = tuple(a.strip() for a in args)
        spec = command.args
        if spec and spec[-1].rest and len(args) > len(spec):
            args = (*args[: len(spec) - 1], " ".join(args[len(spec) - 1 :]))
        if len(args) > len(spec):
            raise UserInputError(f"Too many arguments. Usage: {command.usage}")
        values: dict[str, Any] = {}
        for position, argument in enumerate(spec):
            if position >= len(args):
                if argument.required and not command.form:
                    raise UserInputError(f"Missing <{argument.name}>: {argument.help}. Usage: {command.usage}")
                continue
            raw = args[position]
            if len(raw) > MAX_ARGUMENT_LENGTH and argument.kind is not ArgKind.CODE:
                raise UserInputError(f"<{argument.name}> is too long. Usage: {command.usage}")
            values[argument.name] = self._convert(command, argument, raw)
        return values

    def _parse_options(self, command: Command, options: dict[str, str]) -> dict[str, Any]:
        """Arguments given by name (Discord's slash options): any optional one may be left out, not only the last."""
        values: dict[str, Any] = {}
        for argument in command.args:
            given = options.get(argument.name)
            if isinstance(given, RoleChoice):  # resolved by the adapter: already typed
                values[argument.name] = given
                continue
            raw = str(given if given is not None else "").strip()
            if not raw:
                if argument.required and not command.form:
                    raise UserInputError(f"Missing <{argument.name}>: {argument.help}. Usage: {command.usage}")
                continue
            if len(raw) > MAX_ARGUMENT_LENGTH and argument.kind is not ArgKind.CODE:
                raise UserInputError(f"<{argument.name}> is too long. Usage: {command.usage}")
            values[argument.name] = self._convert(command, argument, raw)
        return values

    @staticmethod
    def _convert(command: Command, argument: Any, raw: str) -> Any:
        if argument.kind is ArgKind.INTEGER:
            text = raw.replace("_", "").replace(",", "")
            # Not str.isdigit: it admits "²" and, after lstrip, "--5", which int() refuses.
            if not WHOLE_NUMBER.fullmatch(text) or len(text) > 18:
                raise UserInputError(f"<{argument.name}> must be a whole number, not {raw[:30]!r}.")
            number = int(text)
            low, high = argument.min_value, argument.max_value
            if (low is not None and number < low) or (high is not None and number > high):
                bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
                raise UserInputError(f"<{argument.name}> must be {bounds}.")
            return number
        if argument.kind is ArgKind.ROLE:
            return RoleChoice(raw.strip("<@&>"))  # typed, not looked up: commands trust only resolved roles
        if argument.choices and raw.lower() not in argument.choices:
            raise UserInputError(f"<{argument.name}> must be one of: {', '.join(argument.choices)}.")
        return raw.lower() if argument.choices else raw

    @staticmethod
    def _form_from_args(command: Command, request: Request) -> dict[str, str] | None:
        """Forms with no secret field may be filled from the arguments (``/verify CODE``)."""
        if any(f.secret for f in command.form):
            return None
        names = [f.name for f in command.form]
        if all(name in request.values for name in names):
            return {name: str(request.values[name]) for name in names}
        return None

    def _start(self, command: Command, request: Request) -> Reply:
        if any(f.only_in_private for f in command.form) and not request.is_private:
            raise _private_only(command)
        conversation = Conversation(command, request, self.services.now() + CONVERSATION_TIMEOUT)
        self.conversations[self._key(request)] = conversation
        return self._ask(conversation)

    def _ask(self, conversation: Conversation) -> Reply:
        pending = conversation.next_field()
        hint = " (I delete your message as soon as I have read it.)" if pending.secret else ""
        return Reply(
            text=f"{pending.prompt}{hint}\nSend /cancel to stop.",
            prompt=Prompt(pending.name, secret=pending.secret, timeout_seconds=int(CONVERSATION_TIMEOUT.seconds)),
            ephemeral=True,
        )

    async def _continue(self, conversation: Conversation, request: Request) -> Reply:
        key = self._key(request)
        if conversation.expires_at < self.services.now():
            del self.conversations[key]
            return warning_reply(f"That took too long, so I stopped. Send /{conversation.command.name} to start again.")
        pending = conversation.next_field()
        answer = request.text.strip()
        if not answer and request.command:  # an answer that starts with "/" (see _route)
            answer = " ".join(("/" + request.command, *request.args))
        if not answer or len(answer) > pending.max_length:
            return warning_reply(f"That does not look right. {pending.prompt}")
        conversation.values[pending.name] = answer
        if conversation.next_field() is not None:
            return self._ask(conversation)
        del self.conversations[key]
        start = replace(conversation.request, form=dict(conversation.values))
        return await self._run(conversation.command, start)


def _private_only(command: Command) -> GavelError:
    error = NotAllowed(f"For your safety I only do /{command.name} in a private chat. Message me directly.")
    error.details["open_private_chat"] = True
    return error
