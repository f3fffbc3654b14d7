"""discord.py's pieces, wired to the adapter: the client, its command tree, the form modal, and the responder."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.http import HTTPClient

from adapters.discord.endpoints import DiscordEndpoints
from adapters.discord.render import CommandButton, Rendered
from adapters.discord.tree import CatalogueTranslator, slash_name
from bot.core import i18n, wording
from bot.core.formatting import clip
from bot.core.i18n import N_, _
from bot.core.messages import warning_reply
from bot.core.registry import Command

if TYPE_CHECKING:
    from adapters.discord.adapter import DiscordAdapter

log = logging.getLogger(__name__)

FORM_TIMEOUT_SECONDS = 600.0
MAX_RATELIMIT_WAIT = 30.0  # longer waits surface as RetryLater so the dispatcher's backoff takes over
TREE_CHANGED = N_("My commands were just updated. Please try again in a minute.")


class GavelTree(app_commands.CommandTree["GavelClient"]):
    """The command tree; failures before our callback (stale commands) still get a polite answer."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        i18n.use(interaction.locale.value)
        stale = isinstance(error, (app_commands.CommandNotFound, app_commands.CommandSignatureMismatch))
        text = _(TREE_CHANGED) if stale else wording.internal_error(log, "a slash command", error)
        if self.client.gavel is not None:
            await self.client.gavel.say(interaction, warning_reply(text, ephemeral=True))


class GavelClient(discord.Client):
    """discord.py's client wired to one adapter; ``http`` may be replaced (tests record calls there)."""

    def __init__(
        self,
        adapter: DiscordAdapter | None,
        *,
        http: HTTPClient | None = None,
        members: bool = False,
        endpoints: DiscordEndpoints | None = None,
        shard: tuple[int, int] | None = None,
    ) -> None:
        # One shard per process (shard id, shard count): replicas split the gateway between them.
        sharding = {"shard_id": shard[0], "shard_count": shard[1]} if shard is not None else {}
        super().__init__(
            **sharding,
            # Interactions need no privileged intents; the guilds intent keeps discord.py's guild cache sane.
            # ``members`` (privileged: "Server Members Intent" in the developer portal) tells us who rejoins.
            intents=discord.Intents(guilds=True, members=members),
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
        )
        if http is not None:
            self.http = http
            self._connection.http = http
        self.gavel = adapter
        self.tree = GavelTree(self)
        self.endpoints = endpoints or DiscordEndpoints()

    async def login(self, token: str) -> None:
        self.endpoints.apply()  # before the first request: login itself goes through the proxy
        await super().login(token)

    async def connect(self, *, reconnect: bool = True) -> None:
        await self.endpoints.resolve_gateway(self.http)
        await super().connect(reconnect=reconnect)

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        # "connect" is dispatched synchronously right after READY set ws.gateway; an on_connect handler would run
        # as a task, too late if the socket drops at once and discord.py reads ws.gateway to resume.
        if event == "connect":
            self.endpoints.pin(self.ws)
        super().dispatch(event, *args, **kwargs)

    async def setup_hook(self) -> None:
        # Buttons on any message, however old, are parsed from their custom id: nothing to restore.
        self.add_dynamic_items(CommandButton)
        await self.tree.set_translator(CatalogueTranslator())  # before any sync: the payload carries every language
        if self.gavel is not None:
            await self.gavel.sync_if_changed()

    async def press(self, interaction: discord.Interaction, reference: str) -> None:
        if self.gavel is not None:
            await self.gavel.press(interaction, reference)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if self.gavel is not None:
            await self.gavel.answer_stray(interaction)

    async def on_member_join(self, member: discord.Member) -> None:
        if self.gavel is not None:
            await self.gavel.welcome_back(member)


class FormModal(discord.ui.Modal):
    """The arguments a command asks for (credentials, a purchase code) as a modal; the submit runs the command."""

    def __init__(self, adapter: DiscordAdapter, command: Command, options: dict[str, Any]) -> None:
        help_text = _(command.help)  # the modal's title: Discord allows 45 characters
        title = help_text if len(help_text) <= 45 else f"/{slash_name(command.name)}"
        super().__init__(title=title, timeout=FORM_TIMEOUT_SECONDS)
        self.adapter = adapter
        self.command = command
        self.options = options
        for argument in command.asked:
            self.add_item(
                discord.ui.TextInput(
                    label=clip(_(argument.label) or argument.name, 45),
                    custom_id=argument.name,
                    placeholder=clip(_(argument.prompt) if argument.prompt else "", 100),
                    max_length=min(argument.max_length, 4000),
                    required=True,
                )
            )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        form = {item.custom_id: item.value.strip() for item in self.children if isinstance(item, discord.ui.TextInput)}
        await self.adapter.submit_form(interaction, self.command, {**self.options, **form})


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
        edit = edit and interaction.type is discord.InteractionType.component
        # send_kwargs() and edit_kwargs() each make a new File of the reply's picture: a request reads one once.
        if not interaction.response.is_done() and self.deferred is None:
            if edit:
                await interaction.response.edit_message(**rendered.edit_kwargs())
            else:
                await interaction.response.send_message(**rendered.send_kwargs(), ephemeral=ephemeral)
        elif self.deferred == "update":
            if edit:
                await interaction.edit_original_response(**rendered.edit_kwargs())
            else:
                await interaction.followup.send(**rendered.send_kwargs(), ephemeral=ephemeral)
        elif self.deferred == "thinking" and ephemeral and not self.deferred_ephemeral:
            # A public "thinking…" cannot turn private: replace it with a private follow-up.
            await interaction.delete_original_response()
            await interaction.followup.send(**rendered.send_kwargs(), ephemeral=True)
        elif self.deferred == "thinking":
            await interaction.edit_original_response(**rendered.edit_kwargs())
        else:  # answered elsewhere already (e.g. by an error handler): add to it
            await interaction.followup.send(**rendered.send_kwargs(), ephemeral=ephemeral)
