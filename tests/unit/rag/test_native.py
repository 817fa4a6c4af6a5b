"""Native libraries load in the one order that works, and only through ``services/rag/native.py``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
NATIVE = re.compile(r"^\s*(import|from)\s+(onnxruntime|usearch|tantivy)\b", re.MULTILINE)


def test_only_native_py_imports_the_native_libraries():
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("services", "gateway", "agenthub")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "native.py" and NATIVE.search(path.read_text())
    ]
    allowed = {"services/rag/onnx_export.py"}  # the install-time export: its own process, nothing else loaded
    assert sorted(set(offenders) - allowed) == []


def test_the_store_and_the_embedder_work_together_in_one_process(tmp_path):
    """The store first, then the embedder: the order in which the service imports them."""
    code = f"""
from services.rag.stores.embedded import EmbeddedStore
from services.rag.embedding import Embedder
from haystack import Document
store = EmbeddedStore({str(tmp_path / "chunks")!r})
embedder = Embedder(); embedder.warm_up()
store.write(embedder.embed_documents([Document(id="a", content="native libraries", meta={{"owner_id": "o"}})]))
found = store.embedding_retriever(1).run(query_embedding=embedder.embed_query("native libraries"))["documents"]
store.close()
print(found[0].id)
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=170)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "a"


def test_the_wrong_order_is_what_native_py_prevents():
    """If this starts passing, the constraint is gone and native.py's comment can go too."""
    done = subprocess.run(
        [sys.executable, "-c", "import usearch.index; import onnxruntime"], capture_output=True, timeout=120
    )
    assert done.returncode != 0
