"""``agenthub status``: the operator's view, from the broker and the services themselves.

* From RabbitMQ (AMQP passive declares: no management plugin needed): each
  service's queue — requests waiting, consumers (one per running instance) —
  and the ingestion queue's depth.
* From every instance itself: one request on the fanout exchange
  ``agenthub.status`` reaches each running instance of each service (its own
  exclusive queue, ``services/common/status.py``), and each answers once with
  its name, version, workers in flight and its dependencies' health. Replies
  are collected until every consumer counted on the RPC queues has answered,
  or ``timeout``. A service none of whose instances answered is asked over its
  RPC queue once more, which names the error (e.g. ``SERVICE_UNAVAILABLE``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from core.logs import redact_url

SERVICES = ("auth", "agent", "rag")
INGESTION_QUEUE = "agenthub.rag.ingestion"
STATUS_EXCHANGE = "agenthub.status"


def queue_depths(amqp_uri: str, queues: list[str], timeout: float = 5.0) -> dict[str, dict[str, int] | None]:
    """``{queue: {"messages": ready, "consumers": n}}``, None for a queue that does not exist."""
    import kombu

    depths: dict[str, dict[str, int] | None] = {}
    with kombu.Connection(amqp_uri, connect_timeout=timeout) as connection:
        connection.ensure_connection(max_retries=1)
        for queue in queues:
            channel = connection.channel()  # a failed passive declare closes its channel
            try:
                _, messages, consumers = channel.queue_declare(queue=queue, passive=True)
                depths[queue] = {"messages": messages, "consumers": consumers}
            except Exception:  # 404: not declared on this broker/vhost
                depths[queue] = None
            finally:
                try:
                    channel.close()
                except Exception:  # already closed by the broker
                    pass
    return depths


def probe(amqp_uri: str, expected: dict[str, int], timeout: float) -> dict[str, list[dict]]:
    """``{service: [health of each instance]}``: one request to every instance on the fanout exchange,
    replies until ``expected`` (consumers per service) have answered or ``timeout`` has passed."""
    import kombu

    answered: dict[str, dict[str, dict]] = {}
    correlation = uuid.uuid4().hex
    with kombu.Connection(amqp_uri, connect_timeout=timeout) as connection:
        connection.ensure_connection(max_retries=1)
        channel = connection.channel()
        replies = kombu.Queue(f"agenthub.status.reply.{correlation}", exclusive=True, auto_delete=True, durable=False)

        def on_reply(body, message) -> None:
            message.ack()
            if message.properties.get("correlation_id") != correlation:
                return
            reply = body if isinstance(body, dict) else json.loads(body)
            reply["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
            name = reply.get("name") or "?"
            answered.setdefault(name, {}).setdefault(reply.get("instance") or f"?{len(answered[name])}", reply)

        def complete() -> bool:
            return all(len(answered.get(name, {})) >= count for name, count in expected.items())

        with kombu.Consumer(channel, queues=[replies], callbacks=[on_reply], accept=["json"]):
            # declared as services/common/status.py declares it (not imported: that pulls in Nameko/eventlet)
            exchange = kombu.Exchange(STATUS_EXCHANGE, type="fanout", durable=True, auto_delete=False)
            started = time.perf_counter()
            kombu.Producer(channel).publish(
                {},
                exchange=exchange,
                routing_key="",
                declare=[exchange],
                reply_to=replies.name,
                correlation_id=correlation,
                serializer="json",
                expiration=timeout,
            )
            deadline = time.monotonic() + timeout
            while not complete() and (left := deadline - time.monotonic()) > 0:
                try:
                    connection.drain_events(timeout=left)
                except TimeoutError:
                    break
    return {name: list(found.values()) for name, found in answered.items()}


async def instances(rpc, service: str, consumers: int, timeout: float) -> tuple[list[dict], str | None]:
    """The distinct instances that answered ``health``; and the error if none did."""
    seen: dict[str, dict] = {}
    error = None
    for _ in range(max(1, consumers) + 2):
        started = time.perf_counter()
        try:
            reply = await rpc.call(service, "health", timeout=timeout)
        except Exception as exc:  # reported, not raised: status shows what is down
            error = f"{getattr(exc, 'code', type(exc).__name__)}: {exc}"
            break
        reply["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        seen.setdefault(reply.get("instance") or "?", reply)
        if len(seen) >= max(1, consumers):
            break
    return list(seen.values()), (None if seen else error)


async def collect(amqp_uri: str, exchange: str = "nameko-rpc", timeout: float = 3.0) -> dict[str, Any]:
    """Everything ``agenthub status`` shows, as plain data (what ``--json`` prints)."""
    from gateway.rpc import RpcClient

    broker: dict[str, Any] = {"url": redact_url(amqp_uri), "reachable": True}
    queues = [f"rpc-{name}" for name in SERVICES] + [INGESTION_QUEUE]
    try:
        depths = await asyncio.to_thread(queue_depths, amqp_uri, queues, timeout)
    except Exception as exc:
        broker.update(reachable=False, error=str(exc) or type(exc).__name__)
        return {"broker": broker, "services": [], "queues": {}, "healthy": False}
    consumers = {name: (depths.get(f"rpc-{name}") or {}).get("consumers", 0) for name in SERVICES}
    try:
        probed = await asyncio.to_thread(probe, amqp_uri, consumers, timeout)
    except Exception:  # the broker went away meanwhile: each service is asked over RPC below
        probed = {}
    rpc = RpcClient(amqp_uri, exchange=exchange, default_timeout=timeout, name="status")
    await rpc.start(wait=timeout)
    try:
        services: list[dict[str, Any]] = []
        for name in SERVICES:
            queue = depths.get(f"rpc-{name}")
            found, error = sorted(probed.get(name, []), key=lambda i: str(i.get("instance"))), None
            if not found:  # no instance answered the probe: the RPC names why (or finds one that did not)
                found, error = await instances(rpc, name, queue["consumers"] if queue else 0, timeout)
            services.append(
                {
                    "name": name,
                    "queue": f"rpc-{name}",
                    "queued": queue["messages"] if queue else None,
                    "consumers": queue["consumers"] if queue else 0,
                    "instances": found,
                    "error": error,
                }
            )
    finally:
        await rpc.close()
    healthy = all(s["instances"] and all(i.get("status") == "UP" for i in s["instances"]) for s in services)
    others = {q: d for q, d in depths.items() if not q.startswith("rpc-")}
    return {"broker": broker, "services": services, "queues": others, "healthy": healthy}


def render(status: dict[str, Any]) -> None:
    """The rich tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    broker = status["broker"]
    if not broker["reachable"]:
        console.print(f"[red]broker {broker['url']} unreachable: {broker.get('error')}[/red]")
        return
    table = Table(title=f"AgentHub on {broker['url']}")
    for column in (
        "service",
        "queued",
        "consumers",
        "instance",
        "version",
        "status",
        "in flight",
        "latency ms",
        "dependencies",
    ):
        table.add_column(
            column, justify="right" if column in ("queued", "consumers", "in flight", "latency ms") else "left"
        )
    for service in status["services"]:
        queued = "-" if service["queued"] is None else str(service["queued"])
        if not service["instances"]:
            table.add_row(
                service["name"],
                queued,
                str(service["consumers"]),
                "-",
                "-",
                "[red]DOWN[/red]",
                "-",
                "-",
                service["error"] or "no instance answered",
            )
        for index, instance in enumerate(service["instances"]):
            deps = ", ".join(
                f"{d['name']} {'ok' if d['status'] == 'UP' else '[red]DOWN[/red]'}"
                + (f" ({d['detail']})" if d.get("detail") and d["status"] != "UP" else "")
                for d in instance.get("dependencies") or []
            )
            up = instance.get("status") == "UP"
            table.add_row(
                service["name"] if index == 0 else "",
                queued if index == 0 else "",
                str(service["consumers"]) if index == 0 else "",
                instance.get("instance") or "?",
                instance.get("version") or "?",
                "[green]UP[/green]" if up else "[red]DOWN[/red]",
                "-" if instance.get("in_flight") is None else str(instance["in_flight"]),
                str(instance["latency_ms"]),
                deps,
            )
    console.print(table)
    for queue, depth in status["queues"].items():
        console.print(
            f"queue {queue}: "
            + ("not declared" if depth is None else f"{depth['messages']} waiting, {depth['consumers']} consumers")
        )
