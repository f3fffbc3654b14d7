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
from typing import Any

import discord
from discord import app_commands
from discord.http import HTTPClient

from adapters.discord.alerts import deliver_alert
from adapters.discord.render import (
    CUSTOM_ID_TEMPLATE,
    EDIT_FLAG,
    TOKEN_PREFIX,
    CommandButton,
    Rendered,
    clip,
    is_token_reference,
    render,
)
from adapters.discord.roles import describe_role, grant_role, role_problem
from adapters.discord.tree import PLATFORM, describe_tree, populate_tree, slash_name, tree_hash
from bot.config import Settings
from bot.core import Core
from bot.messages import Alert, Field, Outcome, Reply, Request, error_reply, split_command, warning_reply
from bot.registry import Command, Registry, Scope
from storage import repo

log = logging.getLogger(__name__)

TREE_HASH_KEY = "discord.command_tree_hash"
CATALOGUE_TTL_SECONDS = 60.0
DEFER_AFTER_SECONDS = 2.0  # Discord drops an interaction not answered within 3 s
FORM_TIMEOUT_SECONDS = 600.0
MAX_RATELIMIT_WAIT = 30.0  # longer waits surface as RetryLater so the dispatcher's backoff takes over

STALE_BUTTON = "This button belongs to an older message I can no longer act on. Run the command again (see /help)."
STALE_FORM = "That form expired before you sent it. Please run the command again."
TREE_CHANGED = "My commands were just updated. Please try again in a minute."
DISCORD_SLOW = "Discord did not answer in time. Please try again in a minute."


def takes_private_input(command: Command) -> bool:
    """On Discord a modal plus an ephemeral reply is private even in a server: nobody else sees either."""
    return command.scope is Scope.PRIVATE or any(f.secret for f in command.form)


def _needs_form(command: Command, provided: set[str]) -> bool:
    if not command.form:
        return False
    return any(f.secret for f in command.form) or any(f.name not in provided for f in command.form)


class GavelTree(app_commands.CommandTree["GavelClient"]):
    """The command tree; failures before our callback (stale commands) still get a polite answer."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        stale = isinstance(error, (app_commands.CommandNotFound, app_commands.CommandSignatureMismatch))
        if not stale:
            log.error("slash command failed", exc_info=error)
        if self.client.gavel is not None:
            text = TREE_CHANGED if stale else "Something went wrong on my side. Please try again in a minute."
            await self.client.gavel.say(interaction, warning_reply(text, ephemeral=True))


class GavelClient(discord.Client):
    """discord.py's client wired to one adapter; ``http`` may be replaced (tests record calls there)."""

    def __init__(self, adapter: DiscordAdapter | None, *, http: HTTPClient | None = None) -> None:
        super().__init__(
            # Interactions need no privileged intents; the guilds intent keeps discord.py's guild cache sane.
            intents=discord.Intents(guilds=True),
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
        )
        if http is not None:
            self.http = http
            self._connection.http = http
        self.gavel = adapter
        self.tree = GavelTree(self)

    async def setup_hook(self) -> None:
        # Buttons on any message, however old, are parsed from their custom id: nothing to restore.
        self.add_dynamic_items(CommandButton)
        if self.gavel is not None:
            await self.gavel.sync_if_changed()

    async def press(self, interaction: discord.Interaction, reference: str) -> None:
        if self.gavel is not None:
            await self.gavel.press(interaction, reference)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if self.gavel is not None:
            await self.gavel.answer_stray(interaction)


class FormModal(discord.ui.Modal):
    """A command's form (credentials, a purchase code) as a Discord modal; the submit runs the command."""

    def __init__(self, adapter: DiscordAdapter, command: Command, options: dict[str, str]) -> None:
        title = command.help if len(command.help) <= 45 else f"/{slash_name(command.name)}"
        super().__init__(title=title, timeout=FORM_TIMEOUT_SECONDS)
        self.adapter = adapter
        self.command = command
        self.options = options
        for field in command.form:
            self.add_item(
                discord.ui.TextInput(
                    label=clip(field.label, 45),
                    custom_id=field.name,
                    placeholder=clip(field.prompt, 100),
                    max_length=min(field.max_length, 4000),
                    required=True,
                )
            )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        form = {item.custom_id: item.value.strip() for item in self.children if isinstance(item, discord.ui.TextInput)}
        await self.adapter.submit_form(interaction, self.command, self.options, form)


