"""Nameko entrypoints of the auth service: validate, call the domain, serialise.

Identity comes only from ``self.caller`` (the verified token in the RPC
context), except in ``register``, ``login``, ``refresh`` and
``authenticate_api_key``, which exist to establish one. The method table is in
``schema/auth.py``.
"""

from __future__ import annotations

import logging
import time

from nameko.events import event_handler
from nameko.timer import timer
from sqlalchemy import text

from core import __version__
from schema.auth import ApiKeyInput, AuditFilter, LoginInput, PageArgs, RegisterInput
from schema.errors import AgentHubError, BadUserInput
from schema.models import AuditEvent
from schema.permissions import Permission
from schema.validation import parse
from services.auth.dependencies import Auth, request_meta
from services.common.audit import AUDIT_EVENT_TYPE
from services.common.dependencies import Redis, RequestLog
from services.common.health import redis_check, report
from services.common.identity import CallerProvider
from services.common.rpc import rpc
from services.common.settings import ServiceSettings

log = logging.getLogger("agenthub.auth")

# read at import: Nameko's timer takes its interval when the class is defined
PURGE_INTERVAL = ServiceSettings().audit_purge_interval

# domain errors are answers, not faults: Nameko logs them as warnings, not as errors
api = rpc(expected_exceptions=(AgentHubError,))

REVOCATION_CHECK_SECONDS = 2


class AuthService:
    name = "auth"

    redis = Redis()
    auth = Auth()
    caller = CallerProvider()
    request_log = RequestLog()

    @rpc
    def health(self) -> dict:
        def database() -> str:
            with self.auth.sf() as session:
                session.execute(text("SELECT 1"))
            return self.auth.sf.kw["bind"].dialect.name

        checks = {"redis": redis_check(self.redis), "database": database}
        return report(self.name, __version__, checks).model_dump(mode="json")

    # -- anyone ------------------------------------------------------------------

    @api
    def register(self, data) -> dict:
        return self.auth.users.register(parse(RegisterInput, data), request_meta(self.caller)).model_dump(mode="json")

    @api
    def login(self, data) -> dict:
        return self.auth.sessions.login(parse(LoginInput, data), request_meta(self.caller)).model_dump(mode="json")

    @api
    def refresh(self, refresh_token) -> dict:
        return self.auth.sessions.refresh(refresh_token, request_meta(self.caller)).model_dump(mode="json")

    @api
    def authenticate_api_key(self, key) -> dict:
        return self.auth.api_keys.authenticate_api_key(key, request_meta(self.caller)).model_dump(mode="json")

    # -- signed in ---------------------------------------------------------------

    @api
    def logout(self) -> bool:
        return self.auth.sessions.logout(self.caller.require(), request_meta(self.caller))

    @api
    def me(self) -> dict:
        return self.auth.users.me(self.caller.require()).model_dump(mode="json")

    @api
    def sessions(self) -> list[dict]:
        return [s.model_dump(mode="json") for s in self.auth.sessions.sessions(self.caller.require(Permission.MANAGE_ACCOUNT))]

    @api
    def revoke_session(self, session_id) -> bool:
        return self.auth.sessions.revoke_session(self.caller.require(Permission.MANAGE_ACCOUNT), session_id, request_meta(self.caller))

    @api
    def create_api_key(self, data) -> dict:
        identity = self.caller.require(Permission.MANAGE_ACCOUNT)
        created = self.auth.api_keys.create_api_key(identity, parse(ApiKeyInput, data), request_meta(self.caller))
        return created.model_dump(mode="json")

    @api
    def api_keys(self) -> list[dict]:
        return [k.model_dump(mode="json") for k in self.auth.api_keys.api_keys(self.caller.require(Permission.MANAGE_ACCOUNT))]

    @api
    def revoke_api_key(self, key_id) -> bool:
        return self.auth.api_keys.revoke_api_key(self.caller.require(Permission.MANAGE_ACCOUNT), key_id, request_meta(self.caller))

    # -- admin -------------------------------------------------------------------

    @api
    def users(self, first=20, after=None, search=None) -> dict:
        self.caller.require(Permission.MANAGE_USERS)
        page = parse(PageArgs, _given(first=first, after=after))
        return self.auth.users.users(page, search).model_dump(mode="json")

    @api
    def set_user_role(self, user_id, role) -> dict:
        identity = self.caller.require(Permission.MANAGE_USERS)
        return self.auth.users.set_user_role(identity, user_id, role, request_meta(self.caller)).model_dump(mode="json")

    @api
    def set_user_active(self, user_id, active) -> dict:
        identity = self.caller.require(Permission.MANAGE_USERS)
        return self.auth.users.set_user_active(identity, user_id, active,
                                               request_meta(self.caller)).model_dump(mode="json")

    @api
    def audit_log(self, filter=None, first=20, after=None) -> dict:  # noqa: A002 - the contract's name
        self.caller.require(Permission.READ_SYSTEM)
        audit_filter = parse(AuditFilter, filter or {})
        page = parse(PageArgs, _given(first=first, after=after))
        return self.auth.audit.audit_log(audit_filter, page).model_dump(mode="json")

    # -- other services and the gateway --------------------------------------------

    @api
    def publish_revocations(self) -> bool:
        """The edge found the revocation epoch missing in Redis: republish from the database
        (the truth) unless another caller just did. True when this call republished."""
        return self.auth.revocations.ensure_published()

    @timer(interval=REVOCATION_CHECK_SECONDS)
    def keep_revocations_published(self) -> None:
        """Redis restarted empty, or a revocation failed to reach it: republish within seconds."""
        try:
            if self.auth.revocations.ensure_published():
                log.warning("revocation state republished (Redis had lost it or missed a write)")
        except Exception as exc:  # Redis still down: the next tick tries again
            log.info("revocations not republished yet", extra={"fields": {"error": str(exc)[:200]}})

    @api
    def record_audit(self, event) -> None:
        self.auth.audit.record_audit(parse(AuditEvent, event))

    @event_handler("rag", AUDIT_EVENT_TYPE, reliable_delivery=True, requeue_on_error=True)
    def on_rag_audit(self, payload) -> None:
        self._store_event("rag", payload)

    @event_handler("agent", AUDIT_EVENT_TYPE, reliable_delivery=True, requeue_on_error=True)
    def on_agent_audit(self, payload) -> None:
        self._store_event("agent", payload)

    @event_handler("gateway", AUDIT_EVENT_TYPE, reliable_delivery=True, requeue_on_error=True)
    def on_gateway_audit(self, payload) -> None:
        self._store_event("gateway", payload)

    @timer(interval=PURGE_INTERVAL, eager=True)
    def purge_audit(self) -> None:
        """Retention: every instance runs it; deleting what is already gone costs one query."""
        self.auth.audit.purge_audit()

    def _store_event(self, source: str, payload) -> None:
        try:
            event = parse(AuditEvent, payload)
        except BadUserInput as exc:  # a malformed event would be redelivered forever: log it and drop it
            log.warning("invalid audit event dropped", extra={"fields": {"source": source, "error": str(exc)}})
            return
        try:
            self.auth.audit.record_audit(event)
        except Exception:
            time.sleep(1)  # greened: the database is down; back off before the broker redelivers
            raise


def _given(**values) -> dict:
    """Arguments the caller passed (a GraphQL null means "the default")."""
    return {key: value for key, value in values.items() if value is not None}
