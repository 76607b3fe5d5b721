"""Core tables: people, organizations, territories, grants, settings, audit, tokens, throttling."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intranet.core.timeutil import UTCDateTime, utcnow
from intranet.extensions import db

ORG_KINDS = ("agence", "office", "partenaire")


class Territory(db.Model):
    __tablename__ = "core_territories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    code: Mapped[str] = mapped_column(sa.String(50), unique=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_territories.id", ondelete="SET NULL"),
                                                  index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Territory | None] = relationship(remote_side=[id], lazy="joined")

    def __str__(self) -> str:
        return self.name


class Organization(db.Model):
    __tablename__ = "core_organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default="office")
    logo: Mapped[str | None] = mapped_column(sa.String(100))
    address: Mapped[str] = mapped_column(sa.Text, default="")
    website: Mapped[str] = mapped_column(sa.String(300), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    territory_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("core_territories.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    territory: Mapped[Territory | None] = relationship(lazy="joined")

    def __str__(self) -> str:
        return self.name


class User(UserMixin, db.Model):
    __tablename__ = "core_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(20), default="membre", index=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("core_organizations.id", ondelete="RESTRICT"), index=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(300))
    is_active_account: Mapped[bool] = mapped_column("is_active", sa.Boolean, default=True)
    # Bumped by logout, password change and deactivation: every session carrying an older
    # value is refused on its next request (see load_user in intranet.app.init_login).
    session_version: Mapped[int] = mapped_column(default=1)
    job_title: Mapped[str] = mapped_column(sa.String(200), default="")
    phone: Mapped[str] = mapped_column(sa.String(50), default="")
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    photo: Mapped[str | None] = mapped_column(sa.String(100))
    locale: Mapped[str] = mapped_column(sa.String(5), default="fr")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The start of the previous visit: "new since your last visit" compares with it.
    previous_visit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.is_active_account

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def organization_name(self) -> str:  # as the feed's plain rows of authors (feed.services.Person)
        return self.organization.name

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_animateur(self) -> bool:
        return self.role in ("admin", "animateur")

    def __str__(self) -> str:
        return self.name


class RolePermission(db.Model):
    """A permission key granted to a role. Rows, not columns: plugins add keys freely."""

    __tablename__ = "core_role_permissions"

    role: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    permission: Mapped[str] = mapped_column(sa.String(100), primary_key=True)


class KnownPermission(db.Model):
    """Keys whose default grants were already written, so an admin's revocation sticks."""

    __tablename__ = "core_known_permissions"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)


class Setting(db.Model):
    __tablename__ = "core_settings"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[dict | list | str | int | bool | None] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AuditEntry(db.Model):
    __tablename__ = "core_audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_users.id", ondelete="SET NULL"),
                                                 index=True)
    action: Mapped[str] = mapped_column(sa.String(100), index=True)
    target_type: Mapped[str] = mapped_column(sa.String(50), default="")
    target_id: Mapped[int | None] = mapped_column()
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    actor: Mapped[User | None] = relationship(lazy="joined")


class AccountToken(db.Model):
    """Single-use links: invitations (7 days) and password resets (1 hour).

    Only the SHA-256 of the token is stored, so a database leak gives no usable link.
    """

    __tablename__ = "core_account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # "invitation" | "reset"
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class LoginFailure(db.Model):
    """Failed logins, kept in the database so throttling holds across worker processes."""

    __tablename__ = "core_login_failures"
    __table_args__ = (
        sa.Index("ix_core_login_failures_email_created", "email", "created_at"),
        sa.Index("ix_core_login_failures_ip_created", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    ip: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Job(db.Model):
    """Queued background work, run by ``flask worker``."""

    __tablename__ = "core_jobs"
    __table_args__ = (sa.Index("ix_core_jobs_status_run_at", "status", "run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(100))
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")  # pending running done failed
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    progress: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    locked_by: Mapped[str | None] = mapped_column(sa.String(100))
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("core_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PeriodicRun(db.Model):
    """When each periodic job is next due; claimed by an atomic UPDATE so two workers never both run it."""

    __tablename__ = "core_periodic_runs"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")


class MailMessage(db.Model):
    """The e-mail outbox: written in the same transaction as the change, delivered by the worker."""

    __tablename__ = "core_mail_outbox"
    __table_args__ = (sa.Index("ix_core_mail_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    to_addr: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    text: Mapped[str] = mapped_column(sa.Text)
    html: Mapped[str] = mapped_column(sa.Text, default="")
    headers: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # A notification e-mail is rendered by the worker at send time, after checking access again.
    # No foreign key (a per-row check in the bulk insert of notify()): a notification that is gone
    # simply cancels its mail at send time.
    notification_id: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")  # pending sent failed cancelled
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The sharing model's and the notification bus's tables live in their own modules:
# import them so the ORM and Alembic see them.
from intranet.core import audiences as _audiences  # noqa: E402,F401
from intranet.core import notifications as _notifications  # noqa: E402,F401
