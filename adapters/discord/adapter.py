"""Gavel on Discord: slash commands from the registry, embeds, modals, restart-proof buttons, buyer roles, alerts.

One ``GavelClient`` (discord.py) per process, started inside the app's event loop. Every interaction becomes a
core ``Request``; every ``Reply`` goes back as an embed with a view of ``CommandButton``s. The slash tree is
pushed to Discord only when its hash changed since the last push (or on ``gavel discord-sync``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.http import HTTPClient

from adapters.discord.alerts import deliver_alert
from adapters.discord.cards import CARD_KIND, send_card
from adapters.discord.client import FORM_TIMEOUT_SECONDS, FormModal, GavelClient, Responder
from adapters.discord.connect import login_failure
from adapters.discord.endpoints import DiscordEndpoints
from adapters.discord.render import (
    CUSTOM_ID_TEMPLATE,
    EDIT_FLAG,
    PREFIX,
    TOKEN_PREFIX,
    Rendered,
    actions_needing_tokens,
    is_token_reference,
    render,
)
from adapters.discord.roles import describe_role, grant_role, is_privileged, role_problem
from adapters.discord.sync import sync_if_changed
from adapters.discord.tree import PLATFORM, populate_tree
from bot.core import wording
from bot.core.formatting import clip
from bot.core.i18n import N_, _
from bot.core.logs import add_secret
from bot.core.messages import Alert, Field, Outcome, Reply, Request, error_reply, split_command, warning_reply
from bot.core.pacing import Pacing
from bot.core.port import Port
from bot.core.registry import Command, Scope

if TYPE_CHECKING:
    from bot.core.config import Settings

log = logging.getLogger(__name__)

DEFER_AFTER_SECONDS = 2.0  # Discord drops an interaction not answered within 3 s
FORM_PREFIX = "gavel-form:"  # a modal's custom id names its command, so any process can take its submission
STALE_BUTTON = N_("This button belongs to an older message I can no longer act on. Run the command again (see /help).")
STALE_FORM = N_("That form expired before you sent it. Please run the command again.")
DISCORD_SLOW = N_("Discord did not answer in time. Please try again in a minute.")


def takes_private_input(command: Command) -> bool:
    """On Discord a modal plus an ephemeral reply is private even in a server: nobody else sees either."""
    return command.scope is Scope.PRIVATE or any(a.only_in_private for a in command.asked)


def _needs_form(command: Command, provided: set[str]) -> bool:
    """A password is only ever typed into a modal; other asked arguments only when missing."""
    return any(a.secret or a.name not in provided for a in command.asked)


class DiscordAdapter:
    """Runs the core for Discord interactions and delivers alerts; started and stopped by ``gavel run``."""

    platform = PLATFORM
    # Discord allows a bot 50 requests a second overall; its per-route buckets are discord.py's.
    pacing = Pacing(per_second=50, burst=50)

    def __init__(self, port: Port, settings: Settings, *, http: HTTPClient | None = None) -> None:
        self.port = port
        self.settings = settings
        self._http = http
        self.client = self._client(members=True)
        self._task: asyncio.Task[None] | None = None
        self._live_forms: dict[str, float] = {}  # modals open in this process (their own handler answers them)

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self, *, receive: bool = True) -> None:
        """Log in (StartFailed when that fails), then connect in a background task of the running loop.

        ``receive=False`` (a `gavel worker`): log in to the REST API only, to send alerts; no gateway.
        """
        if self.settings.discord_bot_token is None:
            raise ValueError("DISCORD_BOT_TOKEN is not set")
        token = self.settings.discord_bot_token.get_secret_value()
        add_secret(token)
        # discord.py logs every gateway event at DEBUG, a modal's password or purchase code included,
        # and every REST body: never below INFO, whatever LOG_LEVEL says.
        discord_log = logging.getLogger("discord")
        if discord_log.level < logging.INFO:  # its own level: a DEBUG root set later must not reach it
            discord_log.setLevel(logging.INFO)
        try:
            await self.client.login(token)  # GET /users/@me: the token and the way to Discord are tested here
        except Exception as error:
            failure = login_failure(error, self.settings)
            await self.client.close()
            self.client = self._client(members=True)  # a closed client cannot log in again: a retry gets a new one
            if failure is None:
                raise
            raise failure from None
        if not receive:
            return
        self._task = asyncio.create_task(self._run(token), name="gavel-discord")
        await asyncio.sleep(0)

    def _client(self, *, members: bool) -> GavelClient:
        shard = None
        if self.settings.discord_shard_count is not None:
            shard = (self.settings.discord_shard_id or 0, self.settings.discord_shard_count)
        client = GavelClient(
            self, http=self._http, members=members, endpoints=DiscordEndpoints.of(self.settings), shard=shard
        )
        populate_tree(client.tree, self.port.registry, self, guild_id=self.settings.discord_guild_id)
        return client

    async def _run(self, token: str) -> None:
        try:
            try:
                try:
                    await self.client.connect()  # logged in by start()
                finally:
                    await self.client.close()
            except discord.PrivilegedIntentsRequired:
                # Without the Server Members Intent all else works; only rejoining buyers wait for /verify.
                log.warning(
                    "Discord refused the Server Members Intent: enable it in the developer portal (Bot page) so "
                    "that buyers who leave and rejoin get their roles back at once; running without it"
                )
                self.client = self._client(members=False)
                async with self.client:
                    await self.client.start(token)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the Discord client stopped")

    async def stop(self) -> None:
        if not self.client.is_closed():
            await self.client.close()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
            self._task = None

    async def sync_if_changed(self) -> bool:
        """Push the slash tree only if it differs from the last one pushed (Discord rate-limits syncs)."""
        return await sync_if_changed(self.client.tree, self.port, self.settings.discord_guild_id)

    # --- requests in -----------------------------------------------------------------------------

    def _request(
        self,
        interaction: discord.Interaction,
        command: Command,
        *,
        options: dict[str, Any] | None = None,
        args: tuple[str, ...] = (),
    ) -> Request:
        guild_id = interaction.guild_id
        user = interaction.user
        return Request(
            platform=PLATFORM,
            user_id=str(user.id),
            chat_id=str(interaction.channel_id or user.id),
            command=command.name,
            args=args,
            options=options,
            is_private=guild_id is None or takes_private_input(command),
            display_name=user.display_name,
            place_id=str(guild_id) if guild_id else None,
            is_place_admin=bool(guild_id) and interaction.permissions.manage_roles,
            place_has_roles=bool(guild_id),
            asks_in_forms=True,
            language=interaction.locale.value,
        )

    async def run_slash(self, interaction: discord.Interaction, command: Command, options: dict[str, Any]) -> None:
        """A slash command: open its form if it needs one, else run it through the core and answer."""
        await self._speak(interaction)
        named: dict[str, Any] = {}
        for name, value in options.items():
            if isinstance(value, discord.Role):
                try:
                    named[name] = await describe_role(self.client, interaction, value.id)
                except (discord.HTTPException, discord.RateLimited) as error:
                    log.warning("could not look up role %s: %s", value.id, error)
                    await self.say(interaction, warning_reply(_(DISCORD_SLOW), ephemeral=True))
                    return
            elif isinstance(value, discord.User | discord.Member):
                named[name] = str(value.id)
            elif value is not None:
                named[name] = str(value)
        if _needs_form(command, set(named)):
            await interaction.response.send_modal(self._form(command, named))
            return
        await self._answer(interaction, command, self._request(interaction, command, options=named))

    async def press(self, interaction: discord.Interaction, reference: str) -> None:
        """A button: run what its stored token says, edit in place included, for whoever pressed it."""
        await self._speak(interaction)
        line, edit = await self._pressed(interaction, reference)
        name, args = split_command("/" + line) if line else (None, ())
        command = self.port.registry.find(name) if name else None
        if command is None:
            await self.say(interaction, warning_reply(_(STALE_BUTTON), ephemeral=True))
            return
        given = dict(zip((a.name for a in command.positional), args, strict=False))
        if _needs_form(command, set(given)):
            await interaction.response.send_modal(self._form(command, given))
            return
        await self._answer(interaction, command, self._request(interaction, command, args=args), edit=edit)

    async def _pressed(self, interaction: discord.Interaction, reference: str) -> tuple[str, bool]:
        """(command line, edits in place) of a press; ("", False) for one that runs nothing: a custom id that is not
        one of the buttons under its message, or a token this database does not know. An older message's command
        line (or token standing for one) still runs, and never edits: its flag was the client's to change."""
        if not _under(interaction.message, PREFIX + reference):
            return "", False
        line, edit = reference, False
        if is_token_reference(reference):
            action = await self.port.button_action(reference[len(TOKEN_PREFIX) :])
            if action is None:
                return "", False
            line, edit = action.command, action.edits
        if line.startswith(EDIT_FLAG):
            line, edit = line[len(EDIT_FLAG) :], False
        return line, edit

    async def submit_form(self, interaction: discord.Interaction, command: Command, values: dict[str, Any]) -> None:
        await self._answer(interaction, command, self._request(interaction, command, options=values))

    async def _speak(self, interaction: discord.Interaction) -> None:
        """What is said before the core answers (a form, a stale button) is in the user's language too."""
        user = str(interaction.user.id)
        chat = str(interaction.channel_id or user)
        await self.port.speak_to(Request(PLATFORM, user, chat, language=interaction.locale.value))

    def _form(self, command: Command, given: dict[str, Any]) -> FormModal:
        modal = FormModal(self, command, given)
        modal.custom_id = f"{FORM_PREFIX}{command.name}:{modal.custom_id}"[:100]
        now = time.monotonic()
        self._live_forms = {cid: until for cid, until in self._live_forms.items() if until > now}
        self._live_forms[modal.custom_id] = now + FORM_TIMEOUT_SECONDS
        return modal

    async def answer_stray(self, interaction: discord.Interaction) -> None:
        """Components and forms no live handler claimed: an older bot's buttons, or a form from before a restart
        (its custom id names its command, so it still runs, on any process)."""
        await self._speak(interaction)
        data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
        custom_id = str(data.get("custom_id", ""))
        if interaction.type is discord.InteractionType.component and not CUSTOM_ID_TEMPLATE.fullmatch(custom_id):
            await self.say(interaction, warning_reply(_(STALE_BUTTON), ephemeral=True))
        elif interaction.type is discord.InteractionType.modal_submit and custom_id not in self._live_forms:
            name = custom_id[len(FORM_PREFIX) :].split(":", 1)[0] if custom_id.startswith(FORM_PREFIX) else ""
            command = self.port.registry.find(name) if name else None
            if command is None:
                await self.say(interaction, warning_reply(_(STALE_FORM), ephemeral=True))
                return
            values = {
                field["custom_id"]: str(field.get("value", "")).strip()
                for row in data.get("components", [])
                for field in row.get("components", [])
            }
            await self.submit_form(interaction, command, values)

    # --- replies out -----------------------------------------------------------------------------

    async def _answer(
        self, interaction: discord.Interaction, command: Command, request: Request, *, edit: bool = False
    ) -> None:
        """Run the request within Discord's 3-second window: defer first when the core may be slower."""
        ephemeral = command.ephemeral or command.private or takes_private_input(command)
        responder = Responder(interaction)
        try:
            if command.slow:
                await responder.defer(edit=edit, ephemeral=ephemeral)
            task = asyncio.ensure_future(self.port.handle(request))
            if not responder.deferred:
                done, _pending = await asyncio.wait({task}, timeout=DEFER_AFTER_SECONDS)  # ``_`` translates
                if not done:
                    await responder.defer(edit=edit, ephemeral=ephemeral)
            reply = await task or Reply(_("Done."))
            reply = await self._carry_out(interaction, reply)
            if edit and reply.outcome is Outcome.ERROR:
                edit = False  # keep the page; show the problem to the presser only
            hidden = ephemeral or reply.ephemeral or reply.private
            await responder.deliver(await self._render(reply), edit=edit, ephemeral=hidden)
        except discord.HTTPException as error:
            log.warning("could not answer /%s on Discord: %s", command.name, error)
        except Exception:
            await self.say(interaction, error_reply(wording.internal_error(log, f"answering /{command.name}")))

    async def say(self, interaction: discord.Interaction, reply: Reply) -> None:
        """Answer an interaction with a reply that needs no command (errors, stale buttons)."""
        try:
            await Responder(interaction).deliver(await self._render(reply), edit=False, ephemeral=True)
        except discord.HTTPException as error:
            log.warning("could not answer a Discord interaction: %s", error)

    async def _render(self, reply: Reply, *, mention_user_id: str | None = None) -> Rendered:
        tokens = await self.port.button_tokens(actions_needing_tokens(reply))
        me = self.client.user
        return render(
            reply,
            tokens.__getitem__,
            mention_user_id=mention_user_id,
            private_chat_url=f"https://discord.com/users/{me.id}" if me else None,
        )

    async def _carry_out(self, interaction: discord.Interaction, reply: Reply) -> Reply:
        """Grant the roles a reply hands out, and check the ones a setup reply will hand out later."""
        guild_id = interaction.guild_id
        if guild_id is None or not (reply.grants or reply.grant_checks):
            return reply
        here = [g for g in reply.grants if g.platform == PLATFORM and g.place_id == str(guild_id)]
        for grant in here:
            problem = await grant_role(self.client, interaction, grant)
            if problem is None:
                # Translators: a field's name: the server role the buyer was just given
                field = Field(_("Role"), _("You now have {role}.").format(role=f"<@&{grant.target_id}>"))
                reply = replace(reply, fields=(*reply.fields, field))
            else:
                # Translators: {role} shows the role's name; {problem} is a reason from the list of role problems
                warning = _(
                    "I could not give you the {role} role: {problem}. "
                    "Please tell a server admin; once it is fixed, run /verify again to get the role."
                ).format(role=f"<@&{grant.target_id}>", problem=problem)
                reply = replace(reply, text=f"{reply.text}\n\n⚠ {warning}".strip(), outcome=Outcome.WARNING)
        for check in reply.grant_checks:
            if check.platform != PLATFORM or check.place_id != str(guild_id) or not check.target_id.isdigit():
                continue
            problem = await role_problem(self.client, guild_id, int(check.target_id), interaction.app_permissions)
            if problem:
                warning = _("Buyers will not get the role until this is fixed: {problem}.").format(problem=problem)
                reply = replace(reply, text=f"{reply.text}\n\n⚠ {warning}".strip(), outcome=Outcome.WARNING)
        return reply

    async def complete(
        self, interaction: discord.Interaction, source: str, current: str
    ) -> list[app_commands.Choice[Any]]:
        """Suggestions for an option, from the core's port (which never raises)."""
        found = await self.port.suggestions(source, PLATFORM, str(interaction.user.id), current)
        return [app_commands.Choice(name=clip(s.label, 100), value=s.value) for s in found]

    async def welcome_back(self, member: discord.Member) -> None:
        """A verified buyer who left and rejoins gets the roles their purchases unlock here at once."""
        guild_id = member.guild.id
        targets = await self.port.entitled_targets(PLATFORM, str(guild_id), str(member.id))
        if not targets:
            return
        try:
            roles = {r["id"]: r for r in await self.client.http.get_roles(guild_id)}
        except (discord.HTTPException, discord.RateLimited) as error:
            log.warning("could not read the roles of guild %s for a rejoining buyer: %s", guild_id, error)
            return
        for role_id in (t for t in targets if t in roles and not is_privileged(roles[t])):
            try:
                await self.client.http.add_role(
                    guild_id, member.id, int(role_id), reason="Gavel: verified buyer rejoined"
                )
            except (discord.HTTPException, discord.RateLimited) as error:
                log.warning("could not give role %s back to %s in guild %s: %s", role_id, member.id, guild_id, error)

    # --- alerts ----------------------------------------------------------------------------------

    async def send(self, alert: Alert) -> str | None:
        """Push an alert: by DM, or in the watch's channel when DMs are closed (see alerts.py); a live card is
        posted in its channel, then edited in place (see cards.py), and its message id goes back."""
        if alert.kind == CARD_KIND:
            return await send_card(self.client, alert, self._render)
        await deliver_alert(self.client, alert, self._render)
        return None


def _under(message: discord.Message | None, custom_id: str) -> bool:
    """Whether ``custom_id`` is one of the buttons under ``message`` (a press carries its message; without one,
    nothing is checked)."""
    if message is None:
        return True
    return any(
        getattr(child, "custom_id", None) == custom_id
        for row in message.components
        for child in getattr(row, "children", (row,))
    )
