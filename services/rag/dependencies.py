"""Adapters between Nameko and the rag domain: ``build_library`` wires the domain
from settings (also used by tests and benchmarks); ``RagLibrary`` builds it once
per process in ``setup()`` with the ingestion queue wired in (its publisher is the
domain's ``wake``; its consumer runs the domain's worker), loading the model and
the store before the service starts consuming."""

from __future__ import annotations

from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider

from core import metrics
from services.common.dependencies import RedisPool
from services.rag.settings import RagSettings, get_rag_settings


def job_stats(engine) -> tuple[dict[str, int], float | None]:
    """Jobs by status, and when the oldest queued one was created (epoch s): for /metrics."""
    from sqlalchemy import func, select

    from services.rag.jobs import JobRow

    with engine.connect() as connection:
        counts = dict(connection.execute(select(JobRow.status, func.count()).group_by(JobRow.status)).all())
        oldest = connection.execute(select(func.min(JobRow.created_at)).where(JobRow.status == "QUEUED")).scalar()
    return {str(status).lower(): int(count) for status, count in counts.items()}, oldest


def _ignore(job_id: str) -> None:
    """The default ``wake`` outside the service: nothing listens; ``run_job`` is called directly."""


def build_library(settings: RagSettings, redis_client, store=None, wake=_ignore):
    """The domain of one process; ``wake(job_id)`` announces a new or requeued job (the ingestion
    queue's publisher in the service, a collector in tests)."""
    from services.rag.answers import Answerer, answer_generator
    from services.rag.catalog import Catalog, make_engine
    from services.rag.corpus import CorpusVersion
    from services.rag.embedding import Embedder, QueryEmbeddings
    from services.rag.files import Files
    from services.rag.ingestion import Indexer
    from services.rag.jobs import JobBoard, JobVersions
    from services.rag.library import Library
    from services.rag.reads import Reads
    from services.rag.retrieval import Retriever
    from services.rag.stores import open_store
    from services.rag.submission import Submission
    from services.rag.worker import IngestionWorker

    settings.rag_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(make_engine(settings.catalog_url()))
    store = store if store is not None else open_store(settings)
    embedder = Embedder(
        batch_size=settings.rag_embed_batch, model_dir=settings.embedder_dir, threads=settings.rag_embed_threads
    )
    embedder.warm_up()
    prefix = settings.redis_prefix
    # Query embeddings are shared through Redis only between instances of a shared store: the
    # embedded store has one instance, whose own LRU is the whole cache (a Redis GET missed on every
    # new query, and its SET, cost the hub about 0.4 ms of CPU per search)
    shared = redis_client if store.kind != "embedded" else None
    retriever = Retriever(store, QueryEmbeddings(embedder, shared, prefix, settings.rag_cache_ttl), catalog)
    generator = answer_generator(settings) if settings.uses_openai else None
    answerer = Answerer(
        retriever,
        min_relevance=settings.rag_min_relevance,
        generator=generator,
        redis_client=redis_client,
        prefix=prefix,
        ttl=settings.rag_cache_ttl,
        model=settings.llm_model if generator else "",
    )
    board = JobBoard(
        catalog.engine,
        lease_seconds=settings.rag_job_lease_seconds,
        max_attempts=settings.rag_job_max_attempts,
        user_quota=settings.rag_ingest_user_quota,
        changed=JobVersions(redis_client, prefix),
    )
    files, corpus = Files(settings.rag_dir), CorpusVersion(redis_client, prefix)
    indexer = Indexer(
        embedder, store, settings.rag_chunk_words, settings.rag_chunk_overlap_sentences, settings.convert_limits()
    )
    return Library(
        submission=Submission(
            catalog=catalog, board=board, files=files, wake=wake, max_file_bytes=settings.rag_max_file_bytes
        ),
        worker=IngestionWorker(
            catalog=catalog,
            store=store,
            indexer=indexer,
            board=board,
            files=files,
            corpus=corpus,
            wake=wake,
            embed_batch=settings.rag_embed_batch,
        ),
        reads=Reads(
            catalog=catalog,
            store=store,
            retriever=retriever,
            answerer=answerer,
            files=files,
            corpus=corpus,
            max_collections=settings.rag_max_collections,
        ),
        catalog=catalog,
        board=board,
        store=store,
        files=files,
        indexer=indexer,
        retriever=retriever,
        wake=wake,
    )


class RagLibrary(DependencyProvider):
    """Builds the process's ``Library`` and its ingestion queue (publisher, consumer, scheduler)
    once, in ``setup()`` (loading the model and the store before the service consumes), and
    injects the ``Library``."""

    pool = RedisPool()

    def setup(self) -> None:
        from services.rag.embedding import native_logging
        from services.rag.native import without_pytorch
        from services.rag.queue import IngestionQueue, Wakeups, ingestion_queue

        without_pytorch()  # before anything imports Haystack
        native_logging()
        self.settings = settings = get_rag_settings()
        amqp_uri, queue = self.container.config[AMQP_URI_CONFIG_KEY], ingestion_queue(settings.queue_type)
        ssl = self.container.config.get(AMQP_SSL_CONFIG_KEY)
        self.wakeups = Wakeups(amqp_uri, queue, ssl)
        self.library = build_library(settings, self.pool.client(), wake=self.wakeups)
        self.queue = IngestionQueue(
            board=self.library.board,
            worker=self.library.worker,
            amqp_uri=amqp_uri,
            ssl=ssl,
            queue=queue,
            concurrency=settings.rag_ingest_concurrency,
            poll_seconds=settings.rag_ingest_poll_seconds,
        )
        engine = self.library.catalog.engine
        metrics.register_ingestion_jobs(lambda: job_stats(engine))

    def start(self) -> None:
        self.queue.start(self.container.spawn_managed_thread)

    def stop(self) -> None:
        self.queue.stop()  # jobs given back first, while the store and the catalog are open
        self.library.store.close()
        self.library.catalog.close()
        self.wakeups.close()

    def kill(self) -> None:
        self.queue.kill()

    def get_dependency(self, worker_ctx):
        return self.library
