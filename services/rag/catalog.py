"""The catalog: collections, members and documents, in SQL (SQLite by default).

It is the source of truth for access and for which version of a document is
current. Chunks in the document store carry ``meta.version``; a chunk whose
version is not the catalog's current one is invisible, which is what makes a
replacement atomic on every store (see ``Catalog.activate``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    create_engine,
    event,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from schema.rag import AccessRole, DocumentStatus, MemberRole, Visibility

DEFAULT_COLLECTION = "default"


def _now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    pass


class CollectionRow(Base):
    __tablename__ = "rag_collections"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[str] = mapped_column(String(200), index=True)
    visibility: Mapped[str] = mapped_column(String(10), default=Visibility.PRIVATE.value, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class MemberRow(Base):
    __tablename__ = "rag_members"

    collection_id: Mapped[str] = mapped_column(ForeignKey("rag_collections.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(10))


class InvitationRow(Base):
    """A membership offered by a collection's owner, not yet accepted by the invited user."""

    __tablename__ = "rag_invitations"

    collection_id: Mapped[str] = mapped_column(ForeignKey("rag_collections.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(10))


class SubscriptionRow(Base):
    """A user's choice to search another user's PUBLIC collection by default."""

    __tablename__ = "rag_subscriptions"

    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    collection_id: Mapped[str] = mapped_column(
        ForeignKey("rag_collections.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class DocumentRow(Base):
    __tablename__ = "rag_documents"
    __table_args__ = (
        UniqueConstraint("owner_id", "collection_id", "source"),
        Index("ix_rag_documents_collection_created", "collection_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(String(200), index=True)
    collection_id: Mapped[str] = mapped_column(ForeignKey("rag_collections.id"))
    source: Mapped[str] = mapped_column(String(300))  # what "the same document" means: its name
    title: Mapped[str] = mapped_column(String(300))
    mime_type: Mapped[str] = mapped_column(String(120), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64), default="", index=True)
    version: Mapped[str | None] = mapped_column(String(64), nullable=True)  # current chunks' version
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default=DocumentStatus.PROCESSING.value)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    original: Mapped[str | None] = mapped_column(String(300), nullable=True)  # file name under originals/
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


@dataclass(frozen=True)
class CollectionView:
    id: str
    name: str
    owner_id: str
    visibility: Visibility
    created_at: datetime
    role: AccessRole  # the caller's
    members: tuple[tuple[str, MemberRole], ...] = ()

    @property
    def writable(self) -> bool:
        return self.role in (AccessRole.OWNER, AccessRole.EDITOR, AccessRole.ADMIN)

    @property
    def manageable(self) -> bool:
        return self.role in (AccessRole.OWNER, AccessRole.ADMIN)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    Base.metadata.create_all(engine)
    return engine


def _role(row: CollectionRow, user_id: str, admin: bool, member_role: str | None) -> AccessRole | None:
    if row.owner_id == user_id:
        return AccessRole.OWNER
    if member_role:
        return AccessRole(member_role)
    if admin:
        return AccessRole.ADMIN
    if row.visibility == Visibility.PUBLIC.value:
        return AccessRole.READER
    return None


# The two queries every search makes (before and after retrieving), as fixed SQL: building them with
# the ORM and Core each time cost more CPU than the SQL itself (SQLAlchemy's statement cache keys), and
# no ORM session is needed to read a few columns.
_SEARCHED = text(
    "SELECT c.id FROM rag_collections AS c WHERE c.owner_id = :user_id"
    " OR c.id IN (SELECT m.collection_id FROM rag_members AS m WHERE m.user_id = :user_id)"
    " OR (c.visibility = :public"
    " AND c.id IN (SELECT s.collection_id FROM rag_subscriptions AS s WHERE s.user_id = :user_id))"
)
_CURRENT_VERSIONS = text(
    "SELECT d.id, d.version, d.owner_id, d.collection_id, d.title FROM rag_documents AS d"
    " WHERE d.version IS NOT NULL AND d.id IN :ids"
).bindparams(bindparam("ids", expanding=True))


class Catalog:
    """Every query here takes the caller (user id, admin) and answers only with what they may see."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------ collections

    def _view(
        self, session: Session, row: CollectionRow, user_id: str, admin: bool, member_role: str | None
    ) -> CollectionView | None:
        role = _role(row, user_id, admin, member_role)
        if role is None:
            return None
        members: tuple[tuple[str, MemberRole], ...] = ()
        if role in (AccessRole.OWNER, AccessRole.ADMIN):
            members = tuple(
                (m.user_id, MemberRole(m.role))
                for m in session.scalars(
                    select(MemberRow).where(MemberRow.collection_id == row.id).order_by(MemberRow.user_id)
                )
            )
        return CollectionView(row.id, row.name, row.owner_id, Visibility(row.visibility), row.created_at, role, members)

    def readable_collections(self, user_id: str, admin: bool) -> list[CollectionView]:
        with self.sessions() as session:
            membership = (
                select(MemberRow.role)
                .where(MemberRow.collection_id == CollectionRow.id, MemberRow.user_id == user_id)
                .scalar_subquery()
            )
            query = select(CollectionRow, membership)
            if not admin:
                query = query.where(
                    or_(
                        CollectionRow.owner_id == user_id,
                        CollectionRow.visibility == Visibility.PUBLIC.value,
                        membership.is_not(None),
                    )
                )
            rows = session.execute(query.order_by(CollectionRow.created_at, CollectionRow.id)).all()
            views = [self._view(session, row, user_id, admin, role) for row, role in rows]
            return [view for view in views if view is not None]

    def readable_collection_ids(self, user_id: str) -> list[str]:
        """The ids a non-admin may read: the access filter's input."""
        with self.sessions() as session:
            member_of = select(MemberRow.collection_id).where(MemberRow.user_id == user_id)
            return list(
                session.scalars(
                    select(CollectionRow.id).where(
                        or_(
                            CollectionRow.owner_id == user_id,
                            CollectionRow.visibility == Visibility.PUBLIC.value,
                            CollectionRow.id.in_(member_of),
                        )
                    )
                )
            )

    def searched_collection_ids(self, user_id: str) -> list[str]:
        """What a non-admin's search, ask and agent runs read unless they name collections: their own,
        those they are a member of, and the PUBLIC ones they subscribed to. Public collections of others
        are readable, not searched: their text enters my answers only by my choice."""
        with self.engine.connect() as connection:
            return list(
                connection.execute(_SEARCHED, {"user_id": user_id, "public": Visibility.PUBLIC.value}).scalars()
            )

    def subscribed_ids(self, user_id: str) -> set[str]:
        with self.sessions() as session:
            return set(session.scalars(select(SubscriptionRow.collection_id).where(SubscriptionRow.user_id == user_id)))

    def subscribe(self, user_id: str, collection_id: str) -> None:
        with self.sessions.begin() as session:
            if session.get(SubscriptionRow, (user_id, collection_id)) is None:
                session.add(SubscriptionRow(user_id=user_id, collection_id=collection_id))

    def unsubscribe(self, user_id: str, collection_id: str) -> bool:
        with self.sessions.begin() as session:
            row = session.get(SubscriptionRow, (user_id, collection_id))
            if row is None:
                return False
            session.delete(row)
            return True

    def owned_count(self, owner_id: str) -> int:
        with self.sessions() as session:
            return (
                session.scalar(
                    select(func.count()).select_from(CollectionRow).where(CollectionRow.owner_id == owner_id)
                )
                or 0
            )

    def collection(self, ref: str, user_id: str, admin: bool) -> CollectionView | None:
        """A collection by id or name, as the caller sees it; None when not readable.

        A name means the caller's own collection of that name first, then a
        readable one of someone else's if exactly one matches.
        """
        with self.sessions() as session:
            row = session.get(CollectionRow, ref)
            if row is not None:
                view = self._view(session, row, user_id, admin, self._member_role(session, row.id, user_id))
                if view is not None:
                    return view
            own = session.scalar(
                select(CollectionRow).where(CollectionRow.owner_id == user_id, CollectionRow.name == ref)
            )
            if own is not None:
                return self._view(session, own, user_id, admin, None)
            views = [
                self._view(session, r, user_id, admin, self._member_role(session, r.id, user_id))
                for r in session.scalars(select(CollectionRow).where(CollectionRow.name == ref))
            ]
            views = [v for v in views if v is not None]
            if len(views) > 1:
                raise AmbiguousCollection(ref)
            return views[0] if views else None

    @staticmethod
    def _member_role(session: Session, collection_id: str, user_id: str) -> str | None:
        return session.scalar(
            select(MemberRow.role).where(MemberRow.collection_id == collection_id, MemberRow.user_id == user_id)
        )

    def create_collection(self, owner_id: str, name: str, visibility: Visibility) -> CollectionView:
        with self.sessions.begin() as session:
            row = CollectionRow(
                id=new_id(), name=name, owner_id=owner_id, visibility=visibility.value, created_at=_now()
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError:
                raise DuplicateCollection(name) from None
            return CollectionView(row.id, row.name, owner_id, visibility, row.created_at, AccessRole.OWNER)

    def default_collection(self, user_id: str) -> CollectionView:
        """The caller's private ``default`` collection, created on first use."""
        with self.sessions() as session:
            row = session.scalar(
                select(CollectionRow).where(CollectionRow.owner_id == user_id, CollectionRow.name == DEFAULT_COLLECTION)
            )
            if row is not None:
                return CollectionView(
                    row.id, row.name, user_id, Visibility(row.visibility), row.created_at, AccessRole.OWNER
                )
        try:
            return self.create_collection(user_id, DEFAULT_COLLECTION, Visibility.PRIVATE)
        except DuplicateCollection:  # created concurrently
            return self.default_collection(user_id)

    def set_member(self, collection_id: str, user_id: str, role: MemberRole) -> None:
        with self.sessions.begin() as session:
            member = session.get(MemberRow, (collection_id, user_id))
            if member is None:
                session.add(MemberRow(collection_id=collection_id, user_id=user_id, role=role.value))
            else:
                member.role = role.value

    def invite(self, collection_id: str, user_id: str, role: MemberRole) -> None:
        with self.sessions.begin() as session:
            invitation = session.get(InvitationRow, (collection_id, user_id))
            if invitation is None:
                session.add(InvitationRow(collection_id=collection_id, user_id=user_id, role=role.value))
            else:
                invitation.role = role.value

    def invitations(self, user_id: str) -> list[CollectionView]:
        """The collections ``user_id`` is invited to, each with the role offered."""
        with self.sessions() as session:
            rows = session.execute(
                select(CollectionRow, InvitationRow.role)
                .join(InvitationRow, InvitationRow.collection_id == CollectionRow.id)
                .where(InvitationRow.user_id == user_id)
                .order_by(CollectionRow.created_at, CollectionRow.id)
            ).all()
            return [
                CollectionView(
                    row.id, row.name, row.owner_id, Visibility(row.visibility), row.created_at, AccessRole(role)
                )
                for row, role in rows
            ]

    def accept(self, collection_id: str, user_id: str) -> bool:
        """The invitation becomes a membership; False when there was none."""
        with self.sessions.begin() as session:
            invitation = session.get(InvitationRow, (collection_id, user_id))
            if invitation is None:
                return False
            role = invitation.role
            session.delete(invitation)
            member = session.get(MemberRow, (collection_id, user_id))
            if member is None:
                session.add(MemberRow(collection_id=collection_id, user_id=user_id, role=role))
            else:
                member.role = role
            return True

    # ------------------------------------------------------------ documents

    def find_by_content(self, owner_id: str, collection_id: str, content_hash: str) -> DocumentRow | None:
        with self.sessions() as session:
            return session.scalar(
                select(DocumentRow).where(
                    DocumentRow.owner_id == owner_id,
                    DocumentRow.collection_id == collection_id,
                    DocumentRow.content_hash == content_hash,
                    DocumentRow.status == DocumentStatus.READY.value,
                )
            )

    def prepare(
        self,
        *,
        owner_id: str,
        collection_id: str,
        source: str,
        title: str,
        mime_type: str,
        size_bytes: int,
        metadata: dict[str, Any],
    ) -> str:
        """The id of the document this source becomes: the existing one (to be replaced) or a new row."""
        with self.sessions.begin() as session:
            existing = session.scalar(
                select(DocumentRow).where(
                    DocumentRow.owner_id == owner_id,
                    DocumentRow.collection_id == collection_id,
                    DocumentRow.source == source,
                )
            )
            if existing is not None:
                return existing.id
            row = DocumentRow(
                id=new_id(),
                owner_id=owner_id,
                collection_id=collection_id,
                source=source,
                title=title,
                mime_type=mime_type,
                size_bytes=size_bytes,
                meta=metadata,
                status=DocumentStatus.PROCESSING.value,
                created_at=_now(),
                updated_at=_now(),
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # the same source prepared concurrently
                session.rollback()
                return self.prepare(
                    owner_id=owner_id,
                    collection_id=collection_id,
                    source=source,
                    title=title,
                    mime_type=mime_type,
                    size_bytes=size_bytes,
                    metadata=metadata,
                )
            return row.id

    def activate(
        self,
        document_id: str,
        *,
        version: str,
        content_hash: str,
        chunk_count: int,
        title: str,
        mime_type: str,
        size_bytes: int,
        metadata: dict[str, Any],
        original: str,
    ) -> str | None:
        """Make ``version`` the current one in one statement; returns the previous original's
        file name, or raises ``DocumentGone`` when the document was deleted meanwhile."""
        with self.sessions.begin() as session:
            row = session.get(DocumentRow, document_id, with_for_update=True)
            if row is None:
                raise DocumentGone(document_id)
            previous = row.original
            row.version, row.content_hash, row.chunk_count = version, content_hash, chunk_count
            row.title, row.mime_type, row.size_bytes, row.meta = title, mime_type, size_bytes, metadata
            row.status, row.error, row.original, row.updated_at = DocumentStatus.READY.value, None, original, _now()
            return previous if previous != original else None

    def mark_failed(self, document_id: str, error: str) -> None:
        """A failed first version marks the document FAILED; a failed replacement leaves the old one READY."""
        with self.sessions.begin() as session:
            session.execute(
                update(DocumentRow)
                .where(DocumentRow.id == document_id, DocumentRow.version.is_(None))
                .values(status=DocumentStatus.FAILED.value, error=error[:500], updated_at=_now())
            )

    def get(self, document_id: str) -> DocumentRow | None:
        with self.sessions() as session:
            return session.get(DocumentRow, document_id)

    def delete(self, document_id: str) -> DocumentRow | None:
        with self.sessions.begin() as session:
            row = session.get(DocumentRow, document_id)
            if row is not None:
                session.delete(row)
            return row

    def current_versions(self, document_ids: list[str]) -> dict[str, Any]:
        """READY documents among ``document_ids`` (``id``, ``version``, ``owner_id``, ``collection_id``,
        ``title``): what decides which chunks are live."""
        ids = sorted({i for i in document_ids if isinstance(i, str)})
        if not ids:
            return {}
        with self.engine.connect() as connection:
            return {row.id: row for row in connection.execute(_CURRENT_VERSIONS, {"ids": ids})}

    def list_documents(
        self, collection_ids: list[str] | None, owner_id: str | None, first: int, after: tuple[datetime, str] | None
    ) -> tuple[list[DocumentRow], int]:
        """A page of documents in ``collection_ids`` (None: every collection, for admins) or owned by
        ``owner_id``, newest first; and how many match in all."""
        with self.sessions() as session:
            condition: ColumnElement[bool] | None = None
            if collection_ids is not None:
                condition = DocumentRow.collection_id.in_(collection_ids)
                if owner_id is not None:
                    condition = or_(condition, DocumentRow.owner_id == owner_id)
            query = select(DocumentRow)
            count = select(func.count()).select_from(DocumentRow)
            if condition is not None:
                query, count = query.where(condition), count.where(condition)
            if after is not None:
                created, last_id = after
                query = query.where(
                    or_(
                        DocumentRow.created_at < created,
                        (DocumentRow.created_at == created) & (DocumentRow.id < last_id),
                    )
                )
            rows = list(
                session.scalars(query.order_by(DocumentRow.created_at.desc(), DocumentRow.id.desc()).limit(first + 1))
            )
            return rows, int(session.scalar(count) or 0)

    def collection_names(self, collection_ids: set[str]) -> dict[str, str]:
        with self.sessions() as session:
            return dict(
                session.execute(
                    select(CollectionRow.id, CollectionRow.name).where(CollectionRow.id.in_(collection_ids))
                ).all()
            )

    def check(self) -> str:
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return self.engine.url.get_backend_name()


class DuplicateCollection(Exception):
    pass


class AmbiguousCollection(Exception):
    pass


class DocumentGone(Exception):
    pass