class DiscordAdapter:
    """Runs the core for Discord interactions and delivers alerts; started and stopped by ``gavel run``."""

    platform = PLATFORM

    def __init__(self, core: Core, settings: Settings, *, http: HTTPClient | None = None) -> None:
        self.core = core
        self.settings = settings
        self.client = GavelClient(self, http=http)
        populate_tree(self.client.tree, core.registry, self, guild_id=settings.discord_guild_id)
        self._task: asyncio.Task[None] | None = None
        self._catalogue: tuple[float, list[Any]] = (0.0, [])
        self._open_forms: dict[str, float] = {}  # modal custom id -> expiry (monotonic)

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Log in and connect in a background task of the running loop; returns once that task runs."""
        if self.settings.discord_bot_token is None:
            raise ValueError("DISCORD_BOT_TOKEN is not set")
        token = self.settings.discord_bot_token.get_secret_value()
        # discord.py logs every gateway event at DEBUG, a modal's password or purchase code included,
        # and every REST body: never below INFO, whatever LOG_LEVEL says.
        discord_log = logging.getLogger("discord")
        if discord_log.level < logging.INFO:  # its own level: a DEBUG root set later must not reach it
            discord_log.setLevel(logging.INFO)
        self._task = asyncio.create_task(self._run(token), name="gavel-discord")
        await asyncio.sleep(0)

    async def _run(self, token: str) -> None:
        try:
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
        guild_id = self.settings.discord_guild_id
        digest = tree_hash(self.client.tree, guild_id=guild_id)
        with self.core.services.db() as session:
            if repo.get_value(session, key=TREE_HASH_KEY) == digest:
                log.info("Discord command tree unchanged; not syncing")
                return False
        try:
            await _sync(self.client.tree, guild_id)
        except (discord.HTTPException, discord.RateLimited) as error:
            # Keep running with the commands Discord already has; the next start tries again.
            log.error("could not sync the Discord command tree (%s); commands may be stale", error)
            return False
        with self.core.services.db() as session:
            repo.set_value(session, key=TREE_HASH_KEY, value=digest)
        return True

    # --- requests in -----------------------------------------------------------------------------

    def _request(
        self,
        interaction: discord.Interaction,
        command: Command,
        *,
        options: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        form: dict[str, str] | None = None,
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
            form=form,
            is_private=guild_id is None or takes_private_input(command),
            display_name=user.display_name,
            place_id=str(guild_id) if guild_id else None,
            is_place_admin=bool(guild_id) and interaction.permissions.manage_roles,
            place_has_roles=bool(guild_id),
        )

    async def run_slash(self, interaction: discord.Interaction, command: Command, options: dict[str, Any]) -> None:
        """A slash command: open its form if it needs one, else run it through the core and answer."""
        named: dict[str, Any] = {}
        for name, value in options.items():
            if isinstance(value, discord.Role):
                try:
                    named[name] = await describe_role(self.client, interaction, value.id)
                except (discord.HTTPException, discord.RateLimited) as error:
                    log.warning("could not look up role %s: %s", value.id, error)
                    await self.say(interaction, warning_reply(DISCORD_SLOW, ephemeral=True))
                    return
            elif value is not None:
                named[name] = str(value)
        if _needs_form(command, set(named)):
            await self._open_form(interaction, command, named)
            return
        await self._answer(interaction, command, self._request(interaction, command, options=named))

    async def press(self, interaction: discord.Interaction, reference: str) -> None:
        """A button: run its command line for whoever pressed it; ``e:`` lines edit the message in place."""
        if is_token_reference(reference):
            with self.core.services.db() as session:
                reference = repo.resolve_button_token(session, token=reference[len(TOKEN_PREFIX) :]) or ""
        edit = reference.startswith(EDIT_FLAG)
        line = reference[len(EDIT_FLAG) :] if edit else reference
        name, args = split_command("/" + line) if line else (None, ())
        command = self.core.registry.find(name) if name else None
        if command is None:
            await self.say(interaction, warning_reply(STALE_BUTTON, ephemeral=True))
            return
        if _needs_form(command, {a.name for a in command.args[: len(args)]}):
            await self._open_form(interaction, command, {a.name: v for a, v in zip(command.args, args, strict=False)})
            return
        await self._answer(interaction, command, self._request(interaction, command, args=args), edit=edit)

    async def submit_form(
        self, interaction: discord.Interaction, command: Command, options: dict[str, str], form: dict[str, str]
    ) -> None:
        request = self._request(interaction, command, options=options, form=form)
        await self._answer(interaction, command, request)

    async def _open_form(self, interaction: discord.Interaction, command: Command, options: dict[str, str]) -> None:
        modal = FormModal(self, command, options)
        now = time.monotonic()
        self._open_forms = {cid: until for cid, until in self._open_forms.items() if until > now}
        self._open_forms[modal.custom_id] = now + FORM_TIMEOUT_SECONDS
        await interaction.response.send_modal(modal)

    async def answer_stray(self, interaction: discord.Interaction) -> None:
        """Components and forms no handler claimed (an older bot's buttons, a form from before a restart)."""
        data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
        custom_id = str(data.get("custom_id", ""))
        if interaction.type is discord.InteractionType.component and not CUSTOM_ID_TEMPLATE.fullmatch(custom_id):
            await self.say(interaction, warning_reply(STALE_BUTTON, ephemeral=True))
        elif interaction.type is discord.InteractionType.modal_submit and custom_id not in self._open_forms:
            await self.say(interaction, warning_reply(STALE_FORM, ephemeral=True))

    # --- replies out -----------------------------------------------------------------------------

    async def _answer(
        self, interaction: discord.Interaction, command: Command, request: Request, *, edit: bool = False
    ) -> None:
        """Run the request within Discord's 3-second window: defer first when the core may be slower."""
        ephemeral = command.ephemeral or takes_private_input(command)
        responder = Responder(interaction)
        try:
            if command.slow:
                await responder.defer(edit=edit, ephemeral=ephemeral)
            task = asyncio.ensure_future(self.core.handle(request))
            if not responder.deferred:
                done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER_SECONDS)
                if not done:
                    await responder.defer(edit=edit, ephemeral=ephemeral)
            reply = await task or Reply("Done.")
            reply = await self._carry_out(interaction, reply)
            if edit and reply.outcome is Outcome.ERROR:
                edit = False  # keep the page; show the problem to the presser only
            await responder.deliver(self._render(reply), edit=edit, ephemeral=ephemeral or reply.ephemeral)
        except discord.HTTPException as error:
            log.warning("could not answer /%s on Discord: %s", command.name, error)
        except Exception:
            log.exception("answering /%s on Discord failed", command.name)
            await self.say(interaction, error_reply("Something went wrong on my side. Please try again in a minute."))

    async def say(self, interaction: discord.Interaction, reply: Reply) -> None:
        """Answer an interaction with a reply that needs no command (errors, stale buttons)."""
        try:
            await Responder(interaction).deliver(self._render(reply), edit=False, ephemeral=True)
        except discord.HTTPException as error:
            log.warning("could not answer a Discord interaction: %s", error)

    def _render(self, reply: Reply, *, mention_user_id: str | None = None) -> Rendered:
        me = self.client.user
        return render(
            reply,
            self._store_button,
            mention_user_id=mention_user_id,
            private_chat_url=f"https://discord.com/users/{me.id}" if me else None,
        )

    def _store_button(self, line: str) -> str:
        with self.core.services.db() as session:
            return repo.store_button_command(session, command=line, now=self.core.services.now())

    async def _carry_out(self, interaction: discord.Interaction, reply: Reply) -> Reply:
        """Grant the roles a reply hands out, and check the ones a setup reply will hand out later."""
        guild_id = interaction.guild_id
        if guild_id is None or not (reply.grants or reply.grant_checks):
            return reply
        here = [g for g in reply.grants if g.platform == PLATFORM and g.place_id == str(guild_id)]
        for grant in here:
            problem = await grant_role(self.client, interaction, grant)
            if problem is None:
                reply = replace(reply, fields=(*reply.fields, Field("Role", f"You now have <@&{grant.target_id}>.")))
            else:
                text = (
                    f"{reply.text}\n\n⚠ I could not give you the <@&{grant.target_id}> role: {problem}. "
                    "Please tell a server admin; once it is fixed, run /verify again to get the role."
                )
                reply = replace(reply, text=text.strip(), outcome=Outcome.WARNING)
        for check in reply.grant_checks:
            if check.platform != PLATFORM or check.place_id != str(guild_id) or not check.target_id.isdigit():
                continue
            problem = await role_problem(self.client, guild_id, int(check.target_id), interaction.app_permissions)
            if problem:
                text = f"{reply.text}\n\n⚠ Buyers will not get the role until this is fixed: {problem}."
                reply = replace(reply, text=text.strip(), outcome=Outcome.WARNING)
        return reply

    # --- completions -----------------------------------------------------------------------------

    async def complete(
        self, interaction: discord.Interaction, source: str, current: str
    ) -> list[app_commands.Choice[Any]]:
        """Suggestions for an option; never raises (an upstream hiccup just means no suggestions)."""
        try:
            if source == "items":
                return await self._complete_items(current)
            if source == "watched_auctions":
                return self._complete_watches(str(interaction.user.id), current)
        except Exception:
            log.warning("autocomplete %s failed", source, exc_info=True)
        return []

    async def _complete_items(self, current: str) -> list[app_commands.Choice[Any]]:
        fetched_at, items = self._catalogue
        if time.monotonic() - fetched_at > CATALOGUE_TTL_SECONDS:
            items = list(await self.core.services.cryptogig.items())
            self._catalogue = (time.monotonic(), items)
        wanted = current.strip().lstrip("#").lower()
        chosen = [
            item for item in items if not wanted or str(item.id).startswith(wanted) or wanted in item.name.lower()
        ]
        return [app_commands.Choice(name=clip(f"#{item.id} {item.name}", 100), value=item.id) for item in chosen[:25]]

    def _complete_watches(self, user_id: str, current: str) -> list[app_commands.Choice[Any]]:
        with self.core.services.db() as session:
            user = repo.find_chat_user(session, platform=PLATFORM, platform_user_id=user_id)
            watches = repo.active_watches_for_user(session, chat_user_id=user.id) if user and user.id else []
            auction_ids = [w.auction_id for w in watches]
        wanted = current.strip().lower()
        return [app_commands.Choice(name=a, value=a) for a in auction_ids if wanted in a.lower()][:25]

    # --- alerts ----------------------------------------------------------------------------------

    async def send(self, alert: Alert) -> None:
        """Push an alert: by DM, or in the watch's channel when DMs are closed (see discord_alerts)."""
        await deliver_alert(self.client, alert, self._render)


