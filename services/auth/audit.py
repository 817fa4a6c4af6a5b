"""The audit log: rows built and redacted, written, read by admins, kept bounded, exported.

* Rows describing a change are written in the same transaction as the change
  (the aggregates add ``audit_row(...)`` to their session); ``AuditLog.write``
  is for events that change nothing else (a refused login, a rate limit).
* No secret reaches a row: details named like a password, token, key or
  credential are redacted.
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
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import sessionmaker

from core.cursor import decode_cursor, encode_cursor
from schema.auth import AuditEntryOut, AuditFilter, Page, PageArgs
from schema.errors import BadUserInput, RateLimited
from schema.models import ActorType, AuditEvent, Identity, Outcome
from services.auth.common import RequestMeta, as_utc, clip, utcnow
from services.auth.models import AuditRow
from services.common.settings import ServiceSettings

log = logging.getLogger("agenthub.auth")

SECRET_DETAIL_WORDS = ("password", "passwd", "secret", "authorization", "credential")
SECRET_DETAIL_KEYS = ("key", "apikey", "api_key")  # a detail named like this, or ending in "token", is redacted
PURGE_BATCH = 5000
_COLUMNS = [column.key for column in AuditRow.__table__.columns]


def redact(detail: dict[str, Any]) -> dict[str, str]:
    clean = {}
    for key, value in list(detail.items())[:50]:
        key = str(key)[:100]
        lowered = key.lower()
        secret = (
            any(word in lowered for word in SECRET_DETAIL_WORDS)
            or lowered.endswith("token")
            or lowered in SECRET_DETAIL_KEYS
        )
        clean[key] = "[redacted]" if secret else str(value)[:1000]
    return clean


def audit_row(
    action: str,
    *,
    outcome: Outcome | str = Outcome.SUCCESS,
    meta: RequestMeta | None = None,
    identity: Identity | None = None,
    actor: str | None = None,
    actor_type: ActorType | str | None = None,
    api_key_id: str | None = None,
    resource: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditRow:
    """One audit row; the actor comes from ``identity`` unless given."""
    meta = meta or RequestMeta()
    if identity is not None:
        actor = actor or identity.user_id
        actor_type = actor_type or identity.actor_type
        api_key_id = api_key_id or identity.api_key_id
    actor_type = actor_type or (ActorType.USER if actor else ActorType.ANONYMOUS)
    return AuditRow(
        id=str(uuid.uuid4()),
        at=at or utcnow(),
        actor=clip(actor, 100),
        actor_type=str(getattr(actor_type, "value", actor_type))[:16],
        api_key_id=clip(api_key_id, 100),
        action=str(action)[:100],
        resource=clip(resource, 200),
        outcome=str(getattr(outcome, "value", outcome))[:16],
        ip=clip(meta.ip, 64),
        user_agent=clip(meta.user_agent, 512),
        request_id=clip(meta.request_id, 100),
        detail=redact(detail or {}),
    )


def audit_out(row: AuditRow) -> AuditEntryOut:
    return AuditEntryOut(
        id=row.id,
        at=row.at,
        actor=row.actor,
        actor_type=row.actor_type,
        api_key_id=row.api_key_id,
        action=row.action,
        resource=row.resource,
        outcome=row.outcome,
        ip=row.ip,
        user_agent=row.user_agent,
        request_id=row.request_id,
        detail={str(k): str(v) for k, v in (row.detail or {}).items()},
    )


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
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "actor": row.actor,
        "actor_type": row.actor_type,
        "api_key_id": row.api_key_id,
        "action": row.action,
        "resource": row.resource,
        "outcome": row.outcome,
        "ip": row.ip,
        "user_agent": row.user_agent,
        "request_id": row.request_id,
        "detail": row.detail or {},
    }


def export_lines(
    sf: sessionmaker, since: datetime | None = None, until: datetime | None = None, chunk: int = 1000
) -> Iterator[str]:
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


class AuditLog:
    """The audit aggregate: events from the other services and the gateway, the admins' reads, retention."""

    def __init__(
        self, session_factory: sessionmaker, settings: ServiceSettings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.sf = session_factory
        self.settings = settings
        self.now = clock

    def write(self, row: AuditRow) -> None:
        """An audit row in a transaction of its own (events that change nothing else)."""
        with self.sf.begin() as session:
            session.add(row)

    def rate_limited(
        self, operation: str, refused: list[tuple[str, Any]], meta: RequestMeta, detail: dict[str, str]
    ) -> RateLimited:
        """Records a refusal by a rate limit (scope, decision pairs) and returns the error to raise."""
        retry_after = max(decision.retry_after for _, decision in refused)
        scopes = ",".join(scope for scope, _ in refused)
        self.write(
            audit_row(
                "rate_limited",
                outcome=Outcome.DENIED,
                meta=meta,
                resource=f"operation:{operation}",
                detail={**detail, "operation": operation, "limit": scopes, "retryAfter": str(retry_after)},
                at=self.now(),
            )
        )
        return RateLimited(
            f"Too many attempts. Try again in {retry_after} s.", {"retryAfter": retry_after, "operation": operation}
        )

    def record_audit(self, event: AuditEvent) -> None:
        """Store an event another service (or the gateway) sent."""
        at = self.now()
        if event.at is not None:
            try:
                at = datetime.fromtimestamp(float(event.at), UTC)
            except (OverflowError, OSError, ValueError):
                pass
        row = audit_row(
            event.action,
            outcome=event.outcome,
            actor=event.actor,
            actor_type=event.actor_type,
            api_key_id=event.api_key_id,
            resource=event.resource,
            meta=RequestMeta(event.ip, event.user_agent, event.request_id),
            detail=event.detail,
            at=at,
        )
        if event.id:  # the sender's id: a redelivery of the same event is ignored
            row.id = event.id
        if not insert_once(self.sf, row):
            log.info("duplicate audit event ignored", extra={"fields": {"event_id": row.id}})

    def purge_audit(self, retention_days: int | None = None) -> int:
        """Delete audit rows older than the retention limit (0: keep everything)."""
        if retention_days is None:
            retention_days = self.settings.audit_retention_days
        if retention_days <= 0:
            return 0
        deleted = purge_before(self.sf, self.now() - timedelta(days=retention_days))
        if deleted:
            log.info(
                "audit rows past retention deleted",
                extra={"fields": {"deleted": deleted, "retention_days": retention_days}},
            )
        return deleted

    def audit_log(self, audit_filter: AuditFilter, page: PageArgs) -> Page[AuditEntryOut]:
        query = select(AuditRow)
        if audit_filter.actor:
            query = query.where(AuditRow.actor == audit_filter.actor)
        if audit_filter.action:
            query = query.where(AuditRow.action == audit_filter.action)
        if audit_filter.since:
            query = query.where(AuditRow.at >= as_utc(audit_filter.since))
        if audit_filter.until:
            query = query.where(AuditRow.at <= as_utc(audit_filter.until))
        if page.after:
            at_text, row_id = decode_cursor(page.after, 2)
            try:
                at = as_utc(datetime.fromisoformat(at_text))
            except ValueError:
                raise BadUserInput.for_fields({"after": "is not a valid cursor"}) from None
            query = query.where(or_(AuditRow.at < at, and_(AuditRow.at == at, AuditRow.id < row_id)))
        query = query.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(page.first + 1)
        with self.sf() as session:
            rows = list(session.scalars(query))
        items, more = rows[: page.first], len(rows) > page.first
        cursor = encode_cursor(items[-1].at, items[-1].id) if items else None
        return Page[AuditEntryOut](items=[audit_out(r) for r in items], end_cursor=cursor, has_next_page=more)
