"""The rag domain of one process, wired once by ``dependencies.build_library``.

Three parts of one responsibility each, sharing the catalog, the job board,
the chunk store and the staged files:

* ``submission`` (``submission.py``): ``ingest_text``, ``upload``, ``job``, ``cancel_job``;
* ``worker`` (``worker.py``): ``run_job`` (convert, split, embed, write), ``reap``, ``release_all``;
* ``reads`` (``reads.py``): collections, documents, search, ask.

``wake`` is how a new or requeued job is announced (the ingestion queue's
publisher in the service; a list in tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.rag.catalog import Catalog
from services.rag.files import Files
from services.rag.ingestion import Indexer
from services.rag.jobs import JobBoard
from services.rag.reads import Reads
from services.rag.retrieval import Retriever
from services.rag.submission import Submission, Wake
from services.rag.worker import IngestionWorker


@dataclass
class Library:
    submission: Submission
    worker: IngestionWorker
    reads: Reads
    catalog: Catalog
    board: JobBoard
    store: Any
    files: Files
    indexer: Indexer
    retriever: Retriever
    wake: Wake
