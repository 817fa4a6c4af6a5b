"""Nameko entrypoints of the rag service: validate, call the domain, serialise."""

from nameko.rpc import rpc

from agenthub import __version__
from services.common.dependencies import Redis, RequestLog, Settings
from services.common.health import redis_check, report
from services.rag.store import data_dir_check


class RagService:
    name = "rag"

    redis = Redis()
    settings = Settings()
    request_log = RequestLog()

    @rpc
    def health(self) -> dict:
        checks = {"redis": redis_check(self.redis), "store": data_dir_check(self.settings.data_dir)}
        return report(self.name, __version__, checks).model_dump(mode="json")
