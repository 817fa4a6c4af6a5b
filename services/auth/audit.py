"""The audit store's exact and bounded side: insert-once, retention, export.

* Exactly once in effect: events arrive at least once (durable Nameko events,
  redelivered after a crash), each carrying the id its sender gave it where the
  action happened. The row's primary key is that id and the insert ignores a
  conflict, so a redelivery is a no-op on SQLite and PostgreSQL alike.
* Bounded: ``purge_before`` deletes rows older than the retention limit, in
  batches so no transaction (nor SQLite's write lock) is held for long.
* Exported as JSON lines, oldest first, streamed, for compliance archives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import sessionmaker

from services.auth.models import AuditRow

PURGE_BATCH = 5000
_COLUMNS = [column.key for column in AuditRow.__table__.columns]


def insert_once(sf: sessionmaker, row: AuditRow) -> bool:
    """Store ``row`` unless a row with its id exists; True when it was new."""
    values = {name: getattr(row, name) for name in _COLUMNS}
    with sf.begin() as session:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        result = session.execute(insert(AuditRow).values(**values).on_conflict_do_nothing(index_elements=["id"]))
        return bool(result.rowcount)


def purge_before(sf: sessionmaker, cutoff: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete every row with ``at`` strictly before ``cutoff``; returns how many."""
    deleted = 0
    while True:
        with sf.begin() as session:
            ids = list(session.scalars(select(AuditRow.id).where(AuditRow.at < cutoff).limit(batch)))
            if ids:
                session.execute(delete(AuditRow).where(AuditRow.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < batch:
            return deleted


def entry(row: AuditRow) -> dict:
    """One row as the JSON object the export writes."""
    return {"id": row.id, "at": row.at.isoformat(), "actor": row.actor, "actor_type": row.actor_type,
            "api_key_id": row.api_key_id, "action": row.action, "resource": row.resource,
            "outcome": row.outcome, "ip": row.ip, "user_agent": row.user_agent,
            "request_id": row.request_id, "detail": row.detail or {}}


def export_lines(sf: sessionmaker, since: datetime | None = None, until: datetime | None = None,
                 chunk: int = 1000) -> Iterator[str]:
    """JSON lines of the rows with ``since <= at < until``, oldest first, read in chunks."""
    query = select(AuditRow)
    if since is not None:
        query = query.where(AuditRow.at >= since)
    if until is not None:
        query = query.where(AuditRow.at < until)
    query = query.order_by(AuditRow.at, AuditRow.id).execution_options(yield_per=chunk)
    with sf() as session:
        for row in session.scalars(query):
            yield json.dumps(entry(row), sort_keys=True) + "\n"
