"""Nameko entrypoints of the auth service: validate, call the domain, serialise."""

from nameko.rpc import rpc

from agenthub import __version__
from services.common.dependencies import Redis, RequestLog
from services.common.health import redis_check, report


class AuthService:
    name = "auth"

    redis = Redis()
    request_log = RequestLog()

    @rpc
    def health(self) -> dict:
        return report(self.name, __version__, {"redis": redis_check(self.redis)}).model_dump(mode="json")
