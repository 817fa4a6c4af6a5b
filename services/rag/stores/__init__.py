"""Document stores behind one interface (``ChunkStore``): embedded by default, Elasticsearch at scale."""

from __future__ import annotations

from services.rag.stores.base import ChunkStore


def open_store(settings) -> ChunkStore:
    """The store the settings name; nothing here connects before it is called."""
    if settings.document_store == "elasticsearch":
        from services.rag.stores.elastic import ElasticStore

        return ElasticStore(settings.elasticsearch_url, index=settings.elasticsearch_index)
    from services.rag.stores.embedded import EmbeddedStore

    return EmbeddedStore(settings.rag_dir / "chunks")


__all__ = ["ChunkStore", "open_store"]
