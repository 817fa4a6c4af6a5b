"""Accounts created outside the API: ``agenthub admin create``.

Works with or without the stack running: it needs only the database.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from schema.auth import RegisterInput, UserOut
from schema.errors import Conflict
from schema.models import ActorType
from schema.permissions import Role
from schema.validation import parse
from services.auth.audit import audit_row
from services.auth.common import utcnow
from services.auth.db import make_engine, migrate, session_factory
from services.auth.models import User
from services.auth.passwords import Passwords
from services.auth.users import user_out
from services.common.settings import ServiceSettings


def create_admin(
    sessions: sessionmaker,
    username: str,
    password: str,
    *,
    email: str | None = None,
    settings: ServiceSettings | None = None,
) -> UserOut:
    """Create an active ``admin`` account.

    The input follows the same rules as ``register`` (``BadUserInput`` naming
    the field otherwise); an existing username (case-insensitively) raises
    ``Conflict``. The password is hashed with the configured Argon2id parameters.
    """
    data = parse(RegisterInput, {"username": username, "password": password, "email": email})
    settings = settings or ServiceSettings()
    passwords = Passwords(settings.password_time_cost, settings.password_memory_cost, settings.password_parallelism)
    key = data.username.lower()
    with sessions() as session:
        if session.scalar(select(User.id).where(User.username_key == key)):
            raise Conflict("This username is already taken.", {"fields": {"username": "is already taken"}})
    now = utcnow()
    user = User(
        id=str(uuid.uuid4()),
        username=data.username,
        username_key=key,
        email=data.email,
        password_hash=passwords.hash(data.password),
        role=Role.ADMIN.value,
        active=True,
        token_version=0,
        created_at=now,
        updated_at=now,
    )
    try:
        with sessions.begin() as session:
            session.add(user)
            session.add(
                audit_row(
                    "admin.create",
                    actor_type=ActorType.ANONYMOUS,
                    resource=f"user:{user.id}",
                    detail={"username": user.username, "via": "cli"},
                    at=now,
                )
            )
    except IntegrityError:
        raise Conflict("This username is already taken.", {"fields": {"username": "is already taken"}}) from None
    return user_out(user)


def create_admin_at(
    database_url: str,
    username: str,
    password: str,
    *,
    email: str | None = None,
    settings: ServiceSettings | None = None,
) -> UserOut:
    """``create_admin`` on the database at ``database_url``, migrated to the newest schema first."""
    migrate(database_url)
    engine = make_engine(database_url, pool_size=1)
    try:
        return create_admin(session_factory(engine), username, password, email=email, settings=settings)
    finally:
        engine.dispose()
