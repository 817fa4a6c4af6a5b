"""Typed settings of the gateway, read from ``AGENTHUB_*`` variables."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field

from core.ratelimit import Limit, LimitSpec
from core.settings import CommonSettings, RagFileLimit


class GatewaySettings(CommonSettings, RagFileLimit):
    host: str = "127.0.0.1"
    port: int = 8000
    rpc_timeout: float = Field(10.0, gt=0, description="Default timeout of one RPC, in seconds.")
    keep_alive_timeout: float = Field(
        75.0,
        gt=0,
        le=3600,
        description="Seconds an idle HTTP keep-alive connection stays open (uvicorn's 5 s "
        "drops connections a busy client is about to reuse: ReadError).",
    )
    ready_timeout: float = Field(1.0, gt=0, description="How long /readyz waits for each service's health.")
    broker_connect_wait: float = Field(
        5.0, ge=0, description="How long start-up waits for the broker before serving anyway."
    )
    max_query_depth: int = Field(10, ge=1)
    max_aliases: int = Field(15, ge=1)
    max_tokens: int = Field(2000, ge=1)
    max_json_bytes: int = Field(1024 * 1024, ge=1024, description="Largest JSON (non-multipart) request body, bytes.")
    max_multipart_bytes: int = Field(
        100 * 1024 * 1024, ge=1024, description="Largest multipart (upload) request, all files together, bytes."
    )
    max_json_depth: int = Field(64, ge=4, description="Deepest nesting of arrays/objects in a JSON body.")
    max_subscriptions_per_connection: int = Field(10, ge=1, description="Open subscriptions on one WebSocket.")
    max_subscriptions_per_ip: int = Field(
        50,
        ge=1,
        description="Open subscriptions from one client address, counted across all gateway processes (in Redis).",
    )
    subscription_lease_seconds: float = Field(
        30.0, gt=0, description="How long a gateway process that died keeps counting against the address cap."
    )
    subscription_max_seconds: float = Field(3600.0, gt=0, description="Longest life of one subscription.")
    health_cache_seconds: float = Field(1.0, ge=0, description="How long one health poll answers every caller.")
    introspection: bool | None = Field(None, description="Serve GraphQL introspection (unset: only in development).")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to open the GraphQL WebSocket (empty: same origin only).",
    )

    # Rate limits per GraphQL operation ("N/second|minute|hour|day").
    rate_limit_authenticated: LimitSpec = Field("600/minute", description="Per signed-in user or API key.")
    rate_limit_anonymous: LimitSpec = Field("120/minute", description="Per client IP, for anonymous callers.")
    console: bool = Field(True, description="Serve the web console (web/console) at /.")
    rag_max_files: int = Field(
        20,
        ge=1,
        le=100,
        description="Most files in one uploadDocuments request (100 at most: every list argument's bound).",
    )
    import_dir: Path | None = Field(
        None, description="The only directory REST's /api/rag/ingest reads server-side files from (unset: refused)."
    )

    @property
    def introspection_enabled(self) -> bool:
        return self.development if self.introspection is None else self.introspection

    @cached_property
    def authenticated_limit(self) -> Limit:
        return Limit.parse(self.rate_limit_authenticated)

    @cached_property
    def anonymous_limit(self) -> Limit:
        return Limit.parse(self.rate_limit_anonymous)
