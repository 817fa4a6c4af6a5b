"""``query_database``: read-only SQL that a model wrote, made safe twice over.

The model's SQL is untrusted text. Two independent layers stand between it
and the data, so a gap in one is caught by the other:

1. ``SqlGuard`` parses the statement with sqlglot and accepts exactly one
   ``SELECT`` (or set operation of them) that reads allowed tables only and
   calls allow-listed functions only; what runs is the SQL *regenerated* from
   that checked tree (comments dropped), never the original text, so the
   database cannot read something different from what was checked.
2. The database runs it read-only: PostgreSQL in a ``READ ONLY`` transaction
   with a ``statement_timeout`` that is rolled back afterwards; SQLite on a
   ``mode=ro`` connection with an authorizer that denies every write, ATTACH
   and PRAGMA, and a progress handler that enforces the timeout.

Results are capped (default 200 rows) and the cap is stated in the result.

Usage::

    database = SqlDatabase.from_url("sqlite:///services/agent/sample/shop.db")
    result = database.query("SELECT name FROM products ORDER BY price DESC")
    result.rows, result.truncated
"""

from __future__ import annotations

import datetime as dt
import decimal
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

MAX_SQL_CHARS = 10_000
SQLITE_MAX_VALUE_BYTES = 10_000_000


class UnsafeQuery(Exception):
    """The statement was refused before reaching the database; the message says why."""


class QueryFailed(Exception):
    """The database refused or aborted the statement (including timeouts)."""


# Nodes that write, change the session, or reach outside the database.
_DENIED_NODE_NAMES = (
    "Insert",
    "Update",
    "Delete",
    "Merge",
    "Create",
    "Drop",
    "Alter",
    "AlterTable",
    "TruncateTable",
    "Command",
    "Copy",
    "Pragma",
    "Attach",
    "Detach",
    "Into",
    "Lock",
    "Set",
    "SetItem",
    "Transaction",
    "Commit",
    "Rollback",
    "Use",
    "LoadData",
    "Grant",
    "Revoke",
    "Install",
    "Analyze",
    "Cache",
    "Uncache",
    "Refresh",
    "Kill",
    "Describe",
    "Show",
    "Summarize",
    "Execute",
    "Returning",
    "Comprehension",
)
_DENIED_NODES = tuple(getattr(exp, name) for name in _DENIED_NODE_NAMES if hasattr(exp, name))

# Typed sqlglot functions that read files, write or advance sequences.
_DENIED_FUNCTIONS = frozenset({"ReadCSV", "ReadParquet", "ToFile", "NextValueFor", "Repeat", "Pad"})

# Functions sqlglot does not know (``exp.Anonymous``) are refused unless listed here:
# pg_sleep, pg_read_file, lo_import, load_extension, set_config, dblink ... all land there.
_ALLOWED_ANONYMOUS = frozenset(
    {
        "strftime",
        "ifnull",
        "nullif",
        "instr",
        "date_trunc",
        "to_char",
        "to_date",
        "to_number",
        "extract",
        "date_part",
        "age",
        "julianday",
        "total",
        "group_concat",
        "string_agg",
        "array_agg",
        "initcap",
        "ltrim",
        "rtrim",
        "btrim",
        "split_part",
        "left",
        "right",
        "reverse",
        "greatest",
        "least",
        "sign",
        "trunc",
        "ceil",
        "ceiling",
        "floor",
        "abs",
        "round",
        "char_length",
        "character_length",
        "octet_length",
        "position",
        "strpos",
        "unicode",
        "typeof",
        "glob",
        "quote",
        "hex",
        "iif",
    }
)
# Deliberately absent: functions that build huge values from a small query (printf/format widths,
# zeroblob, randomblob, lpad/rpad): a memory bomb is not stopped by a statement timeout.


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    row_cap: int
    sql: str

    def for_model(self) -> dict[str, Any]:
        """What the model sees: rows, and a plain statement of any truncation."""
        result: dict[str, Any] = {"columns": self.columns, "rows": self.rows, "row_count": len(self.rows)}
        if self.truncated:
            result["note"] = (
                f"Result truncated: only the first {self.row_cap} rows are shown. Aggregate or filter to see the rest."
            )
        return result


