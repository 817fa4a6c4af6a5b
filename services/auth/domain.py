"""The auth domain: accounts, sessions, refresh tokens, API keys, revocation and the audit log.

Plain code, testable without AMQP or eventlet: the service's entrypoints parse
their input, call one method here with the caller's verified ``Identity`` (or
none, for the methods that establish one) and serialise the model it returns.

Rules that hold everywhere:

* A secret never reaches the database or the audit log: passwords as Argon2id
  hashes, refresh tokens and API key secrets as SHA-256 hashes.
* Audit rows are written in the same transaction as the change they describe.
* No Redis call and no password hashing happens while a database transaction
  is open (SQLite's lock must never be held across an eventlet switch).
* Revocation is written to Redis after the commit; ``republish_revocations``
  rebuilds the Redis side from the database (the truth) and writes the
  revocation epoch last. It runs at start, whenever the edge finds the epoch or
  a user's version missing (``publish_revocations``), and from the service's
  timer when the epoch is gone or a publish failed while Redis was down.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from core.cursor import decode_cursor, encode_cursor
from core.ratelimit import Limit, SyncLimiter
from core.tokens import (
    PROFILE_TTL_SECONDS,
    TokenCodec,
    SET_MAX_SCRIPT,
    api_key_revoked_key,
    profile_key,
    revocation_epoch_key,
    session_revoked_key,
    user_version_key,
)
from schema.auth import (ApiKeyGrant, ApiKeyInput, ApiKeyOut, AuditEntryOut, AuditFilter, CreatedApiKey,
                         LoginInput, Page, PageArgs, RegisterInput, SessionOut, TokenPair, UserOut)
from schema.errors import BadUserInput, Conflict, Forbidden, NotFound, RateLimited, Unauthenticated
from schema.models import ActorType, AuditEvent, Identity, Outcome
from schema.permissions import Role, permissions_of
from services.auth import audit as audit_store
from services.auth.models import ApiKey, AuditRow, RefreshToken, Session, User
from services.auth.passwords import Passwords
from services.auth.throttle import LoginThrottle
from services.common.settings import ServiceSettings

log = logging.getLogger("agenthub.auth")

API_KEY_PREFIX = "ah_"
MAX_ID_LENGTH = 100
SECRET_DETAIL_WORDS = ("password", "passwd", "secret", "authorization", "credential")
SECRET_DETAIL_KEYS = ("key", "apikey", "api_key")  # a detail named like this, or ending in "token", is redacted
_DUMMY_DIGEST = hashlib.sha256(b"agenthub-no-such-api-key").hexdigest()


@dataclass(frozen=True)
class RequestMeta:
    """Where a request came from, as the gateway put it in the RPC context."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _clip(value: str | None, length: int) -> str | None:
    return None if value is None else str(value)[:length]


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _identifier(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise BadUserInput.for_fields({field: f"must be an id of 1-{MAX_ID_LENGTH} characters"})
    return value



def _redact(detail: dict[str, Any]) -> dict[str, str]:
    clean = {}
    for key, value in list(detail.items())[:50]:
        key = str(key)[:100]
        lowered = key.lower()
        secret = (any(word in lowered for word in SECRET_DETAIL_WORDS) or lowered.endswith("token")
                  or lowered in SECRET_DETAIL_KEYS)
        clean[key] = "[redacted]" if secret else str(value)[:1000]
    return clean


def user_out(user: User, identity: Identity | None = None) -> UserOut:
    permissions = {p.value for p in permissions_of(user.role)}
    if identity is not None and identity.api_key_id:
        permissions &= set(identity.permissions)
    return UserOut(id=user.id, username=user.username, email=user.email, role=user.role, active=user.active,
                   permissions=sorted(permissions), created_at=user.created_at)


def api_key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(id=key.id, name=key.name, scopes=sorted(key.scopes), created_at=key.created_at,
                     last_used_at=key.last_used_at, expires_at=key.expires_at, revoked=key.revoked_at is not None)


def audit_out(row: AuditRow) -> AuditEntryOut:
    return AuditEntryOut(id=row.id, at=row.at, actor=row.actor, actor_type=row.actor_type, api_key_id=row.api_key_id,
                         action=row.action, resource=row.resource, outcome=row.outcome, ip=row.ip,
                         user_agent=row.user_agent, request_id=row.request_id,
                         detail={str(k): str(v) for k, v in (row.detail or {}).items()})


def audit_row(action: str, *, outcome: Outcome | str = Outcome.SUCCESS, meta: RequestMeta | None = None,
              identity: Identity | None = None, actor: str | None = None,
              actor_type: ActorType | str | None = None, api_key_id: str | None = None,
              resource: str | None = None, detail: dict[str, Any] | None = None,
              at: datetime | None = None) -> AuditRow:
    """One audit row; the actor comes from ``identity`` unless given."""
    meta = meta or RequestMeta()
    if identity is not None:
        actor = actor or identity.user_id
        actor_type = actor_type or identity.actor_type
        api_key_id = api_key_id or identity.api_key_id
    actor_type = actor_type or (ActorType.USER if actor else ActorType.ANONYMOUS)
    return AuditRow(
        id=str(uuid.uuid4()), at=at or utcnow(), actor=_clip(actor, 100),
        actor_type=str(getattr(actor_type, "value", actor_type))[:16], api_key_id=_clip(api_key_id, 100),
        action=str(action)[:100], resource=_clip(resource, 200),
        outcome=str(getattr(outcome, "value", outcome))[:16], ip=_clip(meta.ip, 64),
        user_agent=_clip(meta.user_agent, 512), request_id=_clip(meta.request_id, 100),
        detail=_redact(detail or {}),
    )


class AuthDomain:
    def __init__(self, session_factory: sessionmaker, redis_client, settings: ServiceSettings,
                 codec: TokenCodec | None = None, passwords: Passwords | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.sf = session_factory
        self.redis = redis_client
        self.settings = settings
        self.prefix = settings.redis_prefix
        self.codec = codec or TokenCodec(settings)
        self.passwords = passwords or Passwords(settings.password_time_cost, settings.password_memory_cost,
                                                settings.password_parallelism)
        self.clock = clock or utcnow
        self.limiter = SyncLimiter(redis_client, settings.redis_prefix)
        self.throttle = LoginThrottle(redis_client, settings.redis_prefix,
                                      pair=Limit.parse(settings.login_user_rate_limit),
                                      ip=Limit.parse(settings.login_ip_rate_limit),
                                      username=Limit.parse(settings.login_username_rate_limit))
        self.register_limit = Limit.parse(settings.register_rate_limit)
        self._set_max = redis_client.register_script(SET_MAX_SCRIPT)
        self._republish_lock = threading.Lock()  # greened under eventlet: one republish at a time
        self.unpublished = False  # a revocation reached the database but not Redis: republish when it is back

    # -- helpers -----------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    def _audit(self, row: AuditRow) -> None:
        """An audit row in a transaction of its own (events that change nothing else)."""
        with self.sf.begin() as session:
            session.add(row)

    def _rate_limited(self, operation: str, refused: list[tuple[str, Any]], meta: RequestMeta,
                      detail: dict[str, str]) -> RateLimited:
        retry_after = max(decision.retry_after for _, decision in refused)
        scopes = ",".join(scope for scope, _ in refused)
        self._audit(audit_row("rate_limited", outcome=Outcome.DENIED, meta=meta, resource=f"operation:{operation}",
                              detail={**detail, "operation": operation, "limit": scopes,
                                      "retryAfter": str(retry_after)}, at=self.now()))
        return RateLimited(f"Too many attempts. Try again in {retry_after} s.",
                           {"retryAfter": retry_after, "operation": operation})

    def _issue(self, user: User, session_id: str) -> str:
        return self.codec.issue(subject=user.id, role=user.role, username=user.username, session_id=session_id,
                                version=user.token_version).token

    def _token_pair(self, user: User, session_id: str, refresh_token: str) -> TokenPair:
        return TokenPair(access_token=self._issue(user, session_id), refresh_token=refresh_token,
                         expires_in=self.settings.access_token_ttl)

    def _revocation_write(self, pipe) -> None:
        """Runs a revocation's Redis writes; if Redis fails, the next republish must happen."""
        try:
            pipe.execute()
        except Exception:
            self.unpublished = True
            raise

    def _publish_session_revoked(self, session_ids: list[str]) -> None:
        if session_ids:
            ttl = self.settings.access_token_ttl + 60
            pipe = self.redis.pipeline(transaction=False)
            for session_id in session_ids:
                pipe.set(session_revoked_key(self.prefix, session_id), "1", ex=ttl)
            self._revocation_write(pipe)

    def _publish_user_version(self, user_id: str, version: int) -> None:
        pipe = self.redis.pipeline(transaction=False)
        self._set_max(keys=[user_version_key(self.prefix, user_id)], args=[version], client=pipe)
        pipe.delete(profile_key(self.prefix, user_id))
        self._revocation_write(pipe)

    def _publish_profile(self, user: User) -> None:
        """What the gateway needs to answer ``me`` at the edge (nothing secret)."""
        profile = {"id": user.id, "username": user.username, "email": user.email, "role": user.role,
                   "active": user.active, "created_at": _as_utc(user.created_at).isoformat(),
                   "version": user.token_version}
        self.redis.set(profile_key(self.prefix, user.id), json.dumps(profile), ex=PROFILE_TTL_SECONDS)

    def _publish_key_revoked(self, key_id: str, expires_at: datetime | None) -> None:
        ttl = None
        if expires_at is not None:
            ttl = max(1, int((expires_at - self.now()).total_seconds()) + 60)
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(api_key_revoked_key(self.prefix, key_id), "1", ex=ttl)
        self._revocation_write(pipe)

    def _user(self, session, identity: Identity) -> User:
        user = session.get(User, identity.user_id)
        if user is None or not user.active:
            raise Unauthenticated("The account no longer exists or is deactivated.", {"reason": "inactive"})
        return user

    # -- accounts ----------------------------------------------------------

    def register(self, data: RegisterInput, meta: RequestMeta = RequestMeta()) -> UserOut:
        if meta.ip:
            decision = self.limiter.hit(f"register:ip:{meta.ip}", self.register_limit)
            if not decision.allowed:
                raise self._rate_limited("register", [("ip", decision)], meta, {"username": data.username})
        key = data.username.lower()
        with self.sf() as session:
            taken = session.scalar(select(User.id).where(User.username_key == key))
        if taken:
            raise self._taken(data.username, meta)
        password_hash = self.passwords.hash(data.password)
        now = self.now()
        user = User(id=str(uuid.uuid4()), username=data.username, username_key=key, email=data.email,
                    password_hash=password_hash, role=Role.USER.value, active=True, token_version=0,
                    created_at=now, updated_at=now)
        try:
            with self.sf.begin() as session:
                session.add(user)
                session.add(audit_row("register", meta=meta, actor=user.id, resource=f"user:{user.id}",
                                      detail={"username": user.username}, at=now))
        except IntegrityError:
            raise self._taken(data.username, meta) from None
        return user_out(user)

    def _taken(self, username: str, meta: RequestMeta) -> Conflict:
        self._audit(audit_row("register", outcome=Outcome.FAILURE, meta=meta,
                              detail={"username": username, "reason": "username taken"}, at=self.now()))
        return Conflict("This username is already taken.", {"fields": {"username": "is already taken"}})

    def me(self, identity: Identity) -> UserOut:
        with self.sf() as session:
            user = self._user(session, identity)
            self._publish_profile(user)
            return user_out(user, identity)

    def users(self, page: PageArgs, search: str | None = None) -> Page[UserOut]:
        if search is not None and (not isinstance(search, str) or len(search) > 100):
            raise BadUserInput.for_fields({"search": "must be a string of at most 100 characters"})
        query = select(User)
        if search:
            needle = search.lower()
            query = query.where(or_(User.username_key.contains(needle, autoescape=True),
                                    func.lower(User.email).contains(needle, autoescape=True)))
        if page.after:
            key, user_id = decode_cursor(page.after, 2)
            query = query.where(or_(User.username_key > key, and_(User.username_key == key, User.id > user_id)))
        query = query.order_by(User.username_key, User.id).limit(page.first + 1)
        with self.sf() as session:
            rows = list(session.scalars(query))
        items, more = rows[:page.first], len(rows) > page.first
        cursor = encode_cursor(items[-1].username_key, items[-1].id) if items else None
        return Page[UserOut](items=[user_out(u) for u in items], end_cursor=cursor, has_next_page=more)

    def set_user_role(self, identity: Identity, user_id: str, role: Any,
                      meta: RequestMeta = RequestMeta()) -> UserOut:
        user_id = _identifier(user_id, "userId")
        try:
            new_role = Role(role)
        except ValueError:
            raise BadUserInput.for_fields(
                {"role": "must be one of " + ", ".join(r.value for r in Role)}) from None
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
                session.add(audit_row("user.role", meta=meta, identity=identity, resource=f"user:{user.id}",
                                      detail={"from": old, "to": new_role.value}, at=self.now()))
        if changed:
            self._publish_user_version(user.id, user.token_version)
        return user_out(user)

    def set_user_active(self, identity: Identity, user_id: str, active: Any,
                        meta: RequestMeta = RequestMeta()) -> UserOut:
        user_id = _identifier(user_id, "userId")
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
                    # every access token and API key grant issued so far carries the old version
                    user.token_version += 1
                    open_sessions = session.scalars(select(Session).where(
                        Session.user_id == user.id, Session.revoked_at.is_(None)))
                    for open_session in open_sessions:
                        open_session.revoked_at = now
                        ended.append(open_session.id)
                session.add(audit_row("user.activate" if active else "user.deactivate", meta=meta,
                                      identity=identity, resource=f"user:{user.id}",
                                      detail={"sessionsEnded": str(len(ended))}, at=now))
        if changed and not active:
            self._publish_user_version(user.id, user.token_version)
            self._publish_session_revoked(ended)
        return user_out(user)

    # -- sessions and tokens -------------------------------------------------

    def login(self, data: LoginInput, meta: RequestMeta = RequestMeta()) -> TokenPair:
        key = data.username.lower()
        # The attempt is reserved before the password is checked (services/auth/throttle.py); over a
        # limit the answer is RATE_LIMITED, right password or wrong.
        reservation = self.throttle.reserve(key, meta.ip)
        if not reservation.allowed:
            raise self._rate_limited("login", [(reservation.scope, reservation)], meta, {"username": data.username})

        with self.sf() as session:
            user = session.scalar(select(User).where(User.username_key == key))
        valid = self.passwords.verify(user.password_hash if user else None, data.password)
        if not valid:
            self._audit(audit_row("login", outcome=Outcome.FAILURE, meta=meta,
                                  resource=f"user:{user.id}" if user else None,
                                  detail={"username": data.username, "reason": "bad credentials"}, at=self.now()))
            raise Unauthenticated("Wrong username or password.", {"reason": "credentials"})
        if not user.active:
            self._audit(audit_row("login", outcome=Outcome.FAILURE, meta=meta, actor=user.id,
                                  resource=f"user:{user.id}", detail={"reason": "deactivated"}, at=self.now()))
            raise Unauthenticated("This account is deactivated.", {"reason": "inactive"})

        new_hash = self.passwords.hash(data.password) if self.passwords.needs_rehash(user.password_hash) else None
        refresh_token = secrets.token_urlsafe(32)
        now = self.now()
        session_id = str(uuid.uuid4())
        with self.sf.begin() as session:
            user = session.get(User, user.id)
            if new_hash:
                user.password_hash = new_hash
                user.updated_at = now
            session.add(Session(id=session_id, user_id=user.id, created_at=now, last_used_at=now,
                                expires_at=now + timedelta(seconds=self.settings.refresh_token_ttl),
                                ip=_clip(meta.ip, 64), user_agent=_clip(meta.user_agent, 512)))
            session.flush()
            session.add(RefreshToken(token_hash=digest(refresh_token), session_id=session_id, created_at=now))
            session.add(audit_row("login", meta=meta, actor=user.id, resource=f"session:{session_id}",
                                  detail={"rehashed": "true"} if new_hash else {}, at=now))
        self.throttle.succeeded(reservation)  # not a failure; this address's failures are forgiven
        return self._token_pair(user, session_id, refresh_token)

    def refresh(self, refresh_token: Any, meta: RequestMeta = RequestMeta()) -> TokenPair:
        if not isinstance(refresh_token, str) or not refresh_token or len(refresh_token) > 200:
            raise BadUserInput.for_fields({"refreshToken": "must be a refresh token"})
        now = self.now()
        new_token = secrets.token_urlsafe(32)
        failure: Unauthenticated | None = None
        reused_session: str | None = None
        with self.sf.begin() as session:
            stored = session.get(RefreshToken, digest(refresh_token))
            if stored is None:
                raise Unauthenticated("The refresh token is invalid.", {"reason": "invalid"})
            current = session.get(Session, stored.session_id)
            user = session.get(User, current.user_id)
            claimed = stored.used_at is None and session.execute(
                update(RefreshToken).where(RefreshToken.token_hash == stored.token_hash,
                                           RefreshToken.used_at.is_(None)).values(used_at=now)
            ).rowcount == 1
            if not claimed:
                # a rotated token presented again: stolen or replayed, end the whole session
                if current.revoked_at is None:
                    current.revoked_at = now
                reused_session = current.id
                session.add(audit_row("refresh.reuse", outcome=Outcome.DENIED, meta=meta, actor=user.id,
                                      resource=f"session:{current.id}", at=now))
                failure = Unauthenticated("The refresh token was already used; the session has been ended.",
                                          {"reason": "reuse"})
            elif current.revoked_at is not None or current.expires_at <= now or not user.active:
                reason = ("inactive" if not user.active else
                          "revoked" if current.revoked_at is not None else "expired")
                session.add(audit_row("refresh", outcome=Outcome.FAILURE, meta=meta, actor=user.id,
                                      resource=f"session:{current.id}", detail={"reason": reason}, at=now))
                failure = Unauthenticated("The session has ended.", {"reason": reason})
            else:
                session.add(RefreshToken(token_hash=digest(new_token), session_id=current.id, created_at=now))
                current.last_used_at = now
                current.expires_at = now + timedelta(seconds=self.settings.refresh_token_ttl)
                if meta.ip:
                    current.ip = _clip(meta.ip, 64)
                if meta.user_agent:
                    current.user_agent = _clip(meta.user_agent, 512)
                session.add(audit_row("refresh", meta=meta, actor=user.id, resource=f"session:{current.id}",
                                      at=now))
        if reused_session:
            self._publish_session_revoked([reused_session])
        if failure is not None:
            raise failure
        return self._token_pair(user, current.id, new_token)

    def logout(self, identity: Identity, meta: RequestMeta = RequestMeta()) -> bool:
        if not identity.session_id:
            raise Forbidden("An API key has no session to end; revoke the key instead.")
        return self._end_session(identity, identity.session_id, "logout", meta)

    def revoke_session(self, identity: Identity, session_id: Any, meta: RequestMeta = RequestMeta()) -> bool:
        return self._end_session(identity, _identifier(session_id, "sessionId"), "session.revoke", meta)

    def _end_session(self, identity: Identity, session_id: str, action: str, meta: RequestMeta) -> bool:
        now = self.now()
        with self.sf.begin() as session:
            target = session.get(Session, session_id)
            if target is None or target.user_id != identity.user_id:
                raise NotFound("No such session.", {"resource": "session"})
            if target.revoked_at is None:
                target.revoked_at = now
            session.add(audit_row(action, meta=meta, identity=identity, resource=f"session:{session_id}", at=now))
        self._publish_session_revoked([session_id])
        return True

    def sessions(self, identity: Identity) -> list[SessionOut]:
        now = self.now()
        with self.sf() as session:
            rows = session.scalars(select(Session).where(
                Session.user_id == identity.user_id, Session.revoked_at.is_(None), Session.expires_at > now,
            ).order_by(Session.last_used_at.desc()))
            return [SessionOut(id=s.id, created_at=s.created_at, last_used_at=s.last_used_at,
                               expires_at=s.expires_at, ip=s.ip, user_agent=s.user_agent,
                               current=s.id == identity.session_id) for s in rows]

    # -- API keys --------------------------------------------------------------

    def create_api_key(self, identity: Identity, data: ApiKeyInput,
                       meta: RequestMeta = RequestMeta()) -> CreatedApiKey:
        if identity.api_key_id:
            raise Forbidden("An API key cannot create API keys.")
        scopes = sorted({scope.value for scope in data.scopes})
        missing = [scope for scope in scopes if scope not in identity.permissions]
        if missing:
            raise BadUserInput.for_fields({"scopes": "not among your permissions: " + ", ".join(missing)})
        now = self.now()
        longest = now + timedelta(days=self.settings.api_key_max_days)
        expires_at = _as_utc(data.expires_at) if data.expires_at else longest
        if expires_at <= now:
            raise BadUserInput.for_fields({"expiresAt": "must be in the future"})
        if expires_at > longest:
            raise BadUserInput.for_fields({"expiresAt": f"must be at most {self.settings.api_key_max_days} days away"})
        key_id, secret = uuid.uuid4().hex, secrets.token_urlsafe(32)
        row = ApiKey(id=key_id, user_id=identity.user_id, name=data.name, secret_hash=digest(secret),
                     scopes=scopes, created_at=now, expires_at=expires_at)
        with self.sf.begin() as session:
            self._user(session, identity)
            active = session.scalar(select(func.count()).select_from(ApiKey).where(
                ApiKey.user_id == identity.user_id, ApiKey.revoked_at.is_(None),
                (ApiKey.expires_at.is_(None)) | (ApiKey.expires_at > now)))
            if active >= self.settings.api_key_max_per_user:
                raise BadUserInput(f"You have {active} active API keys, the most allowed: revoke one first.",
                                   {"reason": "too_many_keys", "limit": self.settings.api_key_max_per_user})
            session.add(row)
            session.add(audit_row("api_key.create", meta=meta, identity=identity, resource=f"api_key:{key_id}",
                                  detail={"name": data.name, "scopes": " ".join(scopes)}, at=now))
        return CreatedApiKey(key=f"{API_KEY_PREFIX}{key_id}_{secret}", api_key=api_key_out(row))

    def api_keys(self, identity: Identity) -> list[ApiKeyOut]:
        with self.sf() as session:
            rows = session.scalars(select(ApiKey).where(ApiKey.user_id == identity.user_id)
                                   .order_by(ApiKey.created_at.desc(), ApiKey.id))
            return [api_key_out(row) for row in rows]

    def revoke_api_key(self, identity: Identity, key_id: Any, meta: RequestMeta = RequestMeta()) -> bool:
        key_id = _identifier(key_id, "keyId")
        now = self.now()
        with self.sf.begin() as session:
            row = session.get(ApiKey, key_id)
            if row is None or row.user_id != identity.user_id:
                raise NotFound("No such API key.", {"resource": "api_key"})
            if row.revoked_at is None:
                row.revoked_at = now
            session.add(audit_row("api_key.revoke", meta=meta, identity=identity, resource=f"api_key:{key_id}",
                                  at=now))
        self._publish_key_revoked(key_id, row.expires_at)
        return True

    def authenticate_api_key(self, key: Any, meta: RequestMeta = RequestMeta()) -> ApiKeyGrant:
        """Exchange an API key for a short-lived access token carrying the key's scopes."""
        invalid = Unauthenticated("The API key is invalid.", {"reason": "invalid"})
        if not isinstance(key, str) or not key.startswith(API_KEY_PREFIX) or len(key) > 200:
            raise invalid
        key_id, _, secret = key[len(API_KEY_PREFIX):].partition("_")
        now = self.now()
        reason: str | None = None
        with self.sf.begin() as session:
            row = session.get(ApiKey, key_id) if len(key_id) == 32 and secret else None
            matches = hmac.compare_digest(digest(secret), row.secret_hash if row else _DUMMY_DIGEST)
            if row is None:
                raise invalid
            owner = session.get(User, row.user_id)
            if not matches:
                reason = "invalid"
            elif row.revoked_at is not None:
                reason = "revoked"
            elif row.expires_at is not None and row.expires_at <= now:
                reason = "expired"
            elif owner is None or not owner.active:
                reason = "inactive"
            if reason:
                session.add(audit_row("api_key.authenticate", outcome=Outcome.FAILURE, meta=meta,
                                      actor=row.user_id, actor_type=ActorType.API_KEY, api_key_id=row.id,
                                      resource=f"api_key:{row.id}", detail={"reason": reason}, at=now))
            else:
                row.last_used_at = now
        if reason:
            messages = {"invalid": "The API key is invalid.", "revoked": "The API key has been revoked.",
                        "expired": "The API key has expired.", "inactive": "The API key's owner is deactivated."}
            raise Unauthenticated(messages[reason], {"reason": reason})
        ttl = self.settings.api_key_token_ttl
        if row.expires_at is not None:
            ttl = max(1, min(ttl, int((row.expires_at - now).total_seconds())))
        issued = self.codec.issue(subject=owner.id, role=owner.role, username=owner.username, api_key_id=row.id,
                                  scopes=list(row.scopes), ttl=ttl, version=owner.token_version)
        cache_until = min(time.time() + self.settings.api_key_cache_seconds, float(issued.claims["exp"]))
        if row.expires_at is not None:
            cache_until = min(cache_until, row.expires_at.timestamp())
        return ApiKeyGrant(access_token=issued.token, api_key_id=row.id, user_id=owner.id, cache_until=cache_until)

    # -- audit log -------------------------------------------------------------

    def record_audit(self, event: AuditEvent) -> None:
        """Store an event another service (or the gateway) sent."""
        at = self.now()
        if event.at is not None:
            try:
                at = datetime.fromtimestamp(float(event.at), timezone.utc)
            except (OverflowError, OSError, ValueError):
                pass
        row = audit_row(event.action, outcome=event.outcome, actor=event.actor, actor_type=event.actor_type,
                        api_key_id=event.api_key_id, resource=event.resource,
                        meta=RequestMeta(event.ip, event.user_agent, event.request_id),
                        detail=event.detail, at=at)
        if event.id:  # the sender's id: a redelivery of the same event is ignored
            row.id = event.id
        if not audit_store.insert_once(self.sf, row):
            log.info("duplicate audit event ignored", extra={"fields": {"event_id": row.id}})

    def purge_audit(self, retention_days: int | None = None) -> int:
        """Delete audit rows older than the retention limit (0: keep everything)."""
        if retention_days is None:
            retention_days = self.settings.audit_retention_days
        if retention_days <= 0:
            return 0
        deleted = audit_store.purge_before(self.sf, self.now() - timedelta(days=retention_days))
        if deleted:
            log.info("audit rows past retention deleted", extra={"fields": {"deleted": deleted,
                                                                              "retention_days": retention_days}})
        return deleted

    def audit_log(self, audit_filter: AuditFilter, page: PageArgs) -> Page[AuditEntryOut]:
        query = select(AuditRow)
        if audit_filter.actor:
            query = query.where(AuditRow.actor == audit_filter.actor)
        if audit_filter.action:
            query = query.where(AuditRow.action == audit_filter.action)
        if audit_filter.since:
            query = query.where(AuditRow.at >= _as_utc(audit_filter.since))
        if audit_filter.until:
            query = query.where(AuditRow.at <= _as_utc(audit_filter.until))
        if page.after:
            at_text, row_id = decode_cursor(page.after, 2)
            try:
                at = _as_utc(datetime.fromisoformat(at_text))
            except ValueError:
                raise BadUserInput.for_fields({"after": "is not a valid cursor"}) from None
            query = query.where(or_(AuditRow.at < at, and_(AuditRow.at == at, AuditRow.id < row_id)))
        query = query.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(page.first + 1)
        with self.sf() as session:
            rows = list(session.scalars(query))
        items, more = rows[:page.first], len(rows) > page.first
        cursor = encode_cursor(items[-1].at, items[-1].id) if items else None
        return Page[AuditEntryOut](items=[audit_out(r) for r in items], end_cursor=cursor, has_next_page=more)

    # -- start -----------------------------------------------------------------

    def republish_revocations(self) -> dict[str, int]:
        """Write the database's revocation state to Redis (which keeps nothing across restarts),
        then the epoch: all of it or none (MULTI/EXEC)."""
        now = self.now()
        self.unpublished = False  # cleared first: a revocation failing meanwhile sets it again
        window = timedelta(seconds=self.settings.access_token_ttl + 60)
        with self.sf() as session:
            versions = session.execute(select(User.id, User.token_version).where(User.token_version > 0)).all()
            ended = session.execute(select(Session.id, Session.revoked_at).where(
                Session.revoked_at.is_not(None), Session.revoked_at > now - window)).all()
            keys = session.execute(select(ApiKey.id, ApiKey.expires_at).where(
                ApiKey.revoked_at.is_not(None), or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now))).all()
        pipe = self.redis.pipeline(transaction=True)
        for user_id, version in versions:
            self._set_max(keys=[user_version_key(self.prefix, user_id)], args=[version], client=pipe)
        for session_id, revoked_at in ended:
            ttl = max(1, int((revoked_at + window - now).total_seconds()))
            pipe.set(session_revoked_key(self.prefix, session_id), "1", ex=ttl)
        for key_id, expires_at in keys:
            ttl = None if expires_at is None else max(1, int((expires_at - now).total_seconds()) + 60)
            pipe.set(api_key_revoked_key(self.prefix, key_id), "1", ex=ttl)
        pipe.set(revocation_epoch_key(self.prefix), self._redis_run_id())
        try:
            pipe.execute()
        except Exception:
            self.unpublished = True
            raise
        counts = {"userVersions": len(versions), "sessions": len(ended), "apiKeys": len(keys)}
        log.info("revocations republished", extra={"fields": counts})
        return counts

    def _redis_run_id(self) -> str:
        """Changes whenever the Redis server restarts, whatever data it reloads."""
        return str(self.redis.info("server").get("run_id", ""))

    def ensure_published(self) -> bool:
        """Republishes when the epoch is missing or from an earlier Redis run, or when a
        revocation could not be written; once, however many callers ask at the same moment.
        True when it republished."""
        with self._republish_lock:
            epoch = self.redis.get(revocation_epoch_key(self.prefix))
            if not self.unpublished and epoch is not None and epoch.decode() == self._redis_run_id():
                return False
            self.republish_revocations()
            return True
