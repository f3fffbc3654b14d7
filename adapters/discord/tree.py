"""Discord's slash-command tree generated from the core registry, and the hash that says when it must be synced."""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import discord
from discord import app_commands

from bot.core import i18n
from bot.core.arguments import MAX_AMOUNT, MAX_ITEM_ID
from bot.core.formatting import clip
from bot.core.registry import ArgKind, Argument, Command, Registry, Scope

PLATFORM = "discord"
MAX_DESCRIPTION = 100  # Discord's limit for command and option descriptions
MAX_CHOICES = 25
OPTION_NAME = re.compile(r"[-_'\w]{1,32}")  # Discord's rule for option names (with lowercase, checked apart)


class SlashHandler(Protocol):
    """What the generated callbacks call: the adapter runs the command and answers completions."""

    async def run_slash(self, interaction: discord.Interaction, command: Command, options: dict[str, Any]) -> None: ...

    async def complete(
        self, interaction: discord.Interaction, source: str, current: str
    ) -> list[app_commands.Choice[Any]]: ...


def slash_name(command_name: str) -> str:
    """``verify_setup`` -> ``verify-setup``: Discord users expect dashes."""
    return command_name.replace("_", "-").lower()


def _clip(text: str, limit: int = MAX_DESCRIPTION) -> str:
    return clip(" ".join(text.split()) or "…", limit)


def _described(text: str) -> app_commands.locale_str:
    """A description Discord shows in each user's language: the catalogue's msgid rides along (see below)."""
    return app_commands.locale_str(_clip(text), msgid=text)


class CatalogueTranslator(app_commands.Translator):
    """Command and option descriptions in every language Gavel ships, from the same catalogues as the replies.

    Discord shows a user the localisation for their client's locale (``es-ES`` and ``es-419`` both get
    Spanish); English is the description itself.
    """

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        language = i18n.shipped(locale.value)
        if language is None or language == i18n.SOURCE_LANGUAGE:
            return None
        argument = string.extras.get("argument")
        if argument:
            with i18n.speaking(language):
                name = i18n.argument_name(argument)
            # A name Discord would refuse fails the whole sync: such a translation is left out instead.
            valid = OPTION_NAME.fullmatch(name) and name == name.lower()
            return name if valid and name != argument else None
        msgid = string.extras.get("msgid")
        if not msgid:
            return None
        with i18n.speaking(language):
            translated = i18n._(msgid)
        return _clip(translated) if translated != msgid else None


# Whole numbers Discord can bound itself; everything else arrives as one string for the core to convert.
_RANGES = {ArgKind.ITEM_ID: (1, MAX_ITEM_ID), ArgKind.AMOUNT: (1, MAX_AMOUNT)}


def _annotation(argument: Argument) -> Any:
    if argument.kind is ArgKind.ROLE:
        return discord.Role  # Discord's role picker: the option arrives resolved, never as typed text
    if argument.kind is ArgKind.USER:
        return discord.User  # Discord's user picker
    if argument.kind in _RANGES:
        low, high = _RANGES[argument.kind]
        return app_commands.Range[int, low, high]
    if argument.kind is ArgKind.INTEGER:
        if argument.min_value is None and argument.max_value is None:
            return int
        return app_commands.Range[int, argument.min_value, argument.max_value]
    return str


def _signature(command: Command) -> inspect.Signature:
    parameters = [
        inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)
    ]
    # Discord wants required options first; the core takes arguments by name, so the order is free.
    # Passwords are never options (they go in a modal), and what the command asks for may be left out.
    ordered = sorted(command.positional, key=lambda a: not _required(a))
    for argument in ordered:
        default = inspect.Parameter.empty if _required(argument) else None
        parameters.append(
            inspect.Parameter(
                argument.name, inspect.Parameter.KEYWORD_ONLY, annotation=_annotation(argument), default=default
            )
        )
    return inspect.Signature(parameters)


def _required(argument: Argument) -> bool:
    return argument.required and not argument.asked


def _completer(handler: SlashHandler, source: str) -> Callable[..., Awaitable[list[app_commands.Choice[Any]]]]:
    async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[Any]]:
        return (await handler.complete(interaction, source, str(current or "")))[:MAX_CHOICES]

    return complete


