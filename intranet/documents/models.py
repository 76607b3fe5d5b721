"""The network's library: folders (network-wide or a group's), documents in them, and every
version of each document.

A folder and a document each carry an audience (the one sharing model); a new document or
sub-folder starts with its folder's. What a person sees is decided down the tree: a folder is
visible when its own audience admits the person *and* its parent folder is visible, a document
when its audience admits them and its folder is visible (``services.visible_folder_ids``, one
recursive query). So nobody learns the name, size or count of what sits in a folder hidden from
them.

A document's file lives in its versions: ``current_number`` names the version downloaded by
default; « Nouvelle version » adds one, « Restaurer » makes an older one current again (the
history is never rewritten). ``size`` and ``kind`` copy the current version's, for sorting lists.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intranet.core.audiences import Shared
from intranet.core.models import User
from intranet.core.timeutil import UTCDateTime, utcnow
from intranet.extensions import db

MAX_NAME = 200
MAX_NOTE = 20_000
MAX_TAGS = 500
TRASH_DAYS = 30
MAX_DEPTH = 8  # folders inside folders: deep enough for a library, bounded for the recursive query


class Folder(Shared, db.Model):
    __tablename__ = "documents_folders"
    __table_args__ = (sa.Index("ix_documents_folders_parent_group", "parent_id", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(MAX_NAME))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # CASCADE: a folder's sub-folders go with it (its documents, RESTRICT, must have been moved or purged first).
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents_folders.id", ondelete="CASCADE"))
    # A group's folder (its « Documents » tab), or None for the network library.
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("groups_groups.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Folder | None] = relationship(remote_side=[id], lazy="select")
    author: Mapped[User | None] = relationship(lazy="select")


class Document(Shared, db.Model):
    __tablename__ = "documents_documents"
    __table_args__ = (sa.Index("ix_documents_documents_folder_created", "folder_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    folder_id: Mapped[int] = mapped_column(sa.ForeignKey("documents_folders.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(sa.String(MAX_NAME))
    note: Mapped[str] = mapped_column(sa.Text, default="")  # markdown, rendered by core.markup
    tags: Mapped[str] = mapped_column(sa.String(MAX_TAGS), default="")  # « tarifs, brochure »: comma-separated
    valid_until: Mapped[date | None] = mapped_column(sa.Date)  # « à jour jusqu'au … »
    current_number: Mapped[int] = mapped_column(default=1)
    size: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # the current version's
    kind: Mapped[str] = mapped_column(sa.String(10), default="")  # the current version's extension
    download_count: Mapped[int] = mapped_column(default=0)
    view_count: Mapped[int] = mapped_column(default=0)
    # « Lu et approuvé » asked by the uploader: each reader confirms (DocumentRead.confirmed_at).
    needs_confirmation: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # When the owner was told that « à jour jusqu'au » comes in 14 days (once per date).
    expiry_reminded_for: Mapped[date | None] = mapped_column(sa.Date)
    # The current version's words, read by the worker (documents.text) for the search to index.
    text: Mapped[str] = mapped_column(sa.Text, default="")
    # The current version's thumbnail (an image, or a PDF's first page), made by the worker too.
    thumb_key: Mapped[str | None] = mapped_column(sa.String(200))
    # An office file's current version as a PDF (LibreOffice in the worker), for the page's preview.
    preview_key: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # In the trash since then (seen only in « Corbeille » by its owner and animateurs); the worker
    # removes it and its files TRASH_DAYS later.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    folder: Mapped[Folder] = relationship(lazy="select")
    author: Mapped[User | None] = relationship(lazy="select")

    @property
    def tag_list(self) -> list[str]:
        return [t for t in (part.strip() for part in self.tags.split(",")) if t]

    @property
    def is_expired(self) -> bool:
        from intranet.core.timeutil import PARIS

        return self.valid_until is not None and self.valid_until < utcnow().astimezone(PARIS).date()


class Version(db.Model):
    __tablename__ = "documents_versions"
    __table_args__ = (sa.UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("documents_documents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    key: Mapped[str] = mapped_column(sa.String(200))  # core storage key
    original_name: Mapped[str] = mapped_column(sa.String(MAX_NAME))
    content_type: Mapped[str] = mapped_column(sa.String(150))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    note: Mapped[str] = mapped_column(sa.String(500), default="")  # « ce qui change »
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship(lazy="select")


class DocumentRead(db.Model):
    """Who opened a document (page or download), when, and their « lu et approuvé »."""

    __tablename__ = "documents_reads"

    document_id: Mapped[int] = mapped_column(sa.ForeignKey("documents_documents.id", ondelete="CASCADE"),
                                             primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_users.id", ondelete="CASCADE"), primary_key=True,
                                         index=True)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opens: Mapped[int] = mapped_column(default=1)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class FolderFollow(db.Model):
    """« Suivre ce dossier »: every new document in it is told to the person."""

    __tablename__ = "documents_folder_follows"

    folder_id: Mapped[int] = mapped_column(sa.ForeignKey("documents_folders.id", ondelete="CASCADE"),
                                           primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_users.id", ondelete="CASCADE"), primary_key=True,
                                         index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
