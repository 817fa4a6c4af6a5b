"""The auth fixtures (databases, Redis prefix, domain, an auth service of its own): tests/support/fixtures/auth.py."""

from tests.support.fixtures.auth import (  # noqa: F401 (fixtures, found by pytest by name)
    auth_database,
    auth_isolation,
    auth_service,
    clock,
    database_url,
    domain,
    engine,
    make_domain,
    passwords,
    pg_database,
    redis_client,
    redis_prefix,
)