def build_command(command: Command, handler: SlashHandler) -> app_commands.Command[Any, ..., Any]:
    """One registry command as an app command whose callback signature carries the typed options."""

    async def callback(interaction: discord.Interaction, **options: Any) -> None:
        await handler.run_slash(interaction, command, options)

    # discord.py derives the options from the callback's signature: give it one built from the registry.
    callback.__signature__ = _signature(command)  # type: ignore[attr-defined]
    callback.__name__ = command.name
    options = command.positional
    if options:
        callback = app_commands.describe(**{a.name: _described(a.help) for a in options})(callback)
        localised = {a.name: app_commands.locale_str(a.name, argument=a.name) for a in options}
        callback = app_commands.rename(**localised)(callback)
    choices = {
        a.name: [app_commands.Choice(name=c, value=c) for c in a.choices[:MAX_CHOICES]]
        for a in options
        if a.choices and not a.autocomplete
    }
    if choices:
        callback = app_commands.choices(**choices)(callback)
    completers = {a.name: _completer(handler, a.autocomplete) for a in options if a.autocomplete}
    if completers:
        callback = app_commands.autocomplete(**completers)(callback)
    if command.needs_place:
        callback = app_commands.guild_only()(callback)
    if command.scope is Scope.MANAGER:
        callback = app_commands.default_permissions(manage_roles=True)(callback)
    return app_commands.Command(
        name=slash_name(command.name),
        description=_described(command.help),
        callback=callback,
        extras={"gavel_command": command.name},
    )


def slash_commands(registry: Registry) -> list[Command]:
    """The registry's commands that become slash commands: the visible ones for Discord."""
    return list(registry.visible(conversations=False))  # Discord asks in modals: nothing to /cancel


def populate_tree(
    tree: app_commands.CommandTree[Any], registry: Registry, handler: SlashHandler, *, guild_id: int | None
) -> None:
    """Replace the tree's commands with the registry's, global or for one development guild."""
    guild = discord.Object(id=guild_id) if guild_id else None
    tree.clear_commands(guild=guild)
    for command in slash_commands(registry):
        tree.add_command(build_command(command, handler), guild=guild)


async def tree_payload(tree: app_commands.CommandTree[Any], *, guild_id: int | None) -> list[dict[str, Any]]:
    """The JSON the sync would PUT, as discord.py builds it (with each language's descriptions)."""
    guild = discord.Object(id=guild_id) if guild_id else None
    commands = tree.get_commands(guild=guild)
    if tree.translator is None:
        return [command.to_dict(tree) for command in commands]
    return [await command.get_translated_payload(tree, tree.translator) for command in commands]


async def tree_hash(tree: app_commands.CommandTree[Any], *, guild_id: int | None) -> str:
    """A digest of the payload and its destination: equal digests mean Discord already has this tree."""
    document = {"guild": guild_id, "commands": await tree_payload(tree, guild_id=guild_id)}
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


async def describe_tree(tree: app_commands.CommandTree[Any], *, guild_id: int | None) -> str:
    """The tree as text, one command a line with its options (for the closing note and `gavel discord-sync`)."""
    kinds = {3: "string", 4: "integer", 5: "boolean", 10: "number"}
    lines = []
    for command in await tree_payload(tree, guild_id=guild_id):
        extras = []
        if command.get("default_member_permissions"):
            extras.append("needs Manage Roles")
        if command.get("contexts") == [0]:
            extras.append("servers only")
        lines.append(f"/{command['name']} — {command['description']}" + (f" [{', '.join(extras)}]" if extras else ""))
        for option in command.get("options", []):
            bits = [
                kinds.get(option["type"], str(option["type"])),
                "required" if option.get("required") else "optional",
            ]
            if option.get("min_value") is not None:
                bits.append(f"min {option['min_value']}")
            if option.get("max_value") is not None:
                bits.append(f"max {option['max_value']}")
            if option.get("autocomplete"):
                bits.append("autocomplete")
            if option.get("choices"):
                bits.append("choices " + "|".join(str(c["value"]) for c in option["choices"]))
            lines.append(f"    {option['name']} ({', '.join(bits)}): {option['description']}")
    return "\n".join(lines)
