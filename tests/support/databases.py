"""Test databases migrated once per session (once per xdist worker) and copied for each test.

Alembic's upgrade costs far more than a copy, and every database test needs a migrated database: the template is
migrated the way `gavel run` migrates, then each test gets its own copy of it. SQLite: a file copy.
PostgreSQL: ``CREATE DATABASE ... TEMPLATE``, beside the worker's own database on the same server.
tests/unit/test_migrations.py still runs the migrations themselves, from an empty database, on both.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from storage.db import upgrade


class MigratedDatabases:
    """Hands out freshly migrated databases: copies of templates made on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._sqlite_template: Path | None = None
        self._postgres: dict[str, _PostgresTemplate] = {}

    def sqlite(self, path: Path) -> str:
        """A migrated SQLite database at ``path``, as a URL."""
        if self._sqlite_template is None:
            template = self.directory / "template.db"
            upgrade(f"sqlite:///{template}")
            # Everything into the main file, so that copying that one file copies the whole database.
            with sqlite3.connect(template) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.close()
            self._sqlite_template = template
        shutil.copyfile(self._sqlite_template, path)
        return f"sqlite:///{path}"

    def postgres(self, url: str) -> str:
        """A migrated copy named after the database ``url`` names (``<name>_copy``), replacing the last one."""
        if url not in self._postgres:
            self._postgres[url] = _PostgresTemplate(url)
        return self._postgres[url].copy()

    def close(self) -> None:
        for template in self._postgres.values():
            template.drop()


class _PostgresTemplate:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.url = parsed.set(drivername="postgresql").render_as_string(hide_password=False)  # psycopg's own form
        self.template = f"{parsed.database}_template"
        self.target = f"{parsed.database}_copy"
        self.target_url = parsed.set(database=self.target).render_as_string(hide_password=False)
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)', f'CREATE DATABASE "{self.template}"')
        upgrade(parsed.set(database=self.template).render_as_string(hide_password=False))

    def copy(self) -> str:
        # FORCE: an engine a test left open on the last copy must not keep this one from being made.
        self._execute(
            f'DROP DATABASE IF EXISTS "{self.target}" WITH (FORCE)',
            f'CREATE DATABASE "{self.target}" TEMPLATE "{self.template}"',
        )
        return self.target_url

    def drop(self) -> None:
        self._execute(
            f'DROP DATABASE IF EXISTS "{self.target}" WITH (FORCE)',
            f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)',
        )

    def _execute(self, *statements: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)  # type: ignore[arg-type]
