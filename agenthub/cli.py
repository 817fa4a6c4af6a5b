"""The ``agenthub`` command."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from datetime import UTC
from pathlib import Path


def cmd_up(args: argparse.Namespace) -> int:
    from agenthub.preflight import preflight
    from agenthub.scale import ScaleError, resolve_scale
    from agenthub.supervisor import RestartPolicy, Supervisor
    from core.settings import CommonSettings, InsecureConfiguration, SupervisorSettings
    from gateway.settings import GatewaySettings
    from services.common.settings import ServiceSettings

    try:
        for settings in (GatewaySettings(), ServiceSettings()):
            settings.check_secure()
    except InsecureConfiguration as exc:
        print(f"agenthub: {exc}", file=sys.stderr)
        return 2
    try:
        scale = resolve_scale(args.scale)
    except ScaleError as exc:
        print(f"agenthub: {exc}", file=sys.stderr)
        return 2
    problems = preflight(CommonSettings())
    for problem in problems:
        print(f"agenthub: {problem}", file=sys.stderr)
    if problems:
        return 2
    restart = SupervisorSettings()
    policy = RestartPolicy(
        backoff=restart.restart_backoff,
        backoff_max=restart.restart_backoff_max,
        max_restarts=restart.restart_max,
        stable_after=restart.restart_stable_after,
    )
    return Supervisor(args.host, args.port, policy=policy, scale=scale).run()


def cmd_gateway(args: argparse.Namespace) -> int:
    import uvicorn

    from core import logs
    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    settings = GatewaySettings()
    logs.configure(settings.log_level)
    host = args.host or settings.host
    port = args.port or settings.port
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
        # uvicorn hands it to loop.call_later, which takes float seconds; its annotation says int
        timeout_keep_alive=settings.keep_alive_timeout,  # type: ignore[arg-type]
        ws_max_size=settings.max_json_bytes,
    )  # one WebSocket message: the JSON body limit
    server = uvicorn.Server(config)
    if args.reuse_port:
        from agenthub.scale import shared_socket

        server.run(sockets=[shared_socket(host, port)])
    else:
        server.run()
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    from strawberry.printer import print_schema

    from gateway.graphql.schema import schema

    text = print_schema(schema) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    return 0


def _read_password(args: argparse.Namespace) -> str:
    """From --password-file, a terminal prompt, or stdin; only the final newline is dropped."""
    import getpass

    if args.password_file:
        with open(args.password_file, encoding="utf-8") as handle:
            text = handle.read()
    elif sys.stdin.isatty():
        text = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != text:
            raise SystemExit("agenthub: the passwords differ")
    else:
        text = sys.stdin.read()
    return text[:-1] if text.endswith("\n") else text


def _missing_sqlite_database(url: str):
    """The SQLite file a URL names when it does not exist yet; None otherwise (or for a server)."""

    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = Path(url[len(prefix) :].split("?", 1)[0])
    return None if path.exists() else path


def cmd_admin_create(args: argparse.Namespace) -> int:
    from schema.errors import AgentHubError
    from services.auth.accounts import create_admin_at
    from services.common.settings import ServiceSettings

    settings = ServiceSettings()
    missing = _missing_sqlite_database(settings.auth_database_url())
    if missing is not None and not args.new_database:
        print(
            f"agenthub: no auth database at {missing} (the data directory is {settings.data_dir}: "
            "AGENTHUB_DATA_DIR, relative to the project root). Start the stack once (`make up`) so it "
            "creates it, point AGENTHUB_DATA_DIR or AGENTHUB_DATABASE_URL at the running stack's, or "
            "pass --new-database to create an empty one there.",
            file=sys.stderr,
        )
        return 2
    try:
        user = create_admin_at(
            settings.auth_database_url(), args.username, _read_password(args), email=args.email, settings=settings
        )
    except AgentHubError as exc:
        fields = exc.details.get("fields") or {}
        detail = "; ".join(f"{name}: {rule}" for name, rule in fields.items()) or exc.message
        print(f"agenthub: {exc.code}: {detail}", file=sys.stderr)
        return 1
    print(f"created admin {user.username} ({user.id})")
    return 0


def cmd_shell(args: argparse.Namespace) -> int:
    from agenthub import shell
    from agenthub.supervisor import CONFIG_PATH

    return shell.main(args.config or str(CONFIG_PATH), args.interface)


def cmd_migrate(args: argparse.Namespace) -> int:
    from services.agent.config import AgentSettings
    from services.agent.db import migrations as agent_migrations
    from services.auth.db import current_revision, migrate

    settings = AgentSettings()
    url = settings.auth_database_url()
    migrate(url)
    print(f"auth database at revision {current_revision(url)}")
    agent_url = settings.agent_database()
    agent_migrations.migrate(agent_url)
    print(f"agent database at revision {agent_migrations.current_revision(agent_url)}")
    return 0


def _utc_time(text: str):
    """An ISO 8601 date or time; without a zone it is UTC."""
    from datetime import datetime

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cmd_status(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from agenthub.status import collect, render
    from core.settings import CommonSettings

    settings = CommonSettings()
    status = asyncio.run(collect(settings, args.timeout))
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        render(status)
    return 0 if status["healthy"] else 1


def cmd_audit_export(args: argparse.Namespace) -> int:
    from services.auth.audit import export_lines
    from services.auth.db import make_engine, session_factory
    from services.common.settings import ServiceSettings

    engine = make_engine(ServiceSettings().auth_database_url(), pool_size=1)
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    count = 0
    try:
        for line in export_lines(session_factory(engine), args.since, args.until):
            out.write(line)
            count += 1
    finally:
        if out is not sys.stdout:
            out.close()
        engine.dispose()
    print(f"exported {count} audit events", file=sys.stderr)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    import os

    import httpx

    from agenthub.ingest import ingest

    api_key = os.environ.get("AGENTHUB_API_KEY")
    if not api_key:
        print(
            "agenthub: set AGENTHUB_API_KEY to an API key with the WRITE_RAG and READ_RAG scopes "
            "(mutation { createApiKey(...) })",
            file=sys.stderr,
        )
        return 2
    try:
        return ingest(args.paths, url=args.url, api_key=api_key, collection=args.collection)
    except FileNotFoundError as exc:
        print(f"agenthub: no such file or folder: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError, httpx.HTTPError) as exc:  # say what failed, without a traceback
        print(f"agenthub: {exc}", file=sys.stderr)
        return 1


def cmd_probe(args: argparse.Namespace) -> int:
    from agenthub.probe import ProbeFailed, probe

    try:
        print(probe(args.target, ready=args.ready, timeout=args.timeout))
    except ProbeFailed as exc:
        print(f"agenthub: probe failed: {exc}")
        return 1
    return 0


def cmd_export_embedder(args: argparse.Namespace) -> int:
    from services.rag.onnx_export import default_dir, export

    directory = export(Path(args.output or os.environ.get("AGENTHUB_EMBEDDER_DIR") or default_dir()), force=args.force)
    print(f"agenthub: embedding model (ONNX, int8) in {directory}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agenthub", description="AgentHub: agents and retrieval behind one GraphQL API."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run the three services and the gateway")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument(
        "--scale",
        default=None,
        metavar="NAME=N,…",
        help="processes of each deployable, e.g. auth=2,agent=2,rag=1,gateway=2 "
        "(default: AGENTHUB_SCALE, else one of each)",
    )
    up.set_defaults(func=cmd_up)

    gateway = commands.add_parser("gateway", help="run only the GraphQL gateway")
    gateway.add_argument("--host", default=None, help="default: AGENTHUB_HOST or 127.0.0.1")
    gateway.add_argument("--port", type=int, default=None, help="default: AGENTHUB_PORT or 8000")
    gateway.add_argument(
        "--reuse-port", action="store_true", help="share the port with other gateway processes (SO_REUSEPORT; Linux)"
    )
    gateway.set_defaults(func=cmd_gateway)

    ingest = commands.add_parser("ingest", help="upload files or folders to the rag service")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--collection", default=None)
    ingest.add_argument(
        "--url",
        default=os.environ.get("AGENTHUB_URL", "http://127.0.0.1:8000"),
        help="the gateway (default: AGENTHUB_URL or http://127.0.0.1:8000)",
    )
    ingest.set_defaults(func=cmd_ingest)

    admin = commands.add_parser("admin", help="administration without the stack running")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_commands.add_parser("create", help="create an admin account directly in the database")
    create.add_argument("--username", required=True)
    create.add_argument("--email", default=None)
    create.add_argument("--password-file", default=None, help="read the password from this file (else stdin)")
    create.add_argument(
        "--new-database",
        action="store_true",
        help="create the auth database if there is none (else refuse: the stack keeps it elsewhere)",
    )
    create.set_defaults(func=cmd_admin_create)

    status = commands.add_parser(
        "status",
        help="services, instances, queues and health, from the broker and the services (exit 1 when something is down)",
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of tables")
    status.add_argument("--timeout", type=float, default=3.0, help="seconds per broker or RPC call (default 3)")
    status.set_defaults(func=cmd_status)

    audit = commands.add_parser("audit", help="the audit log, read straight from the auth database")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    export_audit = audit_commands.add_parser("export", help="events of a time range as JSON lines, oldest first")
    export_audit.add_argument("--since", type=_utc_time, default=None, help="ISO 8601, inclusive (UTC unless zoned)")
    export_audit.add_argument("--until", type=_utc_time, default=None, help="ISO 8601, exclusive (UTC unless zoned)")
    export_audit.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
    export_audit.set_defaults(func=cmd_audit_export)

    shell = commands.add_parser("shell", help="Nameko's shell on the services (n.rpc.auth.health()), no secrets shown")
    shell.add_argument("--config", default=None, help="default: the services' config.yaml")
    shell.add_argument("--interface", choices=["bpython", "ipython", "plain"], default=None)
    shell.set_defaults(func=cmd_shell)

    migrate = commands.add_parser("migrate", help="create or upgrade the auth and agent database schemas")
    migrate.set_defaults(func=cmd_migrate)

    probe = commands.add_parser("probe", help="health check of this container's service: exit 0 healthy, 1 not")
    probe.add_argument("target", choices=["auth", "agent", "rag", "gateway"])
    probe.add_argument(
        "--ready", action="store_true", help="readiness: services also answer their health RPC UP; gateway: /readyz"
    )
    probe.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    probe.set_defaults(func=cmd_probe)

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("--output", "-o", default="-")
    export.set_defaults(func=cmd_export_schema)

    embedder = commands.add_parser(
        "export-embedder", help="export the embedding model to ONNX (int8) for the rag service"
    )
    embedder.add_argument(
        "--output", default=None, help="default: AGENTHUB_EMBEDDER_DIR or share/agenthub/embedder in the environment"
    )
    embedder.add_argument("--force", action="store_true", help="export again even if a current export is there")
    embedder.set_defaults(func=cmd_export_embedder)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="eventlet")
    args = build_parser().parse_args(argv)
    return args.func(args)
