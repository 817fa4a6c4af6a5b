"""Issue 11, item 7: logout or deactivation reaches a run in progress, within about a second."""

from __future__ import annotations

import asyncio
import time
import uuid

import redis

from core.settings import CommonSettings
from core.tokens import TokenCodec, session_revoked_key
from schema.agent import EventType
from tests.support.fixtures.agent import call, wait_events
from tests.support.scripted_llm import Text
from tests.support.stack import REDIS_URL


async def test_a_revoked_session_stops_its_running_run(openai_stack, openai_rpc, llm):
    codec = TokenCodec(CommonSettings(env="development"))
    user, session = f"u-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    token = codec.issue(subject=user, role="user", session_id=session, ttl=3600).token
    other = codec.issue(subject=user, role="user", session_id=uuid.uuid4().hex, ttl=3600).token  # still valid
    m = f"m-{uuid.uuid4().hex[:8]}"
    llm.script(m, [Text([f"t{i} " for i in range(400)], delay=0.05)])  # 20 s of tokens
    started = await call(openai_rpc, "start_run", f"Long {m}", token=token)
    await asyncio.sleep(1.0)
    client = redis.Redis.from_url(REDIS_URL)
    client.set(session_revoked_key(openai_stack.isolation.redis_prefix, session), 1, ex=600)  # logout
    revoked_at = time.monotonic()
    events = await wait_events(openai_rpc, started["run_id"], other, timeout=15)
    stopped_after = time.monotonic() - revoked_at
    client.close()
    assert events[-1].type is EventType.RUN_FAILED and events[-1].data["code"] == "UNAUTHENTICATED", events[-1]
    tokens = [e for e in events if e.type is EventType.TOKEN]
    assert len(tokens) < 100  # far from the 400 the model would have streamed
    print(f"run stopped {stopped_after:.2f} s after the session was revoked")
    assert stopped_after < 3  # polling for the terminal event adds its own interval to the ~1 s check