class Responder:
    """Answers one interaction once, whether or not it was deferred, in place or as a new message."""

    def __init__(self, interaction: discord.Interaction) -> None:
        self.interaction = interaction
        self.deferred: str | None = None  # "update" (component, edit later) or "thinking"
        self.deferred_ephemeral = False

    async def defer(self, *, edit: bool, ephemeral: bool) -> None:
        response = self.interaction.response
        if response.is_done():
            return
        if edit and self.interaction.type is discord.InteractionType.component:
            await response.defer()
            self.deferred = "update"
        else:
            await response.defer(thinking=True, ephemeral=ephemeral)
            self.deferred, self.deferred_ephemeral = "thinking", ephemeral

    async def deliver(self, rendered: Rendered, *, edit: bool, ephemeral: bool) -> None:
        interaction = self.interaction
        kwargs = rendered.send_kwargs()
        edit = edit and interaction.type is discord.InteractionType.component
        if not interaction.response.is_done() and self.deferred is None:
            if edit:
                await interaction.response.edit_message(
                    content=rendered.content, embed=rendered.embed, view=rendered.view
                )
            else:
                await interaction.response.send_message(**kwargs, ephemeral=ephemeral)
        elif self.deferred == "update":
            if edit:
                await interaction.edit_original_response(
                    content=rendered.content, embed=rendered.embed, view=rendered.view
                )
            else:
                await interaction.followup.send(**kwargs, ephemeral=ephemeral)
        elif self.deferred == "thinking" and ephemeral and not self.deferred_ephemeral:
            # A public "thinking…" cannot turn private: replace it with a private follow-up.
            await interaction.delete_original_response()
            await interaction.followup.send(**kwargs, ephemeral=True)
        elif self.deferred == "thinking":
            await interaction.edit_original_response(content=rendered.content, embed=rendered.embed, view=rendered.view)
        else:  # answered elsewhere already (e.g. by an error handler): add to it
            await interaction.followup.send(**kwargs, ephemeral=ephemeral)


