"""``bench/quality.py``'s corpus names this repository's files as they are today.

The corpus (``bench/data/corpus``) is a frozen copy of the documentation, and its held answers
(``bench/data/faq_pairs.jsonl``) quote it; a module or test that moves leaves the copy naming a path
that no longer exists. Every path in backticks must exist: one that starts with a top-level folder
of the repository from the root, a shorter one (``stores/embedded.py``, ``graphql/schema.py``) as
the end of some file's or folder's path.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "bench" / "data"
SOURCE = re.compile(r"\.(py|md|yml|yaml|toml|json|jsonl|cfg|ini|sh|js|css|html|graphql|db)$")
NOT_IN_THE_REPOSITORY = {
    "compose.override.yml": "the operator's own file, which Compose merges",
    "word/document.xml": "inside a DOCX",
    "rag/chunks": "the embedded store, under the data directory",
}


def repository_paths() -> set[str]:
    """Every tracked file and the folders above it, relative to the root."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    paths = set(files)
    for file in files:
        parts = file.split("/")
        paths.update("/".join(parts[:n]) for n in range(1, len(parts)))
    return paths


def named_paths(text: str) -> set[str]:
    """Paths of this repository in backticks: with a slash, or a file name with a source suffix."""
    named = set()
    for token in re.findall(r"`([^`\s]+)`", text):
        token = token.rstrip(".,:;")
        if re.search(r"://|<|=|:", token) or token.startswith(("/", "~", "$", "-", "AGENTHUB_")):
            continue  # URLs, placeholders, settings, images and volumes, absolute paths on a host, options
        if token.rstrip("/") in NOT_IN_THE_REPOSITORY:
            continue
        if "/" in token or SOURCE.search(token):
            named.add(token.rstrip("/"))
    return named


def missing(named: set[str], paths: set[str]) -> list[str]:
    tops = {p.split("/")[0] for p in paths if "/" in p}
    gone = []
    for name in sorted(named):
        if name.split("/")[0] in tops:
            found = name in paths
        else:
            found = any(p == name or p.endswith("/" + name) for p in paths)
        if not found:
            gone.append(name)
    return gone


def test_the_corpus_names_no_path_that_is_gone():
    paths = repository_paths()
    gone = {
        document.name: missing(named_paths(document.read_text()), paths)
        for document in sorted((DATA / "corpus").iterdir())
    }
    assert not {name: g for name, g in gone.items() if g}, gone


def test_the_held_answers_name_no_path_that_is_gone():
    paths = repository_paths()
    pairs = [json.loads(line) for line in (DATA / "faq_pairs.jsonl").read_text().splitlines() if line.strip()]
    named = {
        token.rstrip(".")
        for pair in pairs
        for token in re.findall(r"[\w.-]+(?:/[\w.-]+)+", pair["question"] + " " + pair["answer"])
        if SOURCE.search(token) or token.split("/")[0] in {"services", "tests", "schema", "gateway", "core"}
    }
    assert missing(named, paths) == []
    assert {pair["source"] for pair in pairs} <= {p.name for p in (DATA / "corpus").iterdir()}
