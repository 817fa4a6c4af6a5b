"""The corpus version: a Redis counter that cached answers put in their key (``answers.py``).

Bumped whenever what a search may return changes (a document indexed or deleted,
a collection shared), so a cached answer is never served over a changed corpus.
"""

from __future__ import annotations

import logging

log = logging.getLogger("agenthub.rag")


class CorpusVersion:
    def __init__(self, redis_client, prefix: str) -> None:
        self.redis, self.key = redis_client, f"{prefix}rag:corpus-version"

    def bump(self, required: bool = True) -> None:
        """``required=False`` (a job's finish) tolerates Redis being down: the cache is down
        too, and cached answers expire within their TTL."""
        try:
            self.redis.incr(self.key)
        except Exception:
            if required:
                raise
            log.warning("could not bump the corpus version (Redis); cached answers expire by TTL", exc_info=True)
