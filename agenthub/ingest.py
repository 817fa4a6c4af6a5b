"""``agenthub ingest PATH… [--collection NAME]``: upload files through the gateway
and follow their ingestion jobs with a progress bar.

It authenticates with an API key from ``AGENTHUB_API_KEY`` (scope ``WRITE_RAG``
and ``READ_RAG``) and talks only to the gateway's public API, so it works
against any deployment.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}
UPLOAD = """mutation($files: [Upload!]!, $collection: String) {
  uploadDocuments(files: $files, collection: $collection) { filename job { id } } }"""
COLLECTIONS = "{ collections { name } }"
CREATE_COLLECTION = "mutation($name: String!) { createCollection(name: $name) { name } }"
JOB = "query($id: ID!) { ingestionJob(id: $id) { id status progress documentId chunkCount error } }"


@dataclass
class Tracked:
    path: Path
    job_id: str | None = None
    status: str = "QUEUED"
    progress: float = 0.0
    error: str | None = None


def collect(paths: list[str], skipped: list[tuple[Path, str]] | None = None) -> list[Path]:
    """Files named, and supported files found under folders named. Each file of a folder that is
    left out goes into ``skipped`` with the reason (hidden, or an unsupported extension)."""
    found: list[Path] = []
    skipped = skipped if skipped is not None else []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for candidate in sorted(p for p in path.rglob("*") if p.is_file()):
                if any(part.startswith(".") for part in candidate.relative_to(path).parts):
                    skipped.append((candidate, "hidden"))
                elif candidate.suffix.lower() not in SUPPORTED_SUFFIXES:
                    skipped.append(
                        (
                            candidate,
                            f"unsupported extension {candidate.suffix or '(none)'!r}; "
                            f"supported: {' '.join(sorted(SUPPORTED_SUFFIXES))}",
                        )
                    )
                else:
                    found.append(candidate)
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(raw)
    return found


def _graphql(client: httpx.Client, query: str, variables: dict) -> dict:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    response.raise_for_status()
    return response.json()


def ensure_collection(client: httpx.Client, name: str, console: Console) -> None:
    """Create the collection (private) unless one of that name is already readable."""
    listed = _graphql(client, COLLECTIONS, {})
    if any(c["name"] == name for c in (listed.get("data") or {}).get("collections") or []):
        return
    created = _graphql(client, CREATE_COLLECTION, {"name": name})
    errors = created.get("errors") or []
    if errors and errors[0].get("extensions", {}).get("code") != "CONFLICT":
        raise RuntimeError(f"cannot create collection {name!r}: {errors[0].get('message')}")
    if not errors:
        console.print(f"created private collection {name!r}")


def _upload(client: httpx.Client, batch: list[Tracked], collection: str | None) -> None:
    operations = {"query": UPLOAD, "variables": {"files": [None] * len(batch), "collection": collection}}
    mapping = {str(i): [f"variables.files.{i}"] for i in range(len(batch))}
    files = {
        str(i): (item.path.name, item.path.read_bytes(), "application/octet-stream") for i, item in enumerate(batch)
    }
    response = client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps(mapping)},
        files=files,
        headers={"graphql-preflight": "1"},
    )
    response.raise_for_status()
    body = response.json()
    results = (body.get("data") or {}).get("uploadDocuments") or []
    for item, result in zip(batch, results + [None] * (len(batch) - len(results)), strict=False):
        if result and result.get("job"):
            item.job_id = result["job"]["id"]
    messages = [e.get("message", "") for e in body.get("errors") or []]
    for item in batch:
        if item.job_id is None:
            item.status = "REJECTED"
            item.error = next((m for m in messages if item.path.name in m), "; ".join(messages) or "rejected")


def ingest(
    paths: list[str],
    *,
    url: str,
    api_key: str,
    collection: str | None = None,
    batch_size: int = 20,
    poll_seconds: float = 0.5,
    console: Console | None = None,
) -> int:
    console = console or Console(stderr=True)
    skipped: list[tuple[Path, str]] = []
    items = [Tracked(path) for path in collect(paths, skipped)]
    for path, reason in skipped:
        console.print(f"skipped {path}: {reason}", highlight=False, soft_wrap=True)
    if not items:
        console.print("agenthub: nothing to ingest")
        return 1
    try:
        return _ingest(
            items,
            skipped,
            url=url,
            api_key=api_key,
            collection=collection,
            batch_size=batch_size,
            poll_seconds=poll_seconds,
            console=console,
        )
    except httpx.TransportError as exc:  # connection refused, DNS, timeout: name the URL tried
        raise RuntimeError(f"cannot reach the gateway at {url}: {exc} (set --url or AGENTHUB_URL)") from exc


def _ingest(
    items: list[Tracked],
    skipped: list[tuple[Path, str]],
    *,
    url: str,
    api_key: str,
    collection: str | None,
    batch_size: int,
    poll_seconds: float,
    console: Console,
) -> int:
    headers = {"authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=120) as client:
        if collection:
            ensure_collection(client, collection, console)
        for start in range(0, len(items), batch_size):
            _upload(client, items[start : start + batch_size], collection)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[status]}"),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            tasks = {id(item): bar.add_task(item.path.name[:40], total=1.0, status=item.status) for item in items}
            pending = [item for item in items if item.job_id]
            while pending:
                for item in list(pending):
                    job = _graphql(client, JOB, {"id": item.job_id})
                    data = (job.get("data") or {}).get("ingestionJob")
                    if data is None:
                        item.status, item.error = "FAILED", job["errors"][0]["message"]
                    else:
                        item.status, item.progress, item.error = data["status"], data["progress"], data["error"]
                    bar.update(tasks[id(item)], completed=item.progress, status=item.status)
                    if item.status in ("DONE", "FAILED", "CANCELLED"):
                        pending.remove(item)
                if pending:
                    time.sleep(poll_seconds)
            for item in items:
                if item.status == "REJECTED":
                    bar.update(tasks[id(item)], status="REJECTED")
    failed = [item for item in items if item.status != "DONE"]
    for item in failed:
        console.print(f"[red]{item.path}[/red]: {item.status}: {item.error}")
    console.print(
        f"{len(items) - len(failed)} of {len(items)} files ingested"
        + (f"; {len(skipped)} skipped (listed above)" if skipped else ""),
        soft_wrap=True,
    )
    return 1 if failed else 0
