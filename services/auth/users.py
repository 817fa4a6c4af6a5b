"""Users: registration, the caller's own account (``me``), and the admins' list, roles and deactivation.

Passwords are stored as Argon2id hashes, hashed outside any transaction (SQLite's
lock must never be held across an eventlet switch). A role change or a
deactivation bumps the user's token version, which revokes every token issued
before it (published after the commit, ``revocations.py``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from core.cursor import decode_cursor, encode_cursor
from core.ratelimit import Limit, SyncLimiter
from core.tokens import PROFILE_TTL_SECONDS, profile_key
from schema.auth import Page, PageArgs, RegisterInput, UserOut
from schema.errors import BadUserInput, Conflict, NotFound, Unauthenticated
from schema.models import Identity, Outcome
from schema.permissions import Role, permissions_of
from services.auth.audit import AuditLog, audit_row
from services.auth.common import RequestMeta, as_utc, identifier, utcnow
from services.auth.models import Session, User
from services.auth.passwords import Passwords
from services.auth.revocations import Revocations
from services.common.settings import ServiceSettings


def user_out(user: User, identity: Identity | None = None) -> UserOut:
    """The account as its owner or an admin sees it; an API key's caller sees only the key's scopes."""
    permissions = {p.value for p in permissions_of(user.role)}
    if identity is not None and identity.api_key_id:
        permissions &= set(identity.permissions)
    return UserOut(
        id=user.id,
        username=user.username,
        email=user.email,
        role=user.role,
        active=user.active,
        permissions=sorted(permissions),
        created_at=user.created_at,
    )


def active_user(session: DbSession, identity: Identity) -> User:
    """The caller's account, or UNAUTHENTICATED when it is gone or deactivated since the token was issued."""
    user = session.get(User, identity.user_id)
    if user is None or not user.active:
        raise Unauthenticated("The account no longer exists or is deactivated.", {"reason": "inactive"})
    return user


