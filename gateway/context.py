"""The typed context every resolver receives, and the services it may call."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.websockets import WebSocket

from core.ratelimit import AsyncLimiter
from gateway.auth import Authenticated, EdgeAuthenticator, Verified
from gateway.invoke import invoke
from gateway.requests import annotate, current_request_id
from gateway.rpc import RpcClient
from gateway.settings import GatewaySettings
from schema.contract import Operation
from schema.errors import AgentHubError, Unauthenticated
from schema.models import ActorType, AuditEvent, Identity, Outcome

log = logging.getLogger("agenthub.gateway")

I = TypeVar("I")  # noqa: E741 - as in schema/contract.py
O = TypeVar("O")  # noqa: E741 - the brief's name: Operation[I, O]


@dataclass
class Context:
    request: Request | WebSocket
    rpc: RpcClient
    settings: GatewaySettings
    edge: EdgeAuthenticator
    limiter: AsyncLimiter
    request_id: str = field(default_factory=current_request_id)
    principal: Identity | None = None
    auth_token: str | None = None
    claims: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None
    auth_error: AgentHubError | None = None
    connection_params: dict[str, Any] | None = None
    # A GraphQL request over HTTP: the token verified in ``get_context``, checked against revocation
    # together with the rate limit by ``OperationGuard`` (one Redis round trip); no principal until then.
    pending: Verified | None = None
    denials: list[tuple[str, str]] = field(default_factory=list)
    open_subscriptions: int = 0  # on this WebSocket (gateway/graphql/live.py)

    @property
    def client_ip(self) -> str | None:
        client = self.request.client
        return client.host if client else None

    @property
    def user_agent(self) -> str | None:
        value = self.request.headers.get("user-agent")
        return value[:256] if value else None

    async def authenticate(self, credential: str | None) -> None:
        """Set the principal from a credential; keep the error if it is bad."""
        self.principal = self.auth_token = self.claims = self.profile = self.auth_error = self.pending = None
        try:
            authenticated = await self.edge.authenticate(credential)
        except AgentHubError as exc:  # Unauthenticated, or auth unreachable for an API key
            self.auth_error = exc
            return
        if authenticated is not None:
            self.accept(authenticated)

    async def verify(self, credential: str | None) -> None:
        """Verify a credential's token, leaving its revocation check to ``OperationGuard`` (``pending``);
        keep the error if it is bad. Until then the caller has no principal."""
        self.principal = self.auth_token = self.claims = self.profile = self.auth_error = self.pending = None
        try:
            self.pending = await self.edge.verify(credential)
        except AgentHubError as exc:  # Unauthenticated, or auth unreachable for an API key
            self.auth_error = exc

    async def check_pending(self) -> None:
        """``pending``'s revocation check on its own (``authenticate``'s path)."""
        pending, self.pending = self.pending, None
        if pending is None:
            return
        try:
            self.accept(await self.edge.check(pending))
        except AgentHubError as exc:  # revoked, or cannot tell (Redis or auth down)
            self.auth_error = exc

    def accept(self, authenticated: Authenticated) -> None:
        """The caller is ``authenticated`` (its token verified and not revoked)."""
        self.principal, self.auth_token, self.claims, self.profile = (
            authenticated.identity,
            authenticated.token,
            authenticated.claims,
            authenticated.profile,
        )
        annotate(user_id=self.principal.user_id)

    def require_principal(self) -> Identity:
        if self.principal is None:
            raise self.auth_error or Unauthenticated("Sign in to do this.")
        return self.principal

    def denied(self, permission: str, field_name: str) -> None:
        """Record a permission denial; audited when the operation ends."""
        self.denials.append((permission, field_name))

    async def invoke(
        self, op: Operation[I, O], data: I | Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> O:
        """Call a declared operation as this caller (identity and request id in the RPC context)."""
        return await invoke(self.rpc, op, data, timeout=timeout, context=self.rpc_context())

    def rpc_context(self) -> Mapping[str, Any]:
        context: dict[str, Any] = {
            "request_id": self.request_id,
            "call_id_stack": [f"gateway.graphql.{self.request_id}"],
            "client_ip": self.client_ip,
            "user_agent": self.user_agent,
        }
        if self.principal is not None:
            context["user_id"] = self.principal.user_id
        if self.auth_token:
            context["auth_token"] = self.auth_token
        return context

    async def audit(
        self, action: str, *, outcome: Outcome, resource: str | None = None, detail: dict[str, str] | None = None
    ) -> None:
        """Send an audit event to the auth service's durable log; never fails the request."""
        principal = self.principal
        event = AuditEvent(
            id=str(uuid.uuid4()),
            action=action,
            outcome=outcome,
            resource=resource,
            actor=principal.user_id if principal else None,
            actor_type=principal.actor_type if principal else ActorType.ANONYMOUS,
            api_key_id=principal.api_key_id if principal else None,
            ip=self.client_ip,
            user_agent=self.user_agent,
            request_id=self.request_id,
            detail=detail or {},
            at=time.time(),
        )
        try:
            # shielded: a cancelled caller (a closed WebSocket) must not cut a publish in half, which
            # would break the channel every other call shares
            await asyncio.shield(self.rpc.publish_event("gateway", "audit", event.model_dump(mode="json")))
        except Exception:  # the broker is down: the request's own log line still records it
            log.warning(
                "audit event not delivered", extra={"fields": {"request_id": self.request_id, "action": action}}
            )
