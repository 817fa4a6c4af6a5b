"""Audit events from inside a service: ``self.audit(action, ...)``.

Events travel as Nameko events (durable queue, at-least-once) to the auth
service, which stores them; a service never writes the audit log itself.
Each event gets its id here, where the action happens, so the store can
recognise a redelivery and keep the event once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from nameko.events import EventDispatcher

from schema.models import ActorType, AuditEvent, Outcome

AUDIT_EVENT_TYPE = "audit"


class AuditDispatcher(EventDispatcher):
    """Injects ``audit(action, *, outcome, resource, caller, detail)``."""

    def get_dependency(self, worker_ctx: Any) -> Callable[..., None]:
        dispatch = super().get_dependency(worker_ctx)
        data = dict(worker_ctx.data)

        def audit(
            action: str,
            *,
            outcome: Outcome = Outcome.SUCCESS,
            resource: str | None = None,
            identity: Any = None,
            detail: dict[str, str] | None = None,
        ) -> None:
            event = AuditEvent(
                id=str(uuid.uuid4()),
                action=action,
                outcome=outcome,
                resource=resource,
                actor=getattr(identity, "user_id", None) or data.get("user_id"),
                actor_type=(
                    identity.actor_type
                    if identity is not None
                    else ActorType.USER
                    if data.get("user_id")
                    else ActorType.ANONYMOUS
                ),
                api_key_id=getattr(identity, "api_key_id", None),
                ip=data.get("client_ip"),
                user_agent=data.get("user_agent"),
                request_id=data.get("request_id"),
                detail=detail or {},
                at=time.time(),
            )
            dispatch(AUDIT_EVENT_TYPE, event.model_dump(mode="json"))

        return audit