class Users:
    def __init__(
        self,
        session_factory: sessionmaker,
        redis_client,
        settings: ServiceSettings,
        passwords: Passwords,
        audit: AuditLog,
        revocations: Revocations,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sf = session_factory
        self.redis = redis_client
        self.settings = settings
        self.prefix = settings.redis_prefix
        self.passwords = passwords
        self.audit = audit
        self.revocations = revocations
        self.now = clock
        self.limiter = SyncLimiter(redis_client, settings.redis_prefix)
        self.register_limit = Limit.parse(settings.register_rate_limit)

    def register(self, data: RegisterInput, meta: RequestMeta = RequestMeta()) -> UserOut:
        if meta.ip:
            decision = self.limiter.hit(f"register:ip:{meta.ip}", self.register_limit)
            if not decision.allowed:
                raise self.audit.rate_limited("register", [("ip", decision)], meta, {"username": data.username})
        key = data.username.lower()
        with self.sf() as session:
            taken = session.scalar(select(User.id).where(User.username_key == key))
        if taken:
            raise self._taken(data.username, meta)
        password_hash = self.passwords.hash(data.password)
        now = self.now()
        user = User(
            id=str(uuid.uuid4()),
            username=data.username,
            username_key=key,
            email=data.email,
            password_hash=password_hash,
            role=Role.USER.value,
            active=True,
            token_version=0,
            created_at=now,
            updated_at=now,
        )
        try:
            with self.sf.begin() as session:
                session.add(user)
                session.add(
                    audit_row(
                        "register",
                        meta=meta,
                        actor=user.id,
                        resource=f"user:{user.id}",
                        detail={"username": user.username},
                        at=now,
                    )
                )
        except IntegrityError:
            raise self._taken(data.username, meta) from None
        return user_out(user)

    def _taken(self, username: str, meta: RequestMeta) -> Conflict:
        self.audit.write(
            audit_row(
                "register",
                outcome=Outcome.FAILURE,
                meta=meta,
                detail={"username": username, "reason": "username taken"},
                at=self.now(),
            )
        )
        return Conflict("This username is already taken.", {"fields": {"username": "is already taken"}})

    def me(self, identity: Identity) -> UserOut:
        with self.sf() as session:
            user = active_user(session, identity)
            self._publish_profile(user)
            return user_out(user, identity)

    def _publish_profile(self, user: User) -> None:
        """What the gateway needs to answer ``me`` at the edge (nothing secret)."""
        profile = {
            "id": user.id,
            "username": user.username,
            "email": user.email,
            "role": user.role,
            "active": user.active,
            "created_at": as_utc(user.created_at).isoformat(),
            "version": user.token_version,
        }
        self.redis.set(profile_key(self.prefix, user.id), json.dumps(profile), ex=PROFILE_TTL_SECONDS)

    def users(self, page: PageArgs, search: str | None = None) -> Page[UserOut]:
        if search is not None and (not isinstance(search, str) or len(search) > 100):
            raise BadUserInput.for_fields({"search": "must be a string of at most 100 characters"})
        query = select(User)
        if search:
            needle = search.lower()
            query = query.where(
                or_(
                    User.username_key.contains(needle, autoescape=True),
                    func.lower(User.email).contains(needle, autoescape=True),
                )
            )
        if page.after:
            key, user_id = decode_cursor(page.after, 2)
            query = query.where(or_(User.username_key > key, and_(User.username_key == key, User.id > user_id)))
        query = query.order_by(User.username_key, User.id).limit(page.first + 1)
        with self.sf() as session:
            rows = list(session.scalars(query))
        items, more = rows[: page.first], len(rows) > page.first
        cursor = encode_cursor(items[-1].username_key, items[-1].id) if items else None
        return Page[UserOut](items=[user_out(u) for u in items], end_cursor=cursor, has_next_page=more)

    def set_user_role(self, identity: Identity, user_id: str, role: Any, meta: RequestMeta = RequestMeta()) -> UserOut:
        user_id = identifier(user_id, "userId")
        try:
            new_role = Role(role)
        except ValueError:
            raise BadUserInput.for_fields({"role": "must be one of " + ", ".join(r.value for r in Role)}) from None
        if user_id == identity.user_id and new_role.value != identity.role:
            raise BadUserInput.for_fields({"userId": "you cannot change your own role"})
        with self.sf.begin() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("No such user.", {"resource": "user"})
            changed = user.role != new_role.value
            if changed:
                old = user.role
                user.role = new_role.value
                user.token_version += 1
                user.updated_at = self.now()
                session.add(
                    audit_row(
                        "user.role",
                        meta=meta,
                        identity=identity,
                        resource=f"user:{user.id}",
                        detail={"from": old, "to": new_role.value},
                        at=self.now(),
                    )
                )
        if changed:
            self.revocations.user_version(user.id, user.token_version)
        return user_out(user)

    def set_user_active(
        self, identity: Identity, user_id: str, active: Any, meta: RequestMeta = RequestMeta()
    ) -> UserOut:
        user_id = identifier(user_id, "userId")
        if not isinstance(active, bool):
            raise BadUserInput.for_fields({"active": "must be true or false"})
        if user_id == identity.user_id and not active:
            raise BadUserInput.for_fields({"userId": "you cannot deactivate yourself"})
        now = self.now()
        ended: list[str] = []
        with self.sf.begin() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("No such user.", {"resource": "user"})
            changed = user.active != active
            if changed:
                user.active = active
                user.updated_at = now
                if not active:
                    # every access token and API key grant issued so far carries the old version;
                    # the user's sessions end in the same transaction
                    user.token_version += 1
                    open_sessions = session.scalars(
                        select(Session).where(Session.user_id == user.id, Session.revoked_at.is_(None))
                    )
                    for open_session in open_sessions:
                        open_session.revoked_at = now
                        ended.append(open_session.id)
                session.add(
                    audit_row(
                        "user.activate" if active else "user.deactivate",
                        meta=meta,
                        identity=identity,
                        resource=f"user:{user.id}",
                        detail={"sessionsEnded": str(len(ended))},
                        at=now,
                    )
                )
        if changed and not active:
            self.revocations.user_version(user.id, user.token_version)
            self.revocations.sessions_ended(ended)
        return user_out(user)
