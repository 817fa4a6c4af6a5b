"""A service whose one method takes a while, on AgentHub's ``rpc`` entrypoint: the broker can go
down while it runs (``test_broker.py``)."""

import time

from services.common.dependencies import Redis
from services.common.rpc import rpc


class SlowService:
    name = "slow"

    redis = Redis()

    @rpc
    def slow(self, seconds, key):
        """Marks ``key:started``, waits, then counts one run in ``key``."""
        self.redis.set(f"{key}:started", 1, ex=600)
        time.sleep(seconds)  # green under nameko run
        self.redis.incr(key)
        self.redis.expire(key, 600)
        return key