@dataclass
class SqlGuard:
    """Accepts one read-only query on allowed tables; returns the SQL to run."""

    dialect: str  # "sqlite" | "postgres"
    allowed_tables: frozenset[str]
    schema: str | None = None  # the only qualifier accepted on a table (PostgreSQL)
    row_cap: int = 200

    def check(self, sql: str) -> str:
        if not isinstance(sql, str) or not sql.strip():
            raise UnsafeQuery("The query is empty.")
        if len(sql) > MAX_SQL_CHARS:
            raise UnsafeQuery(f"The query is longer than {MAX_SQL_CHARS} characters.")
        try:
            statements = [s for s in sqlglot.parse(sql, read=self.dialect) if s is not None]
        except sqlglot.errors.SqlglotError as error:
            raise UnsafeQuery(f"The query could not be parsed: {str(error).splitlines()[0][:200]}") from None
        if len(statements) != 1:
            raise UnsafeQuery("Exactly one statement is allowed.")
        tree = statements[0]
        if not isinstance(tree, (exp.Select, exp.SetOperation)):
            raise UnsafeQuery("Only SELECT queries are allowed.")
        self._check_nodes(tree)
        self._check_tables(tree)
        return self._capped(tree).sql(dialect=self.dialect, comments=False)

    def _check_nodes(self, tree: exp.Expr) -> None:
        for node in tree.walk():
            if isinstance(node, _DENIED_NODES):
                raise UnsafeQuery(f"{type(node).__name__.upper()} is not allowed in a read-only query.")
            if isinstance(node, exp.Anonymous):
                name = str(node.name).lower()
                if name not in _ALLOWED_ANONYMOUS:
                    raise UnsafeQuery(f"The function {name}() is not allowed.")
            elif isinstance(node, exp.Func) and type(node).__name__ in _DENIED_FUNCTIONS:
                raise UnsafeQuery(f"The function {type(node).__name__} is not allowed.")

    def _check_tables(self, tree: exp.Expr) -> None:
        for table in tree.find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier):
                continue  # a table function: its function was checked above
            name = table.name.lower()
            qualifier = (table.db or "").lower()
            if table.catalog or (qualifier and qualifier != (self.schema or "").lower()):
                raise UnsafeQuery(f"The table {table.sql(dialect=self.dialect)} is not allowed.")
            if not qualifier and _cte_in_scope(table, name):
                continue
            if name not in self.allowed_tables:
                allowed = ", ".join(sorted(self.allowed_tables))
                raise UnsafeQuery(f"The table {name} is not allowed. Allowed: {allowed}.")

    def _capped(self, tree: exp.Query) -> exp.Expr:
        """Asks the database for at most cap + 1 rows: enough to know it truncated."""
        limit = self.row_cap + 1
        if isinstance(tree, exp.Select):
            current = tree.args.get("limit")
            value = current.expression if current is not None else None
            if isinstance(value, exp.Literal) and value.is_int and int(value.this) <= limit:
                return tree
            return tree.limit(limit, copy=True)
        return exp.select("*").from_(tree.subquery("capped")).limit(limit)


def _with_of(node: exp.Expr) -> exp.With | None:
    return node.args.get("with_") or node.args.get("with")


def _cte_in_scope(table: exp.Table, name: str) -> bool:
    """Whether ``name`` at this place means a CTE rather than a real table.

    Scope-aware on purpose: a CTE is visible in its query's body, to the CTEs
    defined after it, and to itself when RECURSIVE; anywhere else the same
    name reads the real table (``WITH a AS (SELECT * FROM secrets), secrets AS
    (...)`` reads the real ``secrets`` inside ``a``).
    """
    child: exp.Expr = table
    parent = table.parent
    while parent is not None:
        if isinstance(parent, exp.With) and isinstance(child, exp.CTE):
            ctes = list(parent.expressions)
            position = next(i for i, cte in enumerate(ctes) if cte is child)
            visible = ctes[: position + 1] if parent.args.get("recursive") else ctes[:position]
            if any(cte.alias_or_name.lower() == name for cte in visible):
                return True
        elif isinstance(parent, exp.Query) and (with_ := _with_of(parent)) is not None and child is not with_:
            if any(cte.alias_or_name.lower() == name for cte in with_.expressions):
                return True
        child, parent = parent, parent.parent
    return False


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time, uuid.UUID)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(bytes(value))} bytes>"
    return str(value)


class OwnDatabase(ValueError):
    """AGENTHUB_SQL_URL names AgentHub's own auth database (password hashes, refresh tokens)."""


