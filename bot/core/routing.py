"""The core: one entry point from a Request to a Reply, with scope checks, argument parsing and conversations."""

from __future__ import annotations

import difflib
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bot.core import i18n, metrics, wording
from bot.core.arguments import convert, looks_like_code
from bot.core.conversations import Conversation, Conversations
from bot.core.errors import GavelError, NotAllowed, UserInputError
from bot.core.i18n import N_, _
from bot.core.messages import Button, Outcome, Prompt, Reply, Request, error_reply, warning_reply
from bot.core.registry import ArgKind, Argument, Command, Scope
from storage.crypto import UndecryptableSecret
from storage.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 4096
PASSWORD_LEFT_VISIBLE = N_(
    "⚠ I could not delete your message with the password. Delete it yourself now, "
    "and change your Auctionity password: others may have seen it."
)
CODE_TAKEN_AWAY = N_(
    "I deleted your message in the group: it held what looks like a purchase code, which anyone there could copy. "
    "To verify a purchase, send /verify <purchase code> here, in our private chat."
)
CODE_LEFT_VISIBLE = N_(
    "⚠ I could not delete your message with the purchase code, so everyone here can read it. "
    "Delete it now (an admin must give me the right to delete messages for me to do it)."
)


class Core:
    """Routes requests to commands. Knows nothing about any chat platform."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.registry = services.registry
        self.languages = services.languages
        self.conversations = Conversations(services, self.registry.find)

    async def handle(self, request: Request) -> Reply | None:
        """Answer one request, in the asker's language. Never raises: every failure becomes a polite Reply."""
        try:
            await self.speak_to(request)
            warning = await self.secret_warning(request)
            if self._stray_code(request):
                reply: Reply | None = Reply(_(CODE_TAKEN_AWAY), outcome=Outcome.WARNING, private=True, ephemeral=True)
            elif request.edited:
                reply = None  # an edit never runs a command (a fixed typo must not bid twice)
            else:
                reply = await self._route(request)
        except GavelError as error:
            reply = error_reply(wording.user_message(error), ephemeral=True)
            return replace(reply, open_private_chat=bool(error.details.get("open_private_chat")))
        except DatabaseUnavailable:
            return error_reply(_(wording.DATABASE_DOWN), ephemeral=True)
        except UndecryptableSecret:
            return error_reply(_(wording.SECRET_UNREADABLE), ephemeral=True)
        except Exception:
            return error_reply(wording.internal_error(log, f"command {request.command}"))
        if warning is not None:
            reply = reply or Reply()
            reply = replace(reply, text="\n\n".join(t for t in (reply.text, warning) if t))
        return reply

    # --- what adapters ask before and around handle() ---------------------------------------------------

    async def speak_to(self, request: Request) -> str:
        """Answer in the asker's language from here to the end of this task (adapters' own words included)."""
        try:
            language = await self.languages.for_request(request)
        except DatabaseUnavailable:  # the choice is unreadable for now: their platform's language will do
            language = self.languages.pick(request.language)
        i18n.use(language)
        return language

    async def pending_prompt(self, request: Request) -> Prompt | None:
        """The prompt the user is answering right now, if any (adapters hide secret answers)."""
        conversation = await self.conversations.get(request)
        if conversation is None or conversation.expired(self.services.now()):
            return None
        return conversation.prompt()

    async def hides_secret(self, request: Request) -> bool:
        """Whether the message behind ``request`` must disappear from the chat before anything else happens.

        A password (the answer to a password prompt, even a late one or one that starts with "/", or a
        password typed after a command), and a purchase code typed where others can read it.
        """
        return await self._secret_kind(request) is not None

    async def secret_warning(self, request: Request) -> str | None:
        """What to tell a user whose secret the adapter could not delete (None when there is nothing to say)."""
        if not request.secret_left_visible:
            return None
        kind = await self._secret_kind(request)
        if kind is None:
            return None
        return _(PASSWORD_LEFT_VISIBLE) if kind == "password" else _(CODE_LEFT_VISIBLE)

    async def _secret_kind(self, request: Request) -> str | None:
        """Decided on the request as it will be routed (``/start verify <code>`` is /verify's)."""
        conversation = await self.conversations.get(request)
        if conversation is not None and conversation.awaits_secret(self.services.now()):
            return "password"
        command, routed = self._resolve(request)
        if command is not None and routed.args and any(argument.secret for argument in command.args):
            return "password"
        if request.is_private:
            return None
        if command is not None and routed.args and _takes_code(command):
            return "code"
        # Whatever else it is (chatter, an edit, a mistyped command), a code there is for everyone to copy.
        return "code" if self._holds_code(request) else None

    def _stray_code(self, request: Request) -> bool:
        """A code in a group message that no command here takes: the message is deleted, the user told privately."""
        if request.is_private or not self._holds_code(request):
            return False
        command, routed = self._resolve(request)
        return request.edited or command is None or not (routed.args and _takes_code(command))

    @staticmethod
    def _holds_code(request: Request) -> bool:
        return looks_like_code(" ".join((request.text, *request.args)))

    def _resolve(self, request: Request) -> tuple[Command | None, Request]:
        """The command a request runs, and the request as it reaches it: ``/start <command> …`` (a deep link into
        the private chat) is that command's, ``/autobid off …`` is /autobid_off's."""
        if request.command is None:
            return None, request
        command = self.registry.find(request.command.lower().lstrip("/"))
        if command is not None and command.name == "start" and request.args:
            linked = self.registry.find(request.args[0])
            if linked is not None and linked.deep_link:  # a link into the private chat lands in that flow
                command, request = linked, replace(request, command=linked.name, args=request.args[1:])
        if command is not None and request.args:
            sub = dict(command.subcommands).get(request.args[0].strip().lower())
            if sub is not None and (found := self.registry.find(sub)) is not None:
                command, request = found, replace(request, command=found.name, args=request.args[1:])
        return command, request

    # --- routing ----------------------------------------------------------------------------------------

    async def _route(self, request: Request) -> Reply | None:
        if len(request.text) > MAX_MESSAGE_LENGTH or any(len(a) > MAX_MESSAGE_LENGTH for a in request.args):
            raise UserInputError("message_too_long", limit=MAX_MESSAGE_LENGTH)
        conversation = await self.conversations.get(request)
        if request.command is None:
            if conversation is not None:
                return await self._continue(conversation, request)
            if request.is_private:
                return Reply(_("I answer commands. Send /help to see them all."))
            return None  # group chatter is not for us

        name = request.command.lower().lstrip("/")
        command, request = self._resolve(request)
        if command is None and conversation is not None and conversation.awaits_secret(self.services.now()):
            # "/hunter2" answering a password prompt is a password, not a command to complain about.
            return await self._continue(conversation, request)
        if command is None:
            return self._unknown(name)
        abandoned = conversation is not None and await self.conversations.end(request)
        if command.name == "cancel":
            return Reply(_("Cancelled.") if abandoned else _("There is nothing to cancel."), ephemeral=True)
        self._check_scope(command, request)
        raw = self._raw_arguments(command, request)
        missing = [a for a in command.asked if a.name not in raw]
        if missing and command.when_missing is not None:
            # The command may answer without the missing arguments (/verify re-sends a buyer's links).
            instead = await command.when_missing(replace(request, command=command.name), self.services)
            if instead is not None:
                return instead
        if missing:
            if any(a.only_in_private for a in missing) and not request.is_private:
                raise _private_only(command)
            self._convert(command, raw)  # a bad argument already given is said before any question
            # A password given beside a missing answer is asked for again rather than stored.
            kept = {name: value for name, value in raw.items() if not _is_secret(command, name)}
            conversation = await self.conversations.save(request, command, kept)
            return self._ask(conversation)
        return await self._run(command, request, self._convert(command, raw))

    async def _run(self, command: Command, request: Request, values: dict[str, Any]) -> Reply:
        with metrics.command_run(command.name):
            reply = await command.handler(replace(request, command=command.name, values=values), self.services)
        if command.private:
            reply = replace(reply, private=True, ephemeral=True)
        elif command.ephemeral and not reply.ephemeral:
            reply = replace(reply, ephemeral=True)
        return reply

    def _unknown(self, name: str) -> Reply:
        names = [c.name for c in self.registry.visible()]
        close = difflib.get_close_matches(name[:40], names, n=1)
        if close:
            text = _("I don't know the command /{name}. Did you mean /{close}? Send /help to see them all.")
            reply = warning_reply(text.format(name=name[:40], close=close[0]))
            return reply.with_buttons([Button(f"/{close[0]}", close[0])])
        reply = warning_reply(_("I don't know the command /{name}. Send /help to see them all.").format(name=name[:40]))
        # Translators: a button label: shows the list of commands
        return reply.with_buttons([Button(_("Help"), "help")])

    def _check_scope(self, command: Command, request: Request) -> None:
        settings = self.services.settings
        if command.scope is Scope.ADMIN and not settings.is_admin(request.who):
            raise NotAllowed("admins_only")
        if command.needs_place and request.place_id is None:
            raise NotAllowed("needs_place")
        if command.scope is Scope.MANAGER and not (request.is_place_admin or settings.is_admin(request.who)):
            raise NotAllowed("managers_only")
        if command.scope is Scope.PRIVATE and not request.is_private:
            raise _private_only(command)

    # --- arguments: gathered from words and named options, then converted once -----------------------

    def _raw_arguments(self, command: Command, request: Request) -> dict[str, Any]:
        """Every argument given, by name, still raw: typed words, then named options (slash options, forms)."""
        raw: dict[str, Any] = {}
        names = {argument.name for argument in command.positional}
        # "expire=support" names its argument; every other word takes the next place in line.
        named = dict(w.strip().split("=", 1) for w in request.args if w.strip().split("=", 1)[0] in names and "=" in w)
        words = tuple(a.strip() for a in request.args if not ("=" in a and a.strip().split("=", 1)[0] in names))
        raw.update({name: value for name, value in named.items()})
        spec = tuple(a for a in command.positional if a.name not in named)
        if spec and spec[-1].rest and len(words) > len(spec):
            words = (*words[: len(spec) - 1], " ".join(words[len(spec) - 1 :]))
        if len(words) > len(spec):
            raise UserInputError("too_many_arguments", usage=command.usage)
        raw.update({argument.name: word for argument, word in zip(spec, words, strict=False)})
        for argument in command.args:
            given = (request.options or {}).get(argument.name)
            if given is not None and (not isinstance(given, str) or given.strip() or argument.secret):
                raw[argument.name] = given
        for argument in command.args:
            value = raw.get(argument.name)
            if isinstance(value, str) and len(value) > argument.max_length:
                raise UserInputError("argument_too_long", argument=argument.name, usage=command.usage)
        return raw

    def _convert(self, command: Command, raw: dict[str, Any]) -> dict[str, Any]:
        now = self.services.now()
        values: dict[str, Any] = {}
        for index, argument in enumerate(command.args):
            if argument.name in raw:
                try:
                    values[argument.name] = convert(argument, raw[argument.name], now)
                except UserInputError as error:
                    raise _maybe_unquoted_name(error, command.args[:index], raw) from None
            elif argument.required and not argument.asked:
                raise UserInputError("missing", argument=argument.name, help=argument.help, usage=command.usage)
        return values

    # --- conversations ----------------------------------------------------------------------------------

    def _ask(self, conversation: Conversation) -> Reply:
        pending = conversation.next_argument()
        assert pending is not None and pending.prompt is not None
        text = _(pending.prompt) + "\n" + _("Send /cancel to stop.")
        return Reply(text=text, prompt=conversation.prompt(), ephemeral=True)

    async def _continue(self, conversation: Conversation, request: Request) -> Reply:
        command = conversation.command
        if conversation.expired(self.services.now()):
            await self.conversations.end(request)
            text = _("That took too long, so I stopped. Send /{command} to start again.")
            return warning_reply(text.format(command=command.name))
        pending = conversation.next_argument()
        if pending is None:  # nothing left to ask (the command changed under us): start again
            await self.conversations.end(request)
            return warning_reply(_("Send /{command} to start again.").format(command=command.name))
        answer = _answer_text(request, pending)
        try:
            if not answer or len(answer) > pending.max_length:
                raise UserInputError("answer_not_right", prompt=pending.prompt)
            convert(pending, answer, self.services.now())  # said now, while the user is still answering
        except UserInputError as error:
            return warning_reply(wording.user_message(error) + "\n" + _(pending.prompt))
        answers = {**conversation.answers, pending.name: answer}
        if Conversation(command, answers, conversation.expires_at).next_argument() is not None:
            return self._ask(await self.conversations.save(request, command, answers))
        await self.conversations.end(request)
        start = replace(request, command=command.name, args=(), options=None)
        return await self._run(command, start, self._convert(command, answers))


def _answer_text(request: Request, pending: Argument) -> str:
    """The answer as sent; "/word" answering a password prompt is that whole line."""
    text = request.text
    if request.command and not text:
        text = " ".join(("/" + request.command, *request.args))
    return text.strip()


def _takes_code(command: Command) -> bool:
    return any(argument.kind is ArgKind.CODE for argument in command.args)


def _maybe_unquoted_name(error: UserInputError, before: tuple[Argument, ...], raw: dict[str, Any]) -> UserInputError:
    """``/newauction Old lamp 150``: "lamp" is no number because the name needed quotes; say that instead."""
    names = [a for a in before if a.kind is ArgKind.NAME and isinstance(raw.get(a.name), str)]
    if error.code == "not_whole_number" and names and " " not in raw[names[-1].name].strip():
        return UserInputError("name_needs_quotes", value=error.details.get("value", ""))
    return error


def _is_secret(command: Command, name: str) -> bool:
    return any(argument.secret for argument in command.args if argument.name == name)


def _private_only(command: Command) -> GavelError:
    return NotAllowed("private_only", command=command.name, open_private_chat=True)
