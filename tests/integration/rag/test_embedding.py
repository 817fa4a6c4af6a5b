"""The ONNX embedder gives the model's answers without PyTorch in the rag process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from haystack import Document

from tests.support.stack import REDIS_URL

ROOT = Path(__file__).resolve().parents[3]
SENTENCES = [
    "The lease ends on the last day of March.",
    "Refresh tokens are rotated on every use; presenting an old one revokes the session.",
    "Kittens sleep most of the day.",
    "a",
    " ".join(["A very long passage about harbours, lanterns and copper signals."] * 60),  # truncated
]


@pytest.fixture(scope="module")
def embedder():
    from services.rag.embedding import Embedder

    embedder = Embedder(batch_size=2)
    embedder.warm_up()
    return embedder


def test_vectors_match_the_pytorch_model(embedder):
    from bench.common import TorchEmbedder

    documents = [Document(content=text) for text in SENTENCES]
    onnx = np.array([d.embedding for d in embedder.embed_documents(documents)])
    torch = np.array([d.embedding for d in TorchEmbedder().embed_documents(documents)])
    assert onnx.shape == (len(SENTENCES), 384)
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-3)
    assert (onnx * torch).sum(axis=1).min() > 0.97  # int8: close to, not equal to, float32


def test_order_batches_and_queries_agree(embedder):
    documents = [Document(id=str(i), content=text) for i, text in enumerate(SENTENCES)]
    embedded = embedder.embed_documents(documents)
    assert [d.id for d in embedded] == [d.id for d in documents] and documents[0].embedding is None
    for document in embedded:  # a query alone and the same text in a padded batch
        alone = np.array(embedder.embed_query(document.content))
        assert float(alone @ np.array(document.embedding)) > 0.98
    similar = np.array(embedder.embed_query("When does the lease end?"))
    scores = [similar @ np.array(d.embedding) for d in embedded]
    assert int(np.argmax(scores)) == 0


def test_lanes_embed_at_once_from_native_threads_with_the_same_vectors(embedder):
    """One lane per core by default, each batch single-threaded; batches from several threads at
    once (as the embedding line's lanes call it) give the vectors one call at a time gives."""
    from concurrent.futures import ThreadPoolExecutor

    from services.rag.embedding import Embedder, available_cores

    assert embedder.lanes == embedder.threads == available_cores()
    documents = [Document(id=str(i), content=f"{text} ({i})") for i, text in enumerate(SENTENCES * 4)]
    batches = [documents[n : n + 3] for n in range(0, len(documents), 3)]
    alone = [embedder.embed_documents(batch) for batch in batches]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(embedder.embed_documents, batches))
    for one, other in zip(alone, together):
        assert np.allclose([d.embedding for d in one], [d.embedding for d in other], atol=1e-5)
    one_run = Embedder(batch_size=2, threads=2, lanes=1)  # the other way: one batch on two threads
    one_run.warm_up()
    assert one_run.lanes == 1 and one_run._query_session is not one_run._session
    vectors = np.array([d.embedding for d in one_run.embed_documents(documents)])
    # other batch mates (int8 activations are quantized per batch): close, not equal
    assert (vectors * np.array([d.embedding for batch in alone for d in batch])).sum(axis=1).min() > 0.98


def test_the_rag_process_never_imports_pytorch(tmp_path):
    """The service's own start-up (the dependency provider's ``setup``), then an ingestion."""
    code = """
import sys
import services.rag.service  # what `nameko run` imports before the provider's setup
from services.rag.dependencies import RagLibrary
provider = RagLibrary()
provider.container = type("Container", (), {"config": {"AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/"}})()
provider.setup()  # builds the queue's publisher too; nothing connects until a job is published
from services.rag.ingestion import ChunkMeta
indexer = provider.library.indexer
indexer.write(indexer.embed(indexer.prepare(b"Some text to embed.", "text/plain",
                                            ChunkMeta("d", "v", "c", "o", "t", "text/plain"))))
provider.stop()
print(sorted(m for m in sys.modules if m == "torch" or m.startswith(("torch.", "sentence_transformers"))))
"""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AGENTHUB_ENV": "development",
        "AGENTHUB_DATA_DIR": str(tmp_path),
        "AGENTHUB_REDIS_URL": REDIS_URL,
        "AGENTHUB_REDIS_PREFIX": f"rag-test-{uuid.uuid4().hex[:8]}:",
    }
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=170, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_missing_export_is_made_at_first_start(tmp_path):
    from services.rag.embedding import Embedder
    from services.rag.onnx_export import MANIFEST_FILE, is_current

    directory = tmp_path / "embedder"
    assert not is_current(directory)
    embedder = Embedder(model_dir=directory)
    embedder.warm_up()  # exports in a child process
    assert is_current(directory)
    assert json.loads((directory / MANIFEST_FILE).read_text())["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert len(embedder.embed_query("exported")) == 384


def test_query_embeddings_are_cached_in_the_process_and_in_redis(embedder):
    """A search computes a query's vector once: the process keeps it, and Redis keeps it for the
    other rag instances and the next start (as float32 bytes, the embedder's own precision)."""
    import redis

    from services.rag.embedding import QueryEmbeddings

    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"rag-test-{uuid.uuid4().hex[:8]}:"
    try:
        cache = QueryEmbeddings(embedder, client, prefix, ttl=60)
        text = "when does the lease end?"
        assert cache.cached(text) is None
        vector = cache(text)
        assert np.allclose(vector, embedder.embed_query(text))
        assert cache.cached(text) == vector  # from the process
        stored = client.get(cache._key(text))
        assert np.allclose(np.frombuffer(stored, dtype=np.float32), vector)
        assert 0 < client.ttl(cache._key(text)) <= 60

        other = QueryEmbeddings(embedder, client, prefix, ttl=60)  # another process: from Redis
        assert np.allclose(other.cached(text), vector)
        assert QueryEmbeddings(embedder, client, prefix, ttl=0).cached(text) is None  # caching off
    finally:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()
