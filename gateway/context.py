"""The typed context every resolver receives, and the services it may call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket

from gateway.requests import current_request_id
from gateway.rpc import RpcClient
from gateway.settings import GatewaySettings


@dataclass
class Principal:
    """Who is calling: set by the auth layer at the edge."""

    user_id: str
    role: str
    permissions: frozenset[str] = frozenset()
    session_id: str | None = None
    api_key_id: str | None = None


@dataclass
class Context:
    request: Request | WebSocket
    rpc: RpcClient
    settings: GatewaySettings
    request_id: str = field(default_factory=current_request_id)
    principal: Principal | None = None
    auth_token: str | None = None
    denials: list[tuple[str, str]] = field(default_factory=list)

    def denied(self, permission: str, field_name: str) -> None:
        """Record a permission denial; the auth layer audits them when the operation ends."""
        self.denials.append((permission, field_name))

    async def call(
        self,
        service: str,
        method: str,
        *args: Any,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call a service with the caller's identity and request id in the RPC context."""
        return await self.rpc.call(service, method, args, kwargs, timeout=timeout, context=self.rpc_context())

    def rpc_context(self) -> Mapping[str, Any]:
        context: dict[str, Any] = {
            "request_id": self.request_id,
            "call_id_stack": [f"gateway.graphql.{self.request_id}"],
        }
        if self.principal is not None:
            context["user_id"] = self.principal.user_id
        if self.auth_token:
            context["auth_token"] = self.auth_token
        user_agent = self.request.headers.get("user-agent")
        if user_agent:
            context["user_agent"] = user_agent[:256]
        return context

