"""Database engines, transactions and Alembic migrations, all built from a DATABASE_URL on demand."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, InterfaceError, NoSuchModuleError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from storage.errors import DatabaseUnavailable

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

URL_HINT = "e.g. sqlite:///./gavel.db or postgresql://user:password@host/dbname"


def _normalise(url: URL) -> URL:
    # SQLAlchemy's bare postgresql:// means psycopg2, which we do not ship; postgres:// is what
    # Heroku-style hosts hand out and SQLAlchemy no longer accepts.
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    return url


def _parse(url: str) -> URL:
    try:
        parsed = _normalise(make_url((url or "").strip()))
    except (ArgumentError, ValueError):
        raise ValueError(f"DATABASE_URL is not a database URL ({URL_HINT})") from None
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise ValueError(f"DATABASE_URL names an unknown database {parsed.drivername!r} ({URL_HINT})") from None
    except ImportError:
        raise ValueError(f"DATABASE_URL needs the {parsed.drivername!r} driver, which is not installed") from None
    return parsed


def validate_database_url(url: str) -> str:
    """The URL Gavel will connect to (driver filled in); ValueError with a one-line reason if unusable."""
    return _parse(url).render_as_string(hide_password=False)


def _is_sqlite_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Stop the sqlite3 module from issuing its own BEGIN (it skips SELECTs and SAVEPOINTs, which breaks
    # nested transactions); _sqlite_on_begin issues it instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the one writer
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, far fewer fsyncs
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        # A read in WAL mode needs no lock: it sees a snapshot while the one writer goes on.
        connection.exec_driver_sql("BEGIN")
        return
    # IMMEDIATE takes SQLite's single write lock when the transaction starts. With a deferred BEGIN, a
    # transaction that read and then writes after another one committed fails at once with
    # "database is locked" (its snapshot is stale, so busy_timeout cannot help); with IMMEDIATE it
    # waits its turn instead. The price: never keep a session open across an await.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


READ_ONLY = "gavel_read_only"  # an execution option: this transaction only reads
CONNECT_TIMEOUT_SECONDS = 5
STATEMENT_TIMEOUT_SECONDS = 15
POOL_SIZE = 4  # as many as Database's threads: a thread never waits for a connection


def create_db_engine(url: str) -> Engine:
    """An Engine for ``url``: SQLite tuned for one process with threads, PostgreSQL with timeouts.

    A database that does not answer must cost a request seconds, never the process: connecting,
    waiting for a pooled connection and every statement all have a bound.
    """
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=POOL_SIZE,
            max_overflow=4,
            pool_timeout=CONNECT_TIMEOUT_SECONDS,
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                "options": f"-c statement_timeout={STATEMENT_TIMEOUT_SECONDS * 1000}",
            },
        )

    options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if _is_sqlite_memory(parsed):
        # One shared connection, or every new connection would see a new, empty database.
        options["poolclass"] = StaticPool
    elif not parsed.query.get("uri"):
        Path(parsed.database or "").expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **options)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def lock_names(session: Session, names: Iterable[str]) -> None:
    """Hold these names until the transaction ends, so two transactions counting the same thing take turns.

    PostgreSQL: a transaction-level advisory lock per name, taken in one order for everyone (no deadlock);
    SQLite: nothing to do, ``BEGIN IMMEDIATE`` already holds the one write lock for the whole transaction.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in sorted(set(names)):
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=key))  # type: ignore[call-overload]


@contextlib.contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commits when the block ends, rolls back if it raises.

    Keep the block short and free of awaits: on SQLite the transaction holds the write lock.
    Objects stay readable after the commit (expire_on_commit=False).
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class Database:
    """The engine, and the one way the event loop uses it: ``await db.run(work)`` runs ``work(session)`` in
    one transaction on a small pool of threads, so a slow or locked database never freezes the bot.

    A database that cannot be reached (or a statement past its timeout) raises DatabaseUnavailable.
    ``session()`` is the same transaction without the thread, for scripts and tests.
    """

    def __init__(self, engine: Engine, *, threads: int = POOL_SIZE) -> None:
        self.engine = engine
        self._reader = engine.execution_options(**{READ_ONLY: True})
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gavel-db")

    async def run(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in one transaction, on a database thread."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._transaction, work, self.engine)

    async def read(self, work: Callable[[Session], T]) -> T:
        """The same for work that only reads: on SQLite it takes no write lock, so it never queues behind a writer."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._transaction, work, self._reader)

    def _transaction(self, work: Callable[[Session], T], engine: Engine | None = None) -> T:
        try:
            with session_scope(engine or self.engine) as session:
                return work(session)
        except (OperationalError, InterfaceError, SQLAlchemyTimeoutError) as error:
            raise DatabaseUnavailable(type(error).__name__) from error

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            yield session

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def insert_or_find(session: Session, row: T, find: Callable[[], T | None]) -> T:
    """Insert ``row`` in a savepoint; if another transaction took its unique key first, return ``find()``.

    The savepoint keeps the caller's transaction usable after the IntegrityError.
    """
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = find()
        if existing is None:
            raise
        return existing
    return row


def alembic_config(*, connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic Config for the packaged migrations, with no alembic.ini needed.

    ``connection`` (used as is, inside the caller's transaction) wins over ``url``.
    """
    config = Config()
    # Config values go through configparser interpolation, hence the doubled percent signs.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", validate_database_url(url).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


# Any fixed number, the same in every process: replicas starting together queue on it.
MIGRATION_LOCK = 0x6761_7665_6C00  # "gavel\0"


def _with_migration_connection(engine_or_url: Engine | str, run: Callable[[Config], None]) -> None:
    own_engine = isinstance(engine_or_url, str)
    engine = create_db_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        with engine.begin() as connection:
            # One migration at a time, so replicas starting together never race: the others wait here, then find
            # the database at head and do nothing. PostgreSQL: an advisory lock held until this transaction ends.
            # SQLite needs none: this transaction began IMMEDIATE (_sqlite_on_begin), which holds the file's one
            # write lock until the migration commits; another process waits busy_timeout, then `gavel run`
            # retries it as a database that is busy.
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            run(alembic_config(connection=connection))
    finally:
        if own_engine:
            engine.dispose()


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (default: the newest).

    Given a URL, a temporary engine is made and disposed of, so pass the engine itself for an
    in-memory database (``sqlite://``), which lives only as long as its engine.
    """
    _with_migration_connection(engine_or_url, lambda config: command.upgrade(config, revision))


def downgrade(engine_or_url: Engine | str, revision: str) -> None:
    """Migrate the database down to ``revision`` (``"base"`` drops every table)."""
    _with_migration_connection(engine_or_url, lambda config: command.downgrade(config, revision))


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names (None for other databases and in-memory ones)."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite" or _is_sqlite_memory(parsed) or parsed.query.get("uri"):
        return None
    return Path(parsed.database or "").expanduser()


def revision_without_creating(url: str) -> str | None:
    """The revision the database at ``url`` is at, creating nothing: an SQLite file that is not there raises
    FileNotFoundError instead of being made (`gavel doctor` must leave no ./gavel.db behind)."""
    path = sqlite_file(url)
    if path is not None:
        if not path.is_file():
            raise FileNotFoundError(str(path))
        # Read-only, through SQLite's URI form: neither the file nor a -wal or -shm beside it is written.
        engine = create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")
    else:
        engine = create_db_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revision shipped with this version of Gavel."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
