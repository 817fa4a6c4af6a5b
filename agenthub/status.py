"""``agenthub status``: the operator's view, from the broker and the services themselves.

* From RabbitMQ (AMQP passive declares: no management plugin needed): each
  service's queue — requests waiting, consumers (one per running instance) —
  and the ingestion queue's depth.
* From every instance itself: one request on the fanout exchange
  ``agenthub.status`` reaches each running instance of each service (its own
  exclusive queue, ``services/common/status.py``), and each answers once with
  its name, version, workers in flight and its dependencies' health. Replies
  are collected until every consumer counted on the RPC queues has answered,
  or ``timeout``.
* Over the RPC queue, when fewer instances answered the probe than the queue
  has consumers: an instance of the release before ``@status_probe`` (during a
  rolling upgrade) has no queue on the fanout exchange, only its share of
  ``rpc-<service>``. ``health`` is asked there until each missing consumer has
  answered or one call went unanswered; an instance found this way is marked
  ``answered: "rpc"`` with the version it gave. A consumer that answered
  neither way is still listed (``answered: null``, status ``NO_ANSWER``): the
  broker counts it, so status shows it. A service with no instance at all gets
  the RPC error (e.g. ``SERVICE_UNAVAILABLE``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from core.logs import redact_url

if TYPE_CHECKING:
    from core.settings import CommonSettings

SERVICES = ("auth", "agent", "rag")
INGESTION_QUEUE = "agenthub.rag.ingestion"
STATUS_EXCHANGE = "agenthub.status"


def queue_depths(
    amqp_uri: str, queues: list[str], timeout: float = 5.0, ssl: dict[str, Any] | None = None
) -> dict[str, dict[str, int] | None]:
    """``{queue: {"messages": ready, "consumers": n}}``, None for a queue that does not exist."""
    import kombu

    depths: dict[str, dict[str, int] | None] = {}
    with kombu.Connection(amqp_uri, ssl=ssl, connect_timeout=timeout) as connection:
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


def probe(
    amqp_uri: str, expected: dict[str, int], timeout: float, ssl: dict[str, Any] | None = None
) -> dict[str, list[dict]]:
    """``{service: [health of each instance]}``: one request to every instance on the fanout exchange,
    replies until ``expected`` (consumers per service) have answered or ``timeout`` has passed."""
    import kombu

    answered: dict[str, dict[str, dict]] = {}
    correlation = uuid.uuid4().hex
    with kombu.Connection(amqp_uri, ssl=ssl, connect_timeout=timeout) as connection:
        connection.ensure_connection(max_retries=1)
        channel = connection.channel()
        replies = kombu.Queue(f"agenthub.status.reply.{correlation}", exclusive=True, auto_delete=True, durable=False)

        def on_reply(body, message) -> None:
            message.ack()
            if message.properties.get("correlation_id") != correlation:
                return
            reply = body if isinstance(body, dict) else json.loads(body)
            reply["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
            reply["answered"] = "probe"
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


async def over_rpc(rpc, service: str, consumers: int, known: set[str], timeout: float) -> tuple[list[dict], str | None]:
    """``health`` over the service's RPC queue, for the consumers that did not answer the probe.

    Each call reaches one consumer (the broker takes them in turn). Asks until the instances found
    here, plus one for each call nobody answered, make up the consumers not in ``known``; at most
    ``consumers + 2`` calls. Returns the instances found that are not in ``known``, and the error of
    the last call that failed (``SERVICE_UNAVAILABLE`` when no consumer at all, ``TIMEOUT`` when
    one took the call and did not answer)."""
    found: dict[str, dict] = {}
    missing = max(1, consumers) - len(known)
    unanswered, error = 0, None
    for _ in range(max(1, consumers) + 2):
        if len(found) + unanswered >= missing:
            break
        started = time.perf_counter()
        try:
            reply = await rpc.call(service, "health", timeout=timeout)
        except Exception as exc:  # reported, not raised: status shows what is down
            code = getattr(exc, "code", type(exc).__name__)
            error = f"{code}: {exc}"
            if code != "TIMEOUT":  # no consumer, or the broker: asking again will not tell more
                break
            unanswered += 1  # one consumer took the call and did not answer
            continue
        name = reply.get("instance") or "?"  # a release older than instance names: one "?"
        if name in known or name in found:
            continue
        reply["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        reply["answered"] = "rpc"
        found[name] = reply
    return list(found.values()), error


def no_answer(service: str, queue: str) -> dict:
    """A consumer the broker counts on ``queue`` that answered neither the probe nor ``health``."""
    return {
        "name": service,
        "instance": None,
        "version": None,
        "status": "NO_ANSWER",
        "answered": None,
        "in_flight": None,
        "latency_ms": None,
        "dependencies": [],
        "detail": f"a consumer of {queue} answered neither the status probe nor health over RPC",
    }


async def collect(settings: CommonSettings, timeout: float = 3.0) -> dict[str, Any]:
    """Everything ``agenthub status`` shows, as plain data (what ``--json`` prints)."""
    from gateway.rpc import RpcClient

    amqp_uri, ssl = settings.amqp_uri, settings.amqp_ssl_options()
    broker: dict[str, Any] = {"url": redact_url(amqp_uri), "reachable": True}
    queues = [f"rpc-{name}" for name in SERVICES] + [INGESTION_QUEUE]
    try:
        depths = await asyncio.to_thread(queue_depths, amqp_uri, queues, timeout, ssl)
    except Exception as exc:
        broker.update(reachable=False, error=str(exc) or type(exc).__name__)
        return {"broker": broker, "services": [], "queues": {}, "healthy": False}
    consumers = {name: (depths.get(f"rpc-{name}") or {}).get("consumers", 0) for name in SERVICES}
    try:
        probed = await asyncio.to_thread(probe, amqp_uri, consumers, timeout, ssl)
    except Exception:  # the broker went away meanwhile: each service is asked over RPC below
        probed = {}
    rpc = RpcClient(
        amqp_uri,
        exchange=settings.rpc_exchange,
        default_timeout=timeout,
        name="status",
        tls=settings.amqp_ssl_context(),
    )
    await rpc.start(wait=timeout)
    try:
        services: list[dict[str, Any]] = []
        for name in SERVICES:
            queue = depths.get(f"rpc-{name}")
            count = queue["consumers"] if queue else 0
            found = sorted(probed.get(name, []), key=lambda i: str(i.get("instance")))
            error = None
            if not found or len(found) < count:  # older instances answer over RPC only; none: the RPC says why
                known = {str(i.get("instance")) for i in found}
                older, error = await over_rpc(rpc, name, count, known, timeout)
                found += sorted(older, key=lambda i: str(i.get("instance")))
                found += [no_answer(name, f"rpc-{name}") for _ in range(count - len(found))]
            services.append(
                {
                    "name": name,
                    "queue": f"rpc-{name}",
                    "queued": queue["messages"] if queue else None,
                    "consumers": count,
                    "instances": found,
                    "error": None if found else error,
                }
            )
    finally:
        await rpc.close()
    healthy = all(s["instances"] and all(i.get("status") == "UP" for i in s["instances"]) for s in services)
    others = {q: d for q, d in depths.items() if not q.startswith("rpc-")}
    return {"broker": broker, "services": services, "queues": others, "healthy": healthy}


ANSWERED = {"probe": "status probe", "rpc": "[yellow]RPC only[/yellow]"}
"""How an instance answered, as the table shows it; RPC only: a release without ``@status_probe``."""


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
        "answered",
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
            state = instance.get("status")
            table.add_row(
                service["name"] if index == 0 else "",
                queued if index == 0 else "",
                str(service["consumers"]) if index == 0 else "",
                instance.get("instance") or "?",
                ANSWERED.get(instance.get("answered"), "[red]no answer[/red]"),
                instance.get("version") or "?",
                "[green]UP[/green]" if state == "UP" else f"[red]{str(state or 'DOWN').replace('_', ' ')}[/red]",
                "-" if instance.get("in_flight") is None else str(instance["in_flight"]),
                "-" if instance.get("latency_ms") is None else str(instance["latency_ms"]),
                deps or instance.get("detail") or "",
            )
    console.print(table)
    for queue, depth in status["queues"].items():
        console.print(
            f"queue {queue}: "
            + ("not declared" if depth is None else f"{depth['messages']} waiting, {depth['consumers']} consumers")
        )
