"""People: accounts, roles, departments, consent, the access log, API tokens, mail outbox.

Personal data of the platform lives here (e-mail, display name, password hash, consent, the access
log about a person, outgoing mail). Other domains keep only a person's id and register an
export/erase provider with the personal-data registry.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from citoyen.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    CITIZEN = "citizen"
    MODERATOR = "moderator"
    STAFF = "staff"
    # Publishes datasets in the open-data catalogue.
    PUBLISHER = "publisher"
    ADMIN = "admin"


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="", server_default="")  # empty: the name
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # The name shown publicly; a pseudonym by default.
    display_name: Mapped[str] = mapped_column(String(80))
    # None: the account cannot log in with a password (e.g. generated demo residents).
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=Role.CITIZEN,
    )
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), default=None, index=True
    )
    locale: Mapped[str] = mapped_column(String(5), default="fr")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN)

    @property
    def can_publish(self) -> bool:
        """Whether the person may create and change open-data datasets."""
        return self.role in (Role.PUBLISHER, Role.ADMIN)


class ConsentRecord(Base):
    """One decision of a person about one purpose; the latest per purpose is in force (history kept)."""

    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_person_purpose", "person_id", "purpose", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(40))
    granted: Mapped[bool] = mapped_column(Boolean)
    text_version: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccessLogEntry(Base):
    """A staff member looked at or changed a person's personal data; the person can read these."""

    __tablename__ = "personal_data_access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), default=None)
    # Kept so the entry stays meaningful if the staff account is later erased ("admin", "staff").
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A machine credential with scopes; only a SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(String(300))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so admins can tell tokens apart without the secret.
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class PasswordResetToken(Base):
    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class LoginFailure(Base):
    """Failed logins, keyed by a hash of the account e-mail or of the client address, for throttling."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """Mail waiting to leave. Written in the transaction of what it tells about, so a rolled-back change sends
    nothing; sent after commit by the mail sender (`people.tasks`), which deletes it once the SMTP server took
    it. With no SMTP server configured (demo, development) it stays, for the administrators' outbox page."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), default=None)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the sender may try (again): a failed attempt puts it off, longer each time.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(String(300), default="")


class LoginSession(Base):
    """A signed-in browser. The cookie carries a random id; only its SHA-256 is kept, as the key, so the
    table alone opens no session. Ended at logout, "log out everywhere", a role change, a suspension or a
    password reset; the person sees their live ones on the account page."""

    __tablename__ = "login_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written at most every `session_touch_minutes`, so that pages do not write on every request.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "Firefox on Linux": a summary, not the whole User-Agent header.
    user_agent: Mapped[str] = mapped_column(String(80), default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class EmailLink(Base):
    """A one-time link mailed to an address: to confirm a sign-up (the account is created only when it is
    followed, with the name and password hash kept here until then) or to log in without the password
    while an account's password logins are suspended. Only a SHA-256 of the secret is kept."""

    __tablename__ = "email_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(10))  # "signup" or "login"
    email: Mapped[str] = mapped_column(String(320), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), default=None)
    display_name: Mapped[str | None] = mapped_column(String(80), default=None)
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    locale: Mapped[str] = mapped_column(String(5), default="fr")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
