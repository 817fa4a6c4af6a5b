"""The audit log exact and bounded, on SQLite and PostgreSQL: one row per event id,
retention deleting only what is past the limit, and the JSON lines export."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from schema.models import AuditEvent
from services.auth import audit as audit_store
from services.auth import db
from services.auth.models import AuditRow


def count(engine, **where) -> int:
    query = select(func.count()).select_from(AuditRow)
    for name, value in where.items():
        query = query.where(getattr(AuditRow, name) == value)
    with engine.connect() as connection:
        return connection.execute(query).scalar_one()


def test_a_redelivered_event_is_stored_once(domain, engine):
    event = AuditEvent(
        id=str(uuid.uuid4()), action="document.delete", actor="u-1", actor_type="user", resource="document:1"
    )
    for _ in range(3):
        domain.audit.record_audit(event)
    assert count(engine, id=event.id) == 1
    other = event.model_copy(update={"id": str(uuid.uuid4())})  # the same action done again is a new event
    domain.audit.record_audit(other)
    assert count(engine, action="document.delete") == 2
    domain.audit.record_audit(event.model_copy(update={"id": None}))  # an old sender without ids: stored, given one
    assert count(engine, action="document.delete") == 3


def test_event_ids_are_uuids():
    with pytest.raises(ValueError):
        AuditEvent(id="'; drop table audit_events; --", action="x")


def test_retention_deletes_only_rows_past_the_limit(make_domain, engine, clock):
    domain = make_domain(audit_retention_days=30)
    now = clock.now
    ages = {
        "ancient": 400,
        "old": 31,
        "edge-outside": 30 * 86400 + 1,
        "edge-inside": 30 * 86400 - 60,
        "recent": 1,
        "fresh": 0,
    }
    for name, age in ages.items():
        seconds = age if name.startswith("edge") else age * 86400
        domain.audit.record_audit(
            AuditEvent(id=str(uuid.uuid4()), action=name, at=(now - timedelta(seconds=seconds)).timestamp())
        )
    assert domain.audit.purge_audit() == 3
    with engine.connect() as connection:
        left = set(connection.execute(select(AuditRow.action)).scalars())
    assert left == {"edge-inside", "recent", "fresh"}
    assert make_domain(audit_retention_days=0).audit.purge_audit() == 0  # 0 keeps everything
    assert domain.audit.purge_audit() == 0


def test_purge_works_in_batches(domain, engine, clock):
    for i in range(7):
        domain.audit.record_audit(
            AuditEvent(id=str(uuid.uuid4()), action=f"a{i}", at=(clock.now - timedelta(days=10)).timestamp())
        )
    assert audit_store.purge_before(db.session_factory(engine), clock.now, batch=3) == 7
    assert count(engine) == 0


def test_export_writes_a_time_range_as_json_lines_oldest_first(domain, engine, clock):
    start = clock.now
    for i in range(5):
        domain.audit.record_audit(
            AuditEvent(
                id=str(uuid.uuid4()),
                action=f"step{i}",
                detail={"n": str(i)},
                at=(start + timedelta(minutes=i)).timestamp(),
            )
        )
    lines = list(
        audit_store.export_lines(
            db.session_factory(engine), start + timedelta(minutes=1), start + timedelta(minutes=4), chunk=2
        )
    )
    entries = [json.loads(line) for line in lines]
    assert [e["action"] for e in entries] == ["step1", "step2", "step3"]  # since inclusive, until exclusive
    assert entries[0]["detail"] == {"n": "1"} and entries[0]["at"].endswith("+00:00")
    assert len(list(audit_store.export_lines(db.session_factory(engine)))) == 5