async def _sync(tree: app_commands.CommandTree[Any], guild_id: int | None) -> None:
    guild = discord.Object(id=guild_id) if guild_id else None
    synced = await tree.sync(guild=guild)
    log.info("synced %d Discord commands %s", len(synced), f"to guild {guild_id}" if guild_id else "globally")


class _OfflineHandler:
    """Stands in for the adapter when only the tree's shape is needed (``gavel discord-sync``)."""

    async def run_slash(self, interaction: discord.Interaction, command: Command, options: dict[str, Any]) -> None:
        raise RuntimeError("discord-sync does not answer commands")

    async def complete(
        self, interaction: discord.Interaction, source: str, current: str
    ) -> list[app_commands.Choice[Any]]:
        return []


async def sync_commands(settings: Settings, registry: Registry, *, http: HTTPClient | None = None) -> str:
    """`gavel discord-sync`: push the tree now, remember its hash, and return it as text."""
    from storage.db import create_db_engine, session_scope

    if settings.discord_bot_token is None:
        raise ValueError("DISCORD_BOT_TOKEN is not set")
    client = GavelClient(None, http=http)
    guild_id = settings.discord_guild_id
    populate_tree(client.tree, registry, _OfflineHandler(), guild_id=guild_id)
    async with client:
        await client.login(settings.discord_bot_token.get_secret_value())
        await _sync(client.tree, guild_id)
    engine = create_db_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            repo.set_value(session, key=TREE_HASH_KEY, value=tree_hash(client.tree, guild_id=guild_id))
    finally:
        engine.dispose()
    return describe_tree(client.tree, guild_id=guild_id)
