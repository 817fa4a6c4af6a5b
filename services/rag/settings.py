"""Settings of the rag service: the common ones plus the stores, the LLM (``core.llm``, shared
with the agent) and the ingestion limits, all from ``AGENTHUB_*`` variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from core.llm import LlmSettings
from core.settings import RagFileLimit
from services.common.settings import ServiceSettings


class RagSettings(ServiceSettings, RagFileLimit, LlmSettings):
    document_store: Literal["embedded", "elasticsearch"] = Field(
        "embedded", description="embedded: one instance, persisted under AGENTHUB_DATA_DIR; elasticsearch: many."
    )
    elasticsearch_url: str | None = None
    elasticsearch_index: str = "agenthub-chunks"
    rag_database_url: str | None = Field(
        None, description="Catalog of collections and documents; default: SQLite under AGENTHUB_DATA_DIR/rag."
    )

    rag_max_collections: int = Field(100, ge=1, description="Most collections one user may own.")
    rag_chunk_words: int = Field(120, ge=20, le=1000, description="Upper bound of words in one chunk.")
    rag_chunk_overlap_sentences: int = Field(1, ge=0, le=10)
    rag_embed_batch: int = Field(16, ge=1, le=256)
    rag_embed_threads: int = Field(
        0, ge=0, le=64, description="Cores that embed, as many batches at once, one thread each; 0: every core."
    )
    embedder_dir: Path | None = Field(
        None, description="The exported ONNX embedding model; default: share/agenthub/embedder in the environment."
    )
    rag_ingest_concurrency: int = Field(2, ge=1, le=32, description="Jobs one rag process works on at once.")
    queue_type: Literal["classic", "quorum"] = Field(
        "classic", description="quorum: the ingestion queue is a replicated quorum queue (RabbitMQ cluster)."
    )
    rag_ingest_user_quota: int = Field(
        1, ge=1, le=32, description="Jobs of one user running at once across all rag processes (fair share)."
    )
    rag_ingest_poll_seconds: float = Field(
        2.0, gt=0, le=60, description="How often workers look in SQL for QUEUED jobs (a lost message loses nothing)."
    )
    rag_job_lease_seconds: float = Field(
        30.0, gt=0.5, description="A RUNNING job not heartbeating for this long is retried."
    )
    rag_job_max_attempts: int = Field(3, ge=1, le=20)
    rag_convert_memory_mb: int = Field(
        1024, ge=64, description="Memory a converter process may add to its size at start."
    )
    rag_convert_cpu_seconds: int = Field(120, ge=1, description="CPU time one file's conversion may use.")
    rag_convert_timeout_seconds: float = Field(600.0, gt=0, description="Wall-clock deadline of one file's conversion.")
    rag_max_text_chars: int = Field(5_000_000, ge=1000, description="Most characters of text one document may yield.")
    rag_max_chunks: int = Field(5_000, ge=1, description="Most chunks one document may make.")
    rag_zip_max_bytes: int = Field(256 * 1024 * 1024, ge=1024 * 1024, description="Most bytes a .docx may inflate to.")
    rag_zip_max_ratio: int = Field(100, ge=2, description="Highest compression ratio of a large .docx member.")
    rag_zip_max_members: int = Field(10_000, ge=10, description="Most members in a .docx archive.")
    rag_min_relevance: float = Field(
        0.3, ge=-1, le=1, description="Cosine similarity below which a passage is not cited."
    )
    rag_cache_ttl: int = Field(3600, ge=0, description="Seconds answers and query embeddings stay cached; 0: off.")

    @property
    def rag_dir(self) -> Path:
        return Path(self.data_dir) / "rag"

    def convert_limits(self):
        from services.rag.convert import Limits

        return Limits(
            memory_headroom_mb=self.rag_convert_memory_mb,
            cpu_seconds=self.rag_convert_cpu_seconds,
            wall_seconds=self.rag_convert_timeout_seconds,
            max_text_chars=self.rag_max_text_chars,
            max_chunks=self.rag_max_chunks,
            zip_max_bytes=self.rag_zip_max_bytes,
            zip_max_ratio=self.rag_zip_max_ratio,
            zip_max_members=self.rag_zip_max_members,
        )

    def catalog_url(self) -> str:
        return self.rag_database_url or f"sqlite:///{self.rag_dir / 'catalog.sqlite3'}"


@lru_cache(maxsize=1)
def get_rag_settings() -> RagSettings:
    settings = RagSettings()
    settings.check_secure()
    if settings.document_store == "elasticsearch" and not settings.elasticsearch_url:
        raise SystemExit("AGENTHUB_ELASTICSEARCH_URL is required when AGENTHUB_DOCUMENT_STORE=elasticsearch")
    return settings
