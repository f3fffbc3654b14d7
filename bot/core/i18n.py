"""Every word in the reader's language: gettext catalogues from bot/locale, and the language in force.

The language is a context variable. The core sets it for each request, the poller and the dispatcher for
each recipient, so ``_()`` anywhere below them speaks the reader's language without being passed it.
Catalogues are the ``.po`` files themselves, compiled in memory by Babel the first time a language is
used: no generated ``.mo`` file can fall out of step with its ``.po``.

Marking strings (``make messages`` extracts them; see README, "Adding a language"):

- ``_("Your bid of {amount} is placed.").format(amount=…)``: translated where it is shown. Named
  placeholders only, so a translation can put them in its own order.
- ``ngettext("{count} bid", "{count} bids", n).format(count=n)``: plurals by the language's own rules.
- ``N_("…")`` marks a string defined before anyone reads it (a module constant); ``_(CONSTANT)`` then
  translates it where it is shown. Command help (a handler's docstring) and ``Argument`` help are
  extracted as they are (bot/core/i18n_extract.py) and translated where they are shown, the same way.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parents[1] / "locale"  # bot/locale
DOMAIN = "gavel"
SOURCE_LANGUAGE = "en"  # the language the code is written in: its msgids are the English text


def _shipped() -> tuple[str, ...]:
    """Every language with a catalogue in bot/locale, the source language first."""
    found = sorted(path.parent.parent.name for path in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LANGUAGE, *(code for code in found if code != SOURCE_LANGUAGE))


LANGUAGES: tuple[str, ...] = _shipped()

_language: ContextVar[str] = ContextVar("gavel_language", default=SOURCE_LANGUAGE)
_default = SOURCE_LANGUAGE  # DEFAULT_LANGUAGE: see set_default


def set_default(language: str) -> None:
    """The language for readers who never said theirs (DEFAULT_LANGUAGE): set once, where settings are read."""
    global _default
    _default = shipped(language) or SOURCE_LANGUAGE


def shipped(code: str | None) -> str | None:
    """The shipped language a platform's code names (``es-419`` → ``es``, ``ru_RU`` → ``ru``), or None."""
    if not code:
        return None
    tag = code.strip().replace("_", "-").lower()
    if tag in LANGUAGES:
        return tag
    primary = tag.split("-", 1)[0]
    return primary if primary in LANGUAGES else None


def pick(*candidates: str | None, default: str | None = None) -> str:
    """The first candidate Gavel speaks (a reader's own choice, then what their platform says), else ``default``
    (DEFAULT_LANGUAGE when not given)."""
    for candidate in candidates:
        language = shipped(candidate)
        if language:
            return language
    return shipped(default) or _default


def current() -> str:
    """The reader's language for whatever is being worded now."""
    return _language.get()


def use(language: str | None) -> None:
    """Speak ``language`` (the default when Gavel does not speak it) from here to the end of this task
    (one task serves one reader: an update)."""
    _language.set(pick(language))


@contextmanager
def speaking(language: str | None) -> Iterator[str]:
    """Speak ``language`` inside the block only (an alert for one recipient among many)."""
    token = _language.set(pick(language))
    try:
        yield current()
    finally:
        _language.reset(token)


def compile_all() -> None:
    """Compile every shipped catalogue now (at start-up): a broken .po stops the start, not a user's request."""
    for language in LANGUAGES:
        translations(language)


@cache
def locale_of(language: str) -> Locale:
    """Babel's data for a language, parsed once: Babel parses a code given as text on every call."""
    return Locale.parse(language)


def name_of(language: str) -> str:
    """The language's name in itself: ``español``, ``русский``."""
    return locale_of(language).get_display_name(language) or language


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The language's catalogue, compiled from its .po file (fuzzy entries left out, as msgfmt does)."""
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _(message: str) -> str:
    """``message`` in the reader's language."""
    return translations(current()).gettext(message) if message else message


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form of a counted phrase the reader's language uses for ``count``."""
    return translations(current()).ngettext(singular, plural, count)


ARGUMENT_CONTEXT = "the name of a command's argument"  # msgctxt: one-word names, lowercase, joined by _


def argument_name(name: str) -> str:
    """An argument's name as the reader's usage lines, errors and slash-command options show it
    (``auction_id`` → ``id_subasta``); bot/core/i18n_extract.py extracts every declared one."""
    return translations(current()).pgettext(ARGUMENT_CONTEXT, name)


def N_(message: str) -> str:
    """Marks ``message`` for the catalogues without translating it: it is translated where it is shown."""
    return message