# Tables that only AgentHub's auth database has together: never offered to a model.
AUTH_TABLES = frozenset({"users", "sessions", "refresh_tokens", "api_keys", "audit_events"})


def same_database(url: str, other: str) -> bool:
    """Whether two SQLAlchemy URLs name the same database (same SQLite file, or same host/port/name)."""
    from sqlalchemy.engine import make_url

    a, b = make_url(url), make_url(other)
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        return (
            a.database is not None
            and b.database is not None
            and bool(a.database and b.database)
            and Path(a.database).resolve() == Path(b.database).resolve()
        )
    local = {None, "", "localhost", "127.0.0.1", "::1"}
    same_host = a.host == b.host or (a.host in local and b.host in local)
    return same_host and (a.port or 5432) == (b.port or 5432) and (a.database or "") == (b.database or "")


@dataclass
class SqlDatabase:
    """One configured database: its guard, its described schema, and how to run a query."""

    url: str
    dialect: str
    timeout: float = 5.0
    row_cap: int = 200
    tables: list[str] | None = None
    schema: str | None = None
    _columns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    _connect_kwargs: dict[str, Any] = field(default_factory=dict)
    _path: Path | None = None

    @classmethod
    def from_url(
        cls, url: str, *, timeout: float = 5.0, row_cap: int = 200, tables: list[str] | None = None
    ) -> SqlDatabase:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            if not parsed.database or parsed.database == ":memory:":
                raise ValueError("AGENTHUB_SQL_URL: a SQLite database file is required")
            database = cls(url=url, dialect="sqlite", timeout=timeout, row_cap=row_cap, tables=tables)
            database._path = Path(parsed.database).resolve()
            if not database._path.exists():
                raise ValueError(f"AGENTHUB_SQL_URL: {database._path} does not exist")
        elif backend in ("postgresql", "postgres"):
            schema = parsed.query.get("schema") or "public"
            if not isinstance(schema, str):
                raise ValueError("AGENTHUB_SQL_URL: one schema= at most")
            database = cls(url=url, dialect="postgres", timeout=timeout, row_cap=row_cap, tables=tables, schema=schema)
            database._connect_kwargs = {
                "user": parsed.username or "postgres",
                "password": parsed.password,
                "host": parsed.host or "127.0.0.1",
                "port": parsed.port or 5432,
                "database": parsed.database or "postgres",
                "timeout": timeout + 10,
                "application_name": "agenthub-agent-sql",
            }
        else:
            raise ValueError(f"AGENTHUB_SQL_URL: unsupported database {backend!r} (sqlite or postgresql)")
        return database

    # -- schema ------------------------------------------------------------

    def load_schema(self) -> None:
        """Reads table and column names once; the guard and the tool description use them."""
        columns = self._read_sqlite_schema() if self.dialect == "sqlite" else self._read_postgres_schema()
        names = {t.lower() for t in columns}
        if len(names & AUTH_TABLES) >= 3 or any(c.lower() == "password_hash" for cs in columns.values() for c, _ in cs):
            raise OwnDatabase(
                "AGENTHUB_SQL_URL points at AgentHub's own auth database (password hashes, "
                "refresh tokens): the agent refuses to query it."
            )
        wanted = {t.lower() for t in self.tables} if self.tables else None
        self._columns = {t: c for t, c in columns.items() if wanted is None or t.lower() in wanted}

    @property
    def guard(self) -> SqlGuard:
        if not self._columns:
            self.load_schema()
        return SqlGuard(self.dialect, frozenset(t.lower() for t in self._columns), self.schema, self.row_cap)

    def describe(self) -> str:
        """The schema as the model reads it: one line per table."""
        if not self._columns:
            self.load_schema()
        flavour = "SQLite" if self.dialect == "sqlite" else "PostgreSQL"
        lines = [f"{flavour} database. Tables:"]
        for table, columns in sorted(self._columns.items()):
            lines.append(f"- {table}(" + ", ".join(f"{c} {t}".strip() for c, t in columns) + ")")
        return "\n".join(lines)

    def _read_sqlite_schema(self) -> dict[str, list[tuple[str, str]]]:
        connection = self._sqlite_connect()
        try:
            names = [
                r[0]
                for r in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
                )
            ]
            return {name: [(r[1], r[2]) for r in connection.execute(f'PRAGMA table_info("{name}")')] for name in names}
        finally:
            connection.close()

    def _read_postgres_schema(self) -> dict[str, list[tuple[str, str]]]:
        import pg8000.dbapi

        connection = pg8000.dbapi.connect(**self._connect_kwargs)
        try:
            cursor = connection.cursor()
            cursor.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
                (self.schema,),
            )
            columns: dict[str, list[tuple[str, str]]] = {}
            for table, column, kind in cursor.fetchall():
                columns.setdefault(table, []).append((column, kind))
            connection.rollback()
            return columns
        finally:
            connection.close()

    # -- queries -----------------------------------------------------------

    def query(self, sql: str) -> QueryResult:
        checked = self.guard.check(sql)
        if self.dialect == "sqlite":
            from core.offload import offload

            tree = sqlglot.parse_one(checked, read="sqlite")
            ctes = frozenset(cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE))
            columns, rows = offload(self._run_sqlite, checked, ctes)  # C-level I/O: off the hub
        else:
            columns, rows = self._run_postgres(checked)  # pg8000 is pure Python: greened
        truncated = len(rows) > self.row_cap
        cells = [[_jsonable(v) for v in row] for row in rows[: self.row_cap]]
        return QueryResult(columns=columns, rows=cells, truncated=truncated, row_cap=self.row_cap, sql=checked)

    def _sqlite_connect(self) -> sqlite3.Connection:
        assert self._path is not None  # set by from_url for SQLite
        return sqlite3.connect(
            f"{self._path.as_uri()}?mode=ro", uri=True, timeout=self.timeout, check_same_thread=False
        )

    def _run_sqlite(self, sql: str, ctes: frozenset[str] = frozenset()) -> tuple[list[str], list[tuple]]:
        """``ctes``: the statement's own CTE names, which SQLite reports as reads (``count(*)`` on a CTE)."""
        connection = self._sqlite_connect()
        deadline = time.monotonic() + self.timeout
        try:
            connection.set_authorizer(_sqlite_authorizer(self.guard.allowed_tables | ctes))
            connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, SQLITE_MAX_VALUE_BYTES)  # no memory bombs
            connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
            connection.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 1000)
            cursor = connection.execute(sql)
            rows = cursor.fetchmany(self.row_cap + 1)
            return [d[0] for d in cursor.description or []], rows
        except sqlite3.OperationalError as error:
            if "interrupted" in str(error):
                raise QueryFailed(f"The query timed out after {self.timeout:g} s.") from None
            raise QueryFailed(str(error)) from None
        except sqlite3.DatabaseError as error:
            raise QueryFailed(str(error)) from None
        finally:
            connection.close()

    def _run_postgres(self, sql: str) -> tuple[list[str], list[tuple]]:
        import pg8000.dbapi

        try:
            connection = pg8000.dbapi.connect(**self._connect_kwargs)
        except Exception as error:
            raise QueryFailed(f"The database is unreachable: {type(error).__name__}") from None
        try:
            # One statement through the extended protocol: the server itself refuses a second one.
            connection.execute_simple("START TRANSACTION READ ONLY")
            connection.execute_simple(f"SET LOCAL statement_timeout = {int(self.timeout * 1000)}")
            connection.execute_simple(f"SET LOCAL search_path = {_quote_ident(self.schema or 'public')}")
            context = connection.execute_unnamed(sql)
            columns = [c["name"] for c in context.columns or []]
            return columns, list(context.rows or [])[: self.row_cap + 1]
        except pg8000.dbapi.DatabaseError as error:
            detail = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
            if detail.get("C") == "57014":
                raise QueryFailed(f"The query timed out after {self.timeout:g} s.") from None
            raise QueryFailed(detail.get("M") or str(error)[:300]) from None
        finally:
            try:
                connection.execute_simple("ROLLBACK")
            except Exception:  # the connection is closed below either way
                pass
            connection.close()


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_SQLITE_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})


def _sqlite_authorizer(allowed_tables: frozenset[str]):
    """Second layer for SQLite: reads of allowed tables of the main database, harmless functions, nothing else."""

    def authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None) -> int:
        if action == sqlite3.SQLITE_FUNCTION:
            return sqlite3.SQLITE_DENY if (arg2 or "").lower() in _SQLITE_DENIED_FUNCTIONS else sqlite3.SQLITE_OK
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_RECURSIVE):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ and db in (None, "main") and (arg1 or "").lower() in allowed_tables:
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    return authorize
