"""language: pick the language Gavel answers you in, or go back to your app's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.core import i18n
from bot.core.common import chat_user_id
from bot.core.i18n import _
from bot.core.messages import Button, Outcome, Reply, Request
from bot.core.registry import ArgKind, Argument, CommandGroup
from storage import users

if TYPE_CHECKING:
    from bot.core.services import Services

AUTO = "auto"  # follow what the platform says the user reads

commands = CommandGroup()


@commands.command(
    args=(
        Argument("language", "a language code: en, es, ru, or auto for your app's", ArgKind.CHOICE,
                 required=False, choices=(*i18n.LANGUAGES, AUTO)),
    ),
    ephemeral=True,
)  # fmt: skip
async def language(request: Request, services: Services) -> Reply:
    """Choose the language I answer and alert you in (or see the choices)."""
    wanted = request.values.get("language")
    if wanted is None:
        return _choices()
    chosen = None if wanted == AUTO else wanted
    user_id = await chat_user_id(services, request)

    def save(session: Session) -> None:
        users.choose_language(session, chat_user_id=user_id, language=chosen)

    await services.db.run(save)
    services.languages.chose(request, chosen)
    i18n.use(services.languages.pick(chosen, request.language))  # this answer already speaks it
    if chosen is None:
        text = _("I will follow your app's language: {language}.").format(language=i18n.name_of(i18n.current()))
    else:
        text = _("I will speak {language} to you from now on, alerts included.").format(language=i18n.name_of(chosen))
    return Reply(text, outcome=Outcome.SUCCESS, ephemeral=True)


def _choices() -> Reply:
    """The languages as buttons, each named in itself (a reader who cannot read this one still finds theirs)."""
    buttons = [Button(i18n.name_of(code).capitalize(), f"language {code}") for code in i18n.LANGUAGES]
    # Translators: a button label: go back to the language the user's chat app is set to
    follow = Button(_("Follow my app"), f"language {AUTO}")
    text = _("I speak to you in {language}. Pick another, or follow your app's language.").format(
        language=i18n.name_of(i18n.current())
    )
    return Reply(text, ephemeral=True).with_buttons(buttons, [follow])
