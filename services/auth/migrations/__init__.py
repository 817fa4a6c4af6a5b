"""Alembic migrations of the auth database (run them with ``services.auth.db.migrate``)."""
