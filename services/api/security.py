"""Passwords, session and API tokens, and who the caller is.

Passwords are hashed with argon2id. A session cookie and an API token are both
random secrets; the database keeps only their HMAC under the server's secret
key, so a leaked table cannot be replayed and changing the key signs everyone
out. Sessions expire; API tokens last until revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from maskwatch.database.schema import api_tokens, user_sites, users

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password anyone has")
TOKEN_PREFIX = "mw_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists, so timing does not reveal emails."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def token_digest(secret_key: bytes, token: str) -> str:
    return hmac.new(secret_key, token.encode(), hashlib.sha256).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Caller:
    """The signed-in user, with the sites they may see; `token_id` is the session or API token used."""

    user_id: int
    email: str
    role: Role
    all_sites: bool
    site_ids: frozenset[str]
    token_id: int
    via: str

    def can_read(self, site_id: str) -> bool:
        return self.all_sites or site_id in self.site_ids

    def can_operate(self, site_id: str) -> bool:
        """Open gates and acknowledge alerts: operators and admins of the site."""
        return self.role in (Role.OPERATOR, Role.ADMIN) and self.can_read(site_id)

    def can_administer(self, site_id: str) -> bool:
        """Register and rename the site's gates."""
        return self.role == Role.ADMIN and self.can_read(site_id)

    @property
    def is_global_admin(self) -> bool:
        """Manage users and sites and read the audit log: these span every site."""
        return self.role == Role.ADMIN and self.all_sites

    def visible_sites(self) -> frozenset[str] | None:
        """None means every site."""
        return None if self.all_sites else self.site_ids


def issue_token(
    conn: sa.Connection, secret_key: bytes, user_id: int, *, kind: str, name: str, ttl: timedelta | None
) -> tuple[int, str]:
    """Store a new session or API token; the secret itself is returned once and never stored."""
    token = new_token()
    now = datetime.now(UTC)
    token_id = conn.execute(
        sa.insert(api_tokens)
        .values(
            token_hash=token_digest(secret_key, token),
            user_id=user_id,
            kind=kind,
            name=name,
            created_at=now,
            expires_at=now + ttl if ttl else None,
        )
        .returning(api_tokens.c.token_id)
    ).scalar_one()
    return int(token_id), token


def caller_for_token(conn: sa.Connection, secret_key: bytes, token: str) -> Caller | None:
    """The user behind a live, unexpired token of an enabled account, or None."""
    t, u = api_tokens.c, users.c
    row = conn.execute(
        sa.select(t.token_id, t.kind, t.expires_at, t.last_used_at, u.user_id, u.email, u.role, u.all_sites)
        .join_from(api_tokens, users, u.user_id == t.user_id)
        .where(t.token_hash == token_digest(secret_key, token), t.revoked_at.is_(None), u.disabled.is_(False))
    ).one_or_none()
    if row is None:
        return None
    now = datetime.now(UTC)
    if row.expires_at is not None and _aware(row.expires_at) <= now:
        return None
    if row.last_used_at is None or now - _aware(row.last_used_at) > LAST_USED_RESOLUTION:
        conn.execute(sa.update(api_tokens).where(t.token_id == row.token_id).values(last_used_at=now))
        conn.commit()
    site_ids = frozenset(
        conn.execute(sa.select(user_sites.c.site_id).where(user_sites.c.user_id == row.user_id)).scalars()
    )
    return Caller(
        user_id=row.user_id,
        email=row.email,
        role=Role(row.role),
        all_sites=bool(row.all_sites),
        site_ids=site_ids,
        token_id=row.token_id,
        via=row.kind,
    )


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
