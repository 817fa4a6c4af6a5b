"""What every benchmark needs: a free port and a gateway that is ready."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_ready(base: str, timeout: float = 90, path: str = "/readyz") -> None:
    """Until ``base + path`` answers 200 (``/healthz`` when only the gateway matters)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{base}{path}")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    raise TimeoutError(f"gateway not ready at {base}{path}")
