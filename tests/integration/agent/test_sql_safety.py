"""``query_database`` against hostile SQL, on SQLite and on the real PostgreSQL.

Every statement of the corpus must be refused (``UnsafeQuery``), fail in the
database (``QueryFailed``), or be harmless: its rows carry no secret and the
database is byte-for-byte (SQLite) or row-for-row (PostgreSQL) unchanged
afterwards, with no file written outside it.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import sqlite3
import time
import uuid
from pathlib import Path

import pytest

from services.agent.sql import QueryFailed, SqlDatabase, SqlGuard, UnsafeQuery
from tests.support.fixtures.agent import SAMPLE_DB

CANARY = "TOPSECRET-CANARY"
PWNED = "/tmp/agenthub-pwned"
TIMEOUT = 1.0

HOSTILE = [
    # plain writes and DDL
    "DROP TABLE customers",
    "DELETE FROM customers",
    "UPDATE customers SET name = 'x'",
    "INSERT INTO customers (id, name) VALUES (99, 'x')",
    "REPLACE INTO customers VALUES (1, 'x', 'y', 'z')",
    "INSERT OR REPLACE INTO customers VALUES (1, 'x', 'y', 'z')",
    "ALTER TABLE customers ADD COLUMN pwned TEXT",
    "TRUNCATE customers",
    "TRUNCATE TABLE customers",
    "CREATE TABLE stolen AS SELECT * FROM customers",
    "CREATE TEMP TABLE t AS SELECT 1",
    "CREATE VIEW v AS SELECT * FROM customers",
    "CREATE INDEX i ON customers(name)",
    "GRANT ALL ON customers TO PUBLIC",
    "VACUUM",
    "REINDEX customers",
    "ANALYZE customers",
    # stacked statements and comment tricks
    "SELECT 1; DROP TABLE customers",
    "SELECT 1; DELETE FROM customers;",
    "SELECT * FROM customers; -- harmless\nDROP TABLE orders",
    "SELECT * FROM customers /* ; DROP TABLE orders; */",
    "SELECT * FROM customers WHERE name = 'a'; DROP TABLE orders; --'",
    "SeLeCt * FrOm customers; dRoP tAbLe orders",
    "SELECT * FROM customers\x00; DROP TABLE orders",
    "/*!50000 DROP TABLE customers */",
    "-- comment only",
    "SELECT 1 -- ; DROP TABLE customers\n; DROP TABLE orders",
    "SELECT 'x'';DROP TABLE customers;--' AS s",
    # transaction control
    "COMMIT; DELETE FROM customers",
    "BEGIN; DELETE FROM customers; COMMIT",
    "ROLLBACK; DROP TABLE customers",
    "SET TRANSACTION READ WRITE",
    "SET statement_timeout = 0",
    "SELECT set_config('statement_timeout', '0', false)",
    # writes hidden in CTEs and subqueries
    "WITH d AS (DELETE FROM customers RETURNING *) SELECT * FROM d",
    "WITH u AS (UPDATE customers SET name = 'x' RETURNING id) SELECT * FROM u",
    "WITH i AS (INSERT INTO customers (id, name) VALUES (100, 'x') RETURNING id) SELECT * FROM i",
    "SELECT * FROM (DELETE FROM customers RETURNING *) AS d",
    "SELECT 'a' || (DELETE FROM customers)",
    "EXPLAIN ANALYZE DELETE FROM customers",
    # SELECT INTO, COPY, locks
    "SELECT * INTO stolen FROM customers",
    "SELECT id INTO TEMPORARY stolen FROM customers",
    "COPY customers TO '/tmp/agenthub-pwned.csv'",
    "COPY (SELECT * FROM customers) TO PROGRAM 'touch /tmp/agenthub-pwned'",
    "COPY customers FROM '/etc/passwd'",
    "SELECT * FROM customers FOR UPDATE",
    "LOCK TABLE customers",
    # sleeps and resource exhaustion
    "SELECT pg_sleep(30)",
    "SELECT pg_sleep(30) FROM customers",
    "SELECT * FROM customers WHERE pg_sleep(30) IS NOT NULL",
    "SELECT sleep(30)",
    "SELECT benchmark(100000000, md5('x'))",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
    "SELECT repeat('x', 1000000000)",
    "SELECT zeroblob(1000000000)",
    "SELECT printf('%.*c', 1000000000, 'x')",
    "SELECT lpad('x', 1000000000)",
    # file, extension and network access
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_read_binary_file('/etc/passwd')",
    "SELECT * FROM pg_ls_dir('/')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT lo_export(1, '/tmp/agenthub-pwned')",
    "SELECT load_extension('/tmp/evil.so')",
    "SELECT readfile('/etc/passwd')",
    "SELECT writefile('/tmp/agenthub-pwned', 'x')",
    "SELECT dblink_exec('dbname=test', 'DROP TABLE customers')",
    "SELECT * FROM read_csv('/etc/passwd')",
    # SQLite attach and pragmas
    "ATTACH DATABASE '/tmp/agenthub-pwned.db' AS pwned",
    "DETACH DATABASE main",
    "PRAGMA writable_schema = 1",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA user_version = 42",
    "SELECT * FROM pragma_table_info('customers')",
    # procedures and prepared statements
    "DO $$ BEGIN DELETE FROM customers; END $$",
    "CALL some_proc()",
    "PREPARE p AS DELETE FROM customers",
    "EXECUTE p",
    "SELECT nextval('customers_id_seq')",
    # reading what is not allowed
    "SELECT * FROM secrets",
    "SELECT * FROM customers UNION SELECT id, secret, secret, secret FROM secrets",
    "SELECT (SELECT secret FROM secrets LIMIT 1) AS s",
    "SELECT * FROM customers WHERE EXISTS (SELECT 1 FROM secrets WHERE secret LIKE 'TOP%')",
    "SELECT * FROM sqlite_master",
    "SELECT * FROM main.secrets",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM pg_catalog.pg_user",
    "SELECT * FROM pg_shadow",
    "SELECT current_setting('data_directory')",
    "SELECT version()",
    'SELECT * FROM "secrets"',
    "SELECT * FROM SECRETS",
    "WITH secrets AS (SELECT 1 AS x) SELECT * FROM secrets, main.secrets",
    # CTE names used outside their scope read the real table
    "SELECT * FROM (WITH secrets AS (SELECT 1 AS x) SELECT * FROM secrets) AS a, secrets",
    "WITH a AS (SELECT * FROM secrets), secrets AS (SELECT 1 AS x) SELECT * FROM a",
    "WITH a AS (SELECT 1 AS x) SELECT * FROM a WHERE EXISTS (SELECT 1 FROM secrets)",
    "SELECT * FROM customers WHERE id IN (WITH secrets AS (SELECT 1) SELECT 1) AND EXISTS (SELECT 1 FROM secrets)",
    # harmless by construction
    "SELECT * FROM customers LIMIT 1000000",
    "SELECT count(*) FROM customers a, customers b, customers c, customers d, customers e",
    "SELECT * FROM customers WHERE id = 1 OR 1 = 1",
]


# Statements that look hostile but are one plain SELECT once parsed: they may run.
HARMLESS = {
    "SELECT * FROM customers /* ; DROP TABLE orders; */",
    "SELECT 'x'';DROP TABLE customers;--' AS s",
    "SELECT version()",  # reveals the server version, nothing else
    *HOSTILE[-3:],
}


def test_corpus_is_large_enough():
    assert len(HOSTILE) >= 50 and len(set(HOSTILE)) == len(HOSTILE)


def _run_corpus(database: SqlDatabase) -> dict[str, str]:
    outcomes = {}
    for sql in HOSTILE:
        started = time.monotonic()
        try:
            result = database.query(sql)
        except UnsafeQuery as error:
            outcomes[sql] = f"refused: {error}"
        except QueryFailed as error:
            outcomes[sql] = f"failed: {error}"
        else:
            flat = repr(result.rows)
            assert CANARY not in flat, f"{sql!r} leaked the secret"
            assert "root:" not in flat, f"{sql!r} read a file"
            assert len(result.rows) <= database.row_cap
            outcomes[sql] = f"ran: {len(result.rows)} rows"
        assert time.monotonic() - started < TIMEOUT + 2, f"{sql!r} outlived the timeout"
    return outcomes


def _no_files_written() -> None:
    assert not glob.glob(PWNED + "*"), "a statement wrote a file"


# -- SQLite ----------------------------------------------------------------------------


@pytest.fixture
def sqlite_db(tmp_path) -> Path:
    path = tmp_path / "shop.db"
    shutil.copy(SAMPLE_DB, path)
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("CREATE TABLE secrets (id INTEGER PRIMARY KEY, secret TEXT)")
        connection.execute("INSERT INTO secrets (secret) VALUES (?)", (CANARY,))
    connection.close()
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sqlite_hostile_corpus_changes_nothing(sqlite_db):
    for leftover in glob.glob(PWNED + "*"):
        os.unlink(leftover)
    before = _digest(sqlite_db)
    database = SqlDatabase.from_url(
        f"sqlite:///{sqlite_db}", timeout=TIMEOUT, tables=["customers", "orders", "order_items", "products"]
    )
    outcomes = _run_corpus(database)
    assert _digest(sqlite_db) == before, "the database file changed"
    assert sorted(p.name for p in sqlite_db.parent.iterdir()) == ["shop.db"]  # no journal, no attached file
    _no_files_written()
    ran = [sql for sql, outcome in outcomes.items() if outcome.startswith("ran")]
    assert set(ran) <= HARMLESS, ran  # only the harmless ones ran at all


def test_sqlite_timeout_and_row_cap(sqlite_db):
    database = SqlDatabase.from_url(f"sqlite:///{sqlite_db}", timeout=0.5, row_cap=5)
    result = database.query("SELECT a.id FROM customers a, customers b")
    assert len(result.rows) == 5 and result.truncated
    assert "only the first 5 rows" in result.for_model()["note"]
    started = time.monotonic()
    with pytest.raises(QueryFailed, match=r"timed out after 0\.5 s"):
        database.query(
            "SELECT count(*) FROM customers a, customers b, customers c, customers d, customers e, "
            "customers f, customers g, customers h, customers i, customers j"
        )
    assert time.monotonic() - started < 2


def test_the_authorizer_stops_what_the_parser_missed(sqlite_db):
    """Layer two alone: a guard that let everything through still cannot write."""
    database = SqlDatabase.from_url(f"sqlite:///{sqlite_db}", tables=["customers", "orders"])
    before = _digest(sqlite_db)
    for sql in [
        "DELETE FROM customers",
        "ATTACH DATABASE '/tmp/agenthub-pwned.db' AS x",
        "PRAGMA user_version = 42",
        "CREATE TABLE x (a)",
        "SELECT load_extension('x')",
        "SELECT * FROM secrets",
        "SELECT * FROM sqlite_master",
        "SELECT * FROM (WITH secrets AS (SELECT 1) SELECT * FROM secrets) AS a, secrets",
    ]:
        with pytest.raises(QueryFailed):
            database._run_sqlite(sql)
    with pytest.raises(QueryFailed, match="too big"):
        database._run_sqlite("SELECT length(zeroblob(100000000))")
    assert database._run_sqlite(
        "WITH c AS (SELECT name FROM customers) SELECT count(*) FROM c, orders", frozenset({"c"})
    )[1] == [(60,)]
    assert database.query(
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 9) SELECT count(*) FROM r"
    ).rows == [[9]]
    assert _digest(sqlite_db) == before
    _no_files_written()


def test_guard_accepts_ordinary_queries_and_caps_them():
    guard = SqlGuard("sqlite", frozenset({"customers", "orders"}), row_cap=200)
    assert (
        guard.check("select name from customers order by name") == "SELECT name FROM customers ORDER BY name LIMIT 201"
    )
    assert guard.check("SELECT name FROM customers LIMIT 10;") == "SELECT name FROM customers LIMIT 10"
    checked = guard.check(
        "WITH big AS (SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id) "
        "SELECT c.name, big.n FROM customers c JOIN big ON big.customer_id = c.id "
        "UNION ALL SELECT 'total', count(*) FROM orders"
    )
    assert checked.endswith("LIMIT 201") and "capped" in checked
    assert "--" not in guard.check("SELECT name FROM customers -- a comment")
    # CTEs in scope are fine, recursive ones included
    guard.check("WITH a AS (SELECT id FROM customers), b AS (SELECT * FROM a) SELECT * FROM b")
    guard.check("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r")
    guard.check("SELECT * FROM (WITH x AS (SELECT 1 AS v) SELECT * FROM x) AS y")


# -- PostgreSQL --------------------------------------------------------------------------

PG = dict(user="postgres", host="127.0.0.1", port=5432, database="test")


@pytest.fixture
def pg_schema():
    pg8000 = pytest.importorskip("pg8000.native")
    try:
        admin = pg8000.Connection(**PG)
    except Exception as error:  # pragma: no cover - CI always has PostgreSQL
        pytest.skip(f"PostgreSQL unreachable: {error}")
    schema = f"agent_sql_{uuid.uuid4().hex[:10]}"
    other = schema + "_other"
    admin.run(f"CREATE SCHEMA {schema}")
    admin.run(f"CREATE SCHEMA {other}")
    admin.run(f"CREATE TABLE {schema}.customers (id serial PRIMARY KEY, name text, city text, joined_on text)")
    admin.run(f"CREATE TABLE {schema}.orders (id serial PRIMARY KEY, customer_id int, status text)")
    admin.run(f"CREATE TABLE {schema}.secrets (id serial PRIMARY KEY, secret text)")
    admin.run(f"CREATE TABLE {other}.secrets (id serial PRIMARY KEY, secret text)")
    admin.run(
        f"INSERT INTO {schema}.customers (name, city, joined_on) VALUES ('Ada', 'London', '2024-01-01'),"
        "('Grace', 'New York', '2024-02-01'), ('Alan', 'Manchester', '2024-03-01')"
    )
    admin.run(f"INSERT INTO {schema}.orders (customer_id, status) VALUES (1, 'shipped'), (2, 'pending')")
    admin.run(f"INSERT INTO {schema}.secrets (secret) VALUES (:s)", s=CANARY)
    admin.run(f"INSERT INTO {other}.secrets (secret) VALUES (:s)", s=CANARY)
    try:
        yield admin, schema, other
    finally:
        admin.run(f"DROP SCHEMA {schema} CASCADE")
        admin.run(f"DROP SCHEMA {other} CASCADE")
        admin.close()


def _pg_snapshot(admin, schema: str, other: str) -> dict:
    snapshot = {
        "tables": admin.run(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables "
            "WHERE table_schema IN (:a, :b) ORDER BY 1, 2",
            a=schema,
            b=other,
        ),
        "columns": admin.run(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema IN (:a, :b) ORDER BY 1, 2",
            a=schema,
            b=other,
        ),
        "large_objects": admin.run("SELECT count(*) FROM pg_largeobject_metadata"),
        "schemas": admin.run("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'agent_sql_%' ORDER BY 1"),
        "privileges": admin.run(
            "SELECT grantee, privilege_type FROM information_schema.table_privileges "
            "WHERE table_schema = :a ORDER BY 1, 2",
            a=schema,
        ),
        "sequences": admin.run(f"SELECT last_value FROM {schema}.customers_id_seq"),
    }
    for table in ("customers", "orders", "secrets"):
        snapshot[table] = admin.run(f"SELECT * FROM {schema}.{table} ORDER BY id")
    snapshot["other"] = admin.run(f"SELECT * FROM {other}.secrets ORDER BY id")
    return snapshot


def test_postgres_hostile_corpus_changes_nothing(pg_schema):
    admin, schema, other = pg_schema
    for leftover in glob.glob(PWNED + "*"):
        os.unlink(leftover)
    before = _pg_snapshot(admin, schema, other)
    database = SqlDatabase.from_url(
        f"postgresql://postgres@127.0.0.1:5432/test?schema={schema}", timeout=TIMEOUT, tables=["customers", "orders"]
    )
    assert "customers(" in database.describe() and "secrets" not in database.describe()
    corpus = [
        *HOSTILE,
        f"SELECT * FROM {other}.secrets",
        f"SELECT * FROM {schema}.secrets",
        f"SELECT * FROM test.{schema}.customers",
    ]
    outcomes = {}
    for sql in corpus:
        try:
            outcomes[sql] = f"ran: {database.query(sql).rows!r}"
            assert CANARY not in outcomes[sql] and "root:" not in outcomes[sql]
        except (UnsafeQuery, QueryFailed) as error:
            outcomes[sql] = f"stopped: {error}"
    assert _pg_snapshot(admin, schema, other) == before
    _no_files_written()
    assert {s for s, o in outcomes.items() if o.startswith("ran")} <= HARMLESS
    # nothing left open or locked by the agent
    assert admin.run(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'agenthub-agent-sql' AND state <> 'idle'"
    ) == [[0]]


def test_postgres_read_only_transaction_and_timeout_hold_without_the_parser(pg_schema):
    """Layer two alone: the READ ONLY transaction refuses writes, the statement timeout ends sleeps."""
    admin, schema, other = pg_schema
    before = _pg_snapshot(admin, schema, other)
    database = SqlDatabase.from_url(f"postgresql://postgres@127.0.0.1:5432/test?schema={schema}", timeout=TIMEOUT)
    with pytest.raises(QueryFailed, match="read-only transaction"):
        database._run_postgres("DELETE FROM customers")
    with pytest.raises(QueryFailed, match="read-only transaction"):
        database._run_postgres("WITH d AS (DELETE FROM customers RETURNING *) SELECT * FROM d")
    with pytest.raises(QueryFailed):
        database._run_postgres("SELECT 1; DELETE FROM customers")  # one statement per extended query
    started = time.monotonic()
    with pytest.raises(QueryFailed, match="timed out"):
        database._run_postgres("SELECT pg_sleep(30)")
    assert time.monotonic() - started < TIMEOUT + 2
    assert _pg_snapshot(admin, schema, other) == before


def test_postgres_row_cap_states_truncation(pg_schema):
    _, schema, _ = pg_schema
    database = SqlDatabase.from_url(f"postgresql://postgres@127.0.0.1:5432/test?schema={schema}", row_cap=2)
    result = database.query("SELECT name FROM customers ORDER BY id")
    assert result.rows == [["Ada"], ["Grace"]] and result.truncated
    assert result.for_model()["note"].startswith("Result truncated")
