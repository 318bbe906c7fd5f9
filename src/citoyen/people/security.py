"""Secrets: Argon2 password hashes, password strength, hashed random tokens, credential stamps."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, func

from citoyen.i18n import N_

_hasher = PasswordHasher()  # stateless: the parameters are constants
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str, email: str = "") -> list[str]:
    """Why a password is not acceptable (empty when it is): length, then guessability (zxcvbn)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [N_("The password must have at least 10 characters.")]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [N_("The password must have at most 200 characters.")]
    local_part = email.split("@")[0].lower()
    if len(local_part) >= 4 and local_part in password.lower():
        return [N_("The password must not contain your e-mail address.")]
    # zxcvbn knows common and breached passwords, keyboard patterns, repeats, dates and l33t. Imported here: its
    # word lists are about 10 MB resident, which a served process needs only once someone sets a password.
    from zxcvbn import zxcvbn

    if zxcvbn(password[:100], user_inputs=[email, local_part])["score"] < 3:
        return [N_("This password is too easy to guess (a common word, pattern or known breached password).")]
    return []


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are random and long, so one SHA-256 is enough (no need for a slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


def credential_stamp(password_hash: str | None) -> str:
    """Changes whenever the password does (each hash has its own salt): a signed session keeps the stamp
    of the password it was opened with, and stops working everywhere once the password is reset."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def credential_stamp_in_postgresql(password_hash: ColumnElement[str | None]) -> ColumnElement[str]:
    """`credential_stamp`, computed by PostgreSQL (the same sixteen hex digits)."""
    digest = func.sha256(func.convert_to(func.coalesce(password_hash, ""), "UTF8"))
    return func.left(func.encode(digest, "hex"), 16)
