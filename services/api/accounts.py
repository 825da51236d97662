"""Reading and writing user accounts, shared by the users routes, sign-in and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from maskwatch.database.schema import sites, user_sites, users
from services.api.security import Role, hash_password


@dataclass
class Account:
    user_id: int
    email: str
    role: Role
    all_sites: bool
    disabled: bool
    created_at: datetime
    sites: list[str]
    password_hash: str | None


def normalize_email(email: str) -> str:
    return email.strip().lower()


def load_account(
    conn: sa.Connection, *, user_id: int | None = None, email: str | None = None
) -> Account | None:
    query = sa.select(users)
    if user_id is not None:
        query = query.where(users.c.user_id == user_id)
    if email is not None:
        query = query.where(users.c.email == normalize_email(email))
    row = conn.execute(query).one_or_none()
    if row is None:
        return None
    site_ids = conn.execute(
        sa.select(user_sites.c.site_id)
        .where(user_sites.c.user_id == row.user_id)
        .order_by(user_sites.c.site_id)
    ).scalars()
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return Account(
        user_id=row.user_id,
        email=row.email,
        role=Role(row.role),
        all_sites=bool(row.all_sites),
        disabled=bool(row.disabled),
        created_at=created,
        sites=list(site_ids),
        password_hash=row.password_hash,
    )


def unknown_sites(conn: sa.Connection, site_ids: list[str]) -> list[str]:
    known = set(conn.execute(sa.select(sites.c.site_id).where(sites.c.site_id.in_(site_ids))).scalars())
    return [s for s in site_ids if s not in known]


def create_account(
    conn: sa.Connection, email: str, password: str | None, role: Role, *, all_sites: bool, site_ids: list[str]
) -> int:
    """Insert a user and their site scope; the caller commits. Raises ValueError on a taken email."""
    if load_account(conn, email=email) is not None:
        raise ValueError(f"a user with email {normalize_email(email)} exists")
    user_id = conn.execute(
        sa.insert(users)
        .values(
            email=normalize_email(email),
            password_hash=hash_password(password) if password else None,
            role=role.value,
            all_sites=all_sites,
            disabled=False,
            created_at=datetime.now(UTC),
        )
        .returning(users.c.user_id)
    ).scalar_one()
    set_sites(conn, int(user_id), site_ids)
    return int(user_id)


def set_sites(conn: sa.Connection, user_id: int, site_ids: list[str]) -> None:
    conn.execute(sa.delete(user_sites).where(user_sites.c.user_id == user_id))
    if site_ids:
        conn.execute(
            sa.insert(user_sites), [{"user_id": user_id, "site_id": s} for s in sorted(set(site_ids))]
        )
