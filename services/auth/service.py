"""Nameko entrypoints of the auth service: each one operation of ``schema/auth.py``, a domain call.

``@operation`` checks the declared access against ``self.caller`` (the verified token in the RPC
context), parses the input and dumps the output (``services/common/entrypoint.py``). Identity never
comes from arguments, except in the public operations that exist to establish one.
"""

from __future__ import annotations

import logging
import time

from nameko.timer import timer
from sqlalchemy import text

from core import __version__
from schema import auth as api  # the class attribute `auth` is the domain
from schema.errors import BadUserInput
from schema.models import AuditEvent, Identity
from schema.validation import parse
from services.auth.dependencies import Auth, request_meta
from services.common.audit import AUDIT_EVENT_TYPE
from services.common.consumers import event_handler
from services.common.dependencies import Redis, RequestLog
from services.common.entrypoint import operation
from services.common.health import redis_check, report
from services.common.identity import CallerProvider
from services.common.rpc import rpc
from services.common.settings import ServiceSettings
from services.common.status import status_probe

log = logging.getLogger("agenthub.auth")

# read at import: Nameko's timer takes its interval when the class is defined
PURGE_INTERVAL = ServiceSettings().audit_purge_interval

REVOCATION_CHECK_SECONDS = 2


class AuthService:
    name = "auth"

    redis = Redis()
    auth = Auth()
    caller = CallerProvider()
    request_log = RequestLog()

    @rpc
    @status_probe  # agenthub status asks every instance at once (services/common/status.py)
    def health(self) -> dict:
        def database() -> str:
            with self.auth.sf() as session:
                session.execute(text("SELECT 1"))
            return self.auth.sf.kw["bind"].dialect.name

        checks = {"redis": redis_check(self.redis), "database": database}
        return report(self.name, __version__, checks).model_dump(mode="json")

    # -- anyone ------------------------------------------------------------------

    @operation(api.REGISTER)
    def register(self, identity: None, data: api.RegisterInput) -> api.UserOut:
        return self.auth.users.register(data, request_meta(self.caller))

    @operation(api.LOGIN)
    def login(self, identity: None, data: api.LoginInput) -> api.TokenPair:
        return self.auth.sessions.login(data, request_meta(self.caller))

    @operation(api.REFRESH)
    def refresh(self, identity: None, data: api.RefreshInput) -> api.TokenPair:
        return self.auth.sessions.refresh(data.refresh_token, request_meta(self.caller))

    @operation(api.AUTHENTICATE_API_KEY)
    def authenticate_api_key(self, identity: None, data: api.ApiKeyCredential) -> api.ApiKeyGrant:
        return self.auth.api_keys.authenticate_api_key(data.key, request_meta(self.caller))

    # -- signed in ---------------------------------------------------------------

    @operation(api.LOGOUT)
    def logout(self, identity: Identity) -> bool:
        return self.auth.sessions.logout(identity, request_meta(self.caller))

    @operation(api.ME)
    def me(self, identity: Identity) -> api.UserOut:
        return self.auth.users.me(identity)

    @operation(api.SESSIONS)
    def sessions(self, identity: Identity) -> list[api.SessionOut]:
        return self.auth.sessions.sessions(identity)

    @operation(api.REVOKE_SESSION)
    def revoke_session(self, identity: Identity, data: api.SessionRef) -> bool:
        return self.auth.sessions.revoke_session(identity, data.session_id, request_meta(self.caller))

    @operation(api.CREATE_API_KEY)
    def create_api_key(self, identity: Identity, data: api.ApiKeyInput) -> api.CreatedApiKey:
        return self.auth.api_keys.create_api_key(identity, data, request_meta(self.caller))

    @operation(api.API_KEYS)
    def api_keys(self, identity: Identity) -> list[api.ApiKeyOut]:
        return self.auth.api_keys.api_keys(identity)

    @operation(api.REVOKE_API_KEY)
    def revoke_api_key(self, identity: Identity, data: api.ApiKeyRef) -> bool:
        return self.auth.api_keys.revoke_api_key(identity, data.key_id, request_meta(self.caller))

    # -- admin -------------------------------------------------------------------

    @operation(api.USERS)
    def users(self, identity: Identity, data: api.UsersInput) -> api.Page[api.UserOut]:
        return self.auth.users.users(data, data.search)

    @operation(api.SET_USER_ROLE)
    def set_user_role(self, identity: Identity, data: api.SetUserRoleInput) -> api.UserOut:
        return self.auth.users.set_user_role(identity, data.user_id, data.role, request_meta(self.caller))

    @operation(api.SET_USER_ACTIVE)
    def set_user_active(self, identity: Identity, data: api.SetUserActiveInput) -> api.UserOut:
        return self.auth.users.set_user_active(identity, data.user_id, data.active, request_meta(self.caller))

    @operation(api.AUDIT_LOG)
    def audit_log(self, identity: Identity, data: api.AuditLogInput) -> api.Page[api.AuditEntryOut]:
        return self.auth.audit.audit_log(data.filter, data.page)

    # -- other services and the gateway --------------------------------------------

    @operation(api.PUBLISH_REVOCATIONS)
    def publish_revocations(self, identity: None) -> bool:
        return self.auth.revocations.ensure_published()

    @operation(api.RECORD_AUDIT)
    def record_audit(self, identity: None, event: AuditEvent) -> None:
        self.auth.audit.record_audit(event)

    @timer(interval=REVOCATION_CHECK_SECONDS)
    def keep_revocations_published(self) -> None:
        """Redis restarted empty, or a revocation failed to reach it: republish within seconds."""
        try:
            if self.auth.revocations.ensure_published():
                log.warning("revocation state republished (Redis had lost it or missed a write)")
        except Exception as exc:  # Redis still down: the next tick tries again
            log.info("revocations not republished yet", extra={"fields": {"error": str(exc)[:200]}})

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
