"""``make messages``: extract every marked string into bot/locale/gavel.pot and merge it into each catalogue.

Babel's Python extractor finds ``_()``, ``ngettext()`` and ``N_()``, and (keyword ``Argument:2``) the help
of each ``Argument``. A command's help is its handler's docstring, which no gettext keyword can reach:
``extract`` below adds those, as the registry reads them (``registry.help_of``). Babel has no docstring
extraction of its own, hence this small extraction method.
"""

from __future__ import annotations

import ast
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from babel.messages.extract import extract_python
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

from bot.core.i18n import ARGUMENT_CONTEXT, DOMAIN, LOCALES_DIR, SOURCE_LANGUAGE
from bot.core.registry import help_of

ROOT = LOCALES_DIR.parent.parent
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"
MAPPING = ROOT / "babel.cfg"
KEYWORDS = ("Argument:2",)  # on top of Babel's defaults (_, gettext, ngettext, N_, ...)
SOURCES = ("bot", "adapters")
ARGUMENT_COMMENT = (
    "Translators: an argument's name in usage lines (/bid <auction_id> <amount>) and slash-command options: "
    "lowercase, no spaces (join words with _), at most 32 characters"
)
HELP_COMMENT = "Translators: the help of a command, one short line (also its menu and slash-command description)"


def _declares_command(decorator: ast.expr) -> bool:
    """``@commands.command(...)``, ``@closing.command``: a CommandGroup declaration."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr == "command"


def _argument_name(node: ast.AST) -> str | None:
    """``Argument("auction_id", …)``: the name an argument is declared with."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Argument"):
        return None
    first = node.args[0] if node.args else None
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def extract(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]) -> Iterator[tuple]:
    """Babel's Python extraction, plus the help of every command declared in the file and its arguments' names."""
    yield from extract_python(fileobj, keywords, comment_tags, options)
    fileobj.seek(0)
    tree = ast.parse(fileobj.read().decode(options.get("encoding", "utf-8")))
    for node in ast.walk(tree):
        name = _argument_name(node)
        if name:
            yield node.lineno, "pgettext", (ARGUMENT_CONTEXT, name), [ARGUMENT_COMMENT]
        is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        if is_function and any(map(_declares_command, node.decorator_list)):
            help_text = help_of(ast.get_docstring(node, clean=False))
            if help_text:
                yield node.lineno, None, help_text, [HELP_COMMENT]


def pybabel(*args: str) -> None:
    """Run a pybabel command (the same as the ``pybabel`` script) from the repository's root."""
    CommandLineInterface().run(["pybabel", "--quiet", *args])


def extract_template(output: Path = TEMPLATE) -> None:
    """Write the template of every marked string in the code."""
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    # Sorted by message, with no locations: a catalogue changes when a string does, not when code moves
    # between files, and two changes that add different strings merge without touching each other.
    with contextlib.chdir(ROOT):
        pybabel("extract", "-F", str(MAPPING), *keywords, "-c", "Translators:", "--sort-output",
                "--no-location", "--project", "Gavel", "--no-wrap", "-o", str(output.resolve()),
                *SOURCES)  # fmt: skip


def fill_source_catalogue() -> None:
    """English reads as the code writes it: each new English entry's msgstr is its msgid (an editor may reword
    it there later, and that wording is kept)."""
    path = LOCALES_DIR / SOURCE_LANGUAGE / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=SOURCE_LANGUAGE)
    for message in catalog:
        empty = not any(message.string if isinstance(message.string, tuple) else (message.string,))
        if message.id and (empty or message.fuzzy):  # fuzzy: merged from a similar old string, never right
            message.string = message.id
            message.flags.discard("fuzzy")
            message.previous_id = []
    with path.open("wb") as po:
        write_po(po, catalog, width=0, include_previous=True)


def _rewrite_sorted(path: Path) -> None:
    """A catalogue sorted by message and free of locations, like the template (pybabel update keeps neither)."""
    with path.open("rb") as po:
        catalog = read_po(po, locale=path.parent.parent.name)
    with path.open("wb") as po:
        write_po(po, catalog, width=0, include_previous=True, no_location=True, sort_output=True)


def main(argv: list[str]) -> int:
    """Extract, then merge the template into every catalogue (``--init xx`` starts a new language first)."""
    extract_template()
    if argv[:1] == ["--init"] and len(argv) == 2:
        pybabel("init", "-i", str(TEMPLATE), "-d", str(LOCALES_DIR), "-D", DOMAIN, "-l", argv[1], "--no-wrap")
    pybabel("update", "-i", str(TEMPLATE), "-d", str(LOCALES_DIR), "-D", DOMAIN, "--previous", "--no-wrap",
            "--ignore-obsolete")  # fmt: skip
    fill_source_catalogue()
    for path in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        _rewrite_sorted(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
