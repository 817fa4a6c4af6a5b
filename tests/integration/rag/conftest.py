"""The rag fixtures (a domain library on a temporary data dir, the catalog's engines): tests/support/fixtures/rag.py."""

from tests.support.fixtures.rag import engine, library, redis_client  # noqa: F401 (fixtures, found by pytest by name)
