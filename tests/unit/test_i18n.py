"""The catalogues: complete and current against the code, placeholders intact, plurals by each language's rules;
and the language a reader gets, with money, dates and durations in it."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.core import formatting as fmt
from bot.core import i18n
from bot.core.i18n_extract import extract_template

TRANSLATED = [language for language in i18n.LANGUAGES if language != i18n.SOURCE_LANGUAGE]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """Every string marked in the code, extracted now the way `make messages` does."""
    path: Path = tmp_path_factory.mktemp("pot") / "gavel.pot"
    extract_template(path)
    with path.open("rb") as pot:
        return read_po(pot)


def _catalogue(language: str) -> Catalog:
    with (i18n.LOCALES_DIR / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("rb") as po:
        return read_po(po, locale=language)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_gavel_ships_english_spanish_and_russian():
    assert {"en", "es", "ru"} <= set(i18n.LANGUAGES)


def test_the_code_marks_hundreds_of_strings_including_command_help(template: Catalog):
    ids = {message.id if isinstance(message.id, str) else message.id[0] for message in template if message.id}
    assert len(ids) > 300
    assert "List every command, or explain one." in ids  # a handler's docstring: /help's own help
    assert "a command name" in ids  # an Argument's help: /help's own argument


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_each_catalogue_has_every_string_of_the_code_and_nothing_stale(template: Catalog, language: str):
    wanted = {message.id for message in template if message.id}
    catalogue = _catalogue(language)
    have = {message.id for message in catalogue if message.id}
    missing, stale = wanted - have, have - wanted
    assert not missing, f"{language}: run `make messages` and translate {sorted(map(str, missing))[:5]}…"
    assert not stale, f"{language}: run `make messages`; no longer in the code: {sorted(map(str, stale))[:5]}…"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_each_catalogue_translates_everything_with_the_same_placeholders(language: str):
    catalogue = _catalogue(language)
    plurals = catalogue.num_plurals
    for message in catalogue:
        if not message.id:
            continue
        assert not message.fuzzy, f"{language}: {message.id!r} is marked fuzzy: check it, then drop the flag"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if isinstance(message.id, tuple):
            assert len(strings) == plurals, f"{language}: {message.id!r} needs {plurals} plural forms"
        for translated in strings:
            assert translated, f"{language}: {ids[0]!r} is not translated"
            assert _placeholders(translated) <= set().union(*map(_placeholders, ids)), (
                f"{language}: {translated!r} names a placeholder {ids[0]!r} does not fill"
            )
            if not isinstance(message.id, tuple):
                assert _placeholders(translated) == _placeholders(ids[0]), (
                    f"{language}: {translated!r} drops a placeholder of {ids[0]!r}"
                )


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        (("es", "ru"), "es"),  # a reader's own choice first
        ((None, "ru"), "ru"),  # else their platform's
        ((None, "es-419"), "es"),  # Discord's Latin-American Spanish
        ((None, "ru_RU"), "ru"),
        ((None, "pt-BR"), "en"),  # a language not shipped: the default
        ((None, None), "en"),
        (("", "  "), "en"),
    ],
)
def test_the_reader_gets_their_choice_then_their_apps_language_then_the_default(candidates, expected):
    assert i18n.pick(*candidates, default="en") == expected


def test_a_phrase_counts_by_the_languages_own_plural_rules():
    counted = {}
    for language in ("en", "ru"):
        with i18n.speaking(language):
            counted[language] = [i18n.ngettext("{count} bid", "{count} bids", n).format(count=n) for n in (1, 2, 5, 21)]
    assert counted["en"] == ["1 bid", "2 bids", "5 bids", "21 bids"]
    # Russian has three forms, chosen by the last digits: 1 and 21 share one, 2 another, 5 the third.
    one, two, five, twenty_one = (text.split(" ", 1)[1] for text in counted["ru"])
    assert one == twenty_one and len({one, two, five}) == 3


NOW = datetime(2026, 12, 1, 18, 5, tzinfo=UTC)


def _plain_spaces(text: str) -> str:
    """Babel keeps numbers and units together with no-break spaces, as the language's typography wants."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(
    ("language", "money", "relative", "date"),
    [
        ("en", "1,200.50 DRT", "in 2h 5m", "Dec 1, 2026, 18:05 UTC"),
        ("es", "1.200,50 DRT", "dentro de 2h 5min", "1 dic 2026, 18:05 UTC"),
        ("ru", "1 200,50 DRT", "через 2 ч 5 мин", "1 дек. 2026 г., 18:05 UTC"),
    ],
)
def test_money_times_and_dates_read_as_the_readers_language_writes_them(language, money, relative, date):
    with i18n.speaking(language):
        assert _plain_spaces(fmt.money(Decimal("1200.5"), "DRT")) == money
        assert _plain_spaces(fmt.relative(NOW + timedelta(hours=2, minutes=5), NOW)) == relative
        assert _plain_spaces(fmt.date(NOW)) == date


def test_a_language_speaks_only_inside_its_block():
    with i18n.speaking("es"):
        inside = i18n.current()
    assert inside == "es" and i18n.current() == i18n.SOURCE_LANGUAGE
