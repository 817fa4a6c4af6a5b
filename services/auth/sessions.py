"""Sessions: login, refresh-token rotation, logout, and the owner's list and revocation of them.

A session is a chain of single-use refresh tokens (stored as SHA-256 digests);
presenting a used one again ends the whole session (a stolen or replayed
token). Access tokens carry the session id, so ending a session revokes them
(published after the commit, ``revocations.py``).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from core.tokens import TokenCodec
from schema.auth import LoginInput, SessionOut, TokenPair
from schema.errors import BadUserInput, Forbidden, NotFound, Unauthenticated
from schema.models import Identity, Outcome
from services.auth.audit import AuditLog, audit_row
from services.auth.common import RequestMeta, clip, digest, identifier, utcnow
from services.auth.models import RefreshToken, Session, User
from services.auth.passwords import Passwords
from services.auth.revocations import Revocations
from services.auth.throttle import LoginThrottle
from services.common.settings import ServiceSettings


class Sessions:
    def __init__(
        self,
        session_factory: sessionmaker,
        settings: ServiceSettings,
        codec: TokenCodec,
        passwords: Passwords,
        throttle: LoginThrottle,
        audit: AuditLog,
        revocations: Revocations,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sf = session_factory
        self.settings = settings
        self.codec = codec
        self.passwords = passwords
        self.throttle = throttle
        self.audit = audit
        self.revocations = revocations
        self.now = clock

    def _token_pair(self, user: User, session_id: str, refresh_token: str) -> TokenPair:
        access_token = self.codec.issue(
            subject=user.id, role=user.role, username=user.username, session_id=session_id, version=user.token_version
        ).token
        return TokenPair(
            access_token=access_token, refresh_token=refresh_token, expires_in=self.settings.access_token_ttl
        )

    def login(self, data: LoginInput, meta: RequestMeta = RequestMeta()) -> TokenPair:
        key = data.username.lower()
        # The attempt is reserved before the password is checked (services/auth/throttle.py); over a
        # limit the answer is RATE_LIMITED, right password or wrong.
        reservation = self.throttle.reserve(key, meta.ip)
        if not reservation.allowed:
            raise self.audit.rate_limited(
                "login", [(reservation.scope, reservation)], meta, {"username": data.username}
            )

        with self.sf() as session:
            user = session.scalar(select(User).where(User.username_key == key))
        valid = self.passwords.verify(user.password_hash if user else None, data.password)
        if not valid:
            self.audit.write(
                audit_row(
                    "login",
                    outcome=Outcome.FAILURE,
                    meta=meta,
                    resource=f"user:{user.id}" if user else None,
                    detail={"username": data.username, "reason": "bad credentials"},
                    at=self.now(),
                )
            )
            raise Unauthenticated("Wrong username or password.", {"reason": "credentials"})
        if not user.active:
            self.audit.write(
                audit_row(
                    "login",
                    outcome=Outcome.FAILURE,
                    meta=meta,
                    actor=user.id,
                    resource=f"user:{user.id}",
                    detail={"reason": "deactivated"},
                    at=self.now(),
                )
            )
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
            session.add(
                Session(
                    id=session_id,
                    user_id=user.id,
                    created_at=now,
                    last_used_at=now,
                    expires_at=now + timedelta(seconds=self.settings.refresh_token_ttl),
                    ip=clip(meta.ip, 64),
                    user_agent=clip(meta.user_agent, 512),
                )
            )
            session.flush()
            session.add(RefreshToken(token_hash=digest(refresh_token), session_id=session_id, created_at=now))
            session.add(
                audit_row(
                    "login",
                    meta=meta,
                    actor=user.id,
                    resource=f"session:{session_id}",
                    detail={"rehashed": "true"} if new_hash else {},
                    at=now,
                )
            )
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
            claimed = (
                stored.used_at is None
                and session.execute(
                    update(RefreshToken)
                    .where(RefreshToken.token_hash == stored.token_hash, RefreshToken.used_at.is_(None))
                    .values(used_at=now)
                ).rowcount
                == 1
            )
            if not claimed:
                # a rotated token presented again: stolen or replayed, end the whole session
                if current.revoked_at is None:
                    current.revoked_at = now
                reused_session = current.id
                session.add(
                    audit_row(
                        "refresh.reuse",
                        outcome=Outcome.DENIED,
                        meta=meta,
                        actor=user.id,
                        resource=f"session:{current.id}",
                        at=now,
                    )
                )
                failure = Unauthenticated(
                    "The refresh token was already used; the session has been ended.", {"reason": "reuse"}
                )
            elif current.revoked_at is not None or current.expires_at <= now or not user.active:
                reason = "inactive" if not user.active else "revoked" if current.revoked_at is not None else "expired"
                session.add(
                    audit_row(
                        "refresh",
                        outcome=Outcome.FAILURE,
                        meta=meta,
                        actor=user.id,
                        resource=f"session:{current.id}",
                        detail={"reason": reason},
                        at=now,
                    )
                )
                failure = Unauthenticated("The session has ended.", {"reason": reason})
            else:
                session.add(RefreshToken(token_hash=digest(new_token), session_id=current.id, created_at=now))
                current.last_used_at = now
                current.expires_at = now + timedelta(seconds=self.settings.refresh_token_ttl)
                if meta.ip:
                    current.ip = clip(meta.ip, 64)
                if meta.user_agent:
                    current.user_agent = clip(meta.user_agent, 512)
                session.add(audit_row("refresh", meta=meta, actor=user.id, resource=f"session:{current.id}", at=now))
        if reused_session:
            self.revocations.sessions_ended([reused_session])
        if failure is not None:
            raise failure
        return self._token_pair(user, current.id, new_token)

    def logout(self, identity: Identity, meta: RequestMeta = RequestMeta()) -> bool:
        if not identity.session_id:
            raise Forbidden("An API key has no session to end; revoke the key instead.")
        return self._end_session(identity, identity.session_id, "logout", meta)

    def revoke_session(self, identity: Identity, session_id: Any, meta: RequestMeta = RequestMeta()) -> bool:
        return self._end_session(identity, identifier(session_id, "sessionId"), "session.revoke", meta)

    def _end_session(self, identity: Identity, session_id: str, action: str, meta: RequestMeta) -> bool:
        now = self.now()
        with self.sf.begin() as session:
            target = session.get(Session, session_id)
            if target is None or target.user_id != identity.user_id:
                raise NotFound("No such session.", {"resource": "session"})
            if target.revoked_at is None:
                target.revoked_at = now
            session.add(audit_row(action, meta=meta, identity=identity, resource=f"session:{session_id}", at=now))
        self.revocations.sessions_ended([session_id])
        return True

    def sessions(self, identity: Identity) -> list[SessionOut]:
        now = self.now()
        with self.sf() as session:
            rows = session.scalars(
                select(Session)
                .where(
                    Session.user_id == identity.user_id,
                    Session.revoked_at.is_(None),
                    Session.expires_at > now,
                )
                .order_by(Session.last_used_at.desc())
            )
            return [
                SessionOut(
                    id=s.id,
                    created_at=s.created_at,
                    last_used_at=s.last_used_at,
                    expires_at=s.expires_at,
                    ip=s.ip,
                    user_agent=s.user_agent,
                    current=s.id == identity.session_id,
                )
                for s in rows
            ]
