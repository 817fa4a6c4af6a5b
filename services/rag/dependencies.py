"""Adapters between Nameko and the rag domain: ``build_library`` wires the domain
from settings (also used by tests and benchmarks); ``RagLibrary`` builds it once
per process in ``setup()``, loading the model and the store before the service
starts consuming."""

from __future__ import annotations

from nameko.extensions import DependencyProvider

from core import metrics
from core.redis_client import sync_client
from services.rag.settings import RagSettings, get_rag_settings


def job_stats(engine) -> tuple[dict[str, int], float | None]:
    """Jobs by status, and when the oldest queued one was created (epoch s): for /metrics."""
    from sqlalchemy import func, select

    from services.rag.jobs import JobRow

    with engine.connect() as connection:
        counts = dict(connection.execute(select(JobRow.status, func.count()).group_by(JobRow.status)).all())
        oldest = connection.execute(select(func.min(JobRow.created_at)).where(JobRow.status == "QUEUED")).scalar()
    return {str(status).lower(): int(count) for status, count in counts.items()}, oldest


def build_library(settings: RagSettings, redis_client, store=None):
    from services.rag.answers import Answerer, openai_generator
    from services.rag.catalog import Catalog, make_engine
    from services.rag.embedding import Embedder, QueryEmbeddings
    from services.rag.ingestion import Indexer
    from services.rag.jobs import JobBoard
    from services.rag.library import Files, Library
    from services.rag.retrieval import Retriever
    from services.rag.stores import open_store

    settings.rag_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(make_engine(settings.catalog_url()))
    store = store if store is not None else open_store(settings)
    embedder = Embedder(batch_size=settings.rag_embed_batch, model_dir=settings.embedder_dir,
                        threads=settings.rag_embed_threads)
    embedder.warm_up()
    prefix = settings.redis_prefix
    retriever = Retriever(store, QueryEmbeddings(embedder, redis_client, prefix, settings.rag_cache_ttl), catalog)
    generator = None
    if settings.llm_base_url:
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        generator = openai_generator(settings.llm_base_url, settings.llm_model, key, settings.llm_timeout)
    answerer = Answerer(retriever, min_relevance=settings.rag_min_relevance, generator=generator,
                        redis_client=redis_client, prefix=prefix, ttl=settings.rag_cache_ttl,
                        model=settings.llm_model if generator else "")
    board = JobBoard(catalog.engine, lease_seconds=settings.rag_job_lease_seconds,
                     max_attempts=settings.rag_job_max_attempts, user_quota=settings.rag_ingest_user_quota)
    return Library(catalog=catalog, store=store,
                   indexer=Indexer(embedder, store, settings.rag_chunk_words, settings.rag_chunk_overlap_sentences,
                                   settings.convert_limits()),
                   board=board, retriever=retriever, answerer=answerer, files=Files(settings.rag_dir),
                   redis_client=redis_client, prefix=prefix, max_file_bytes=settings.rag_max_file_bytes,
                   embed_batch=settings.rag_embed_batch)


class RagLibrary(DependencyProvider):
    """Injects the process's ``Library``."""

    def setup(self) -> None:
        from services.rag.embedding import native_logging
        from services.rag.native import without_pytorch
        without_pytorch()  # before anything imports Haystack
        native_logging()
        self.settings = get_rag_settings()
        self.redis = sync_client(self.settings, socket_timeout=10)
        self.library = build_library(self.settings, self.redis)
        engine = self.library.catalog.engine
        metrics.register_ingestion_jobs(lambda: job_stats(engine))

    def stop(self) -> None:
        self.library.store.close()
        self.library.catalog.close()
        self.redis.close()

    def get_dependency(self, worker_ctx):
        return self.library

