"""Broker accounts in Mosquitto's password file: hash, write, verify, rotate, remove.

One credential per gate, provisioned once (`maskwatch device add`), serves both
MQTT (Mosquitto reads this file) and the HTTP check door (which verifies
against it). The username of a gate is its gate id, which the generated ACL
(`maskwatch.broker_acl`) uses to confine it to its own topics. Passwords are
stored as Mosquitto 2's PBKDF2-SHA512 hashes (`$7$`), never in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

PBKDF2_ITERATIONS = 101  # what mosquitto_passwd writes for `$7$`
SALT_BYTES = 12


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def new_password() -> str:
    return secrets.token_urlsafe(24)


def write_password(passwd_file: Path, username: str, password: str) -> None:
    """Add or replace `username` in a Mosquitto password file, atomically."""
    if ":" in username:
        raise ValueError("a broker username cannot contain ':'")
    kept = [line for line in _lines(passwd_file) if line.split(":", 1)[0] != username]
    kept.append(f"{username}:{mosquitto_hash(password)}")
    _replace(passwd_file, kept)


def rotate_password(passwd_file: Path, username: str) -> str:
    """A new password for an existing account; the old one stops working at the broker's next reload."""
    if not has_account(passwd_file, username):
        raise KeyError(f"no broker account {username!r} in {passwd_file}")
    password = new_password()
    write_password(passwd_file, username, password)
    return password


def remove_account(passwd_file: Path, username: str) -> bool:
    """Delete `username`; True when it was there."""
    lines = _lines(passwd_file)
    kept = [line for line in lines if line.split(":", 1)[0] != username]
    if len(kept) == len(lines):
        return False
    _replace(passwd_file, kept)
    return True


def has_account(passwd_file: Path, username: str) -> bool:
    return any(line.split(":", 1)[0] == username for line in _lines(passwd_file))


def verify_password(passwd_file: Path, username: str, password: str) -> bool:
    """True when `password` matches `username`'s `$7$` (PBKDF2-SHA512) or `$6$` (SHA-512) entry."""
    try:
        lines = passwd_file.read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        name, _, hashed = line.partition(":")
        if name == username:
            return _matches(hashed.strip(), password)
    return False


def _matches(hashed: str, password: str) -> bool:
    parts = hashed.split("$")
    try:
        if len(parts) == 5 and parts[1] == "7":
            iterations, salt, expected = int(parts[2]), base64.b64decode(parts[3]), base64.b64decode(parts[4])
            actual = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
            return hmac.compare_digest(actual, expected)
        if len(parts) == 4 and parts[1] == "6":
            salt, expected = base64.b64decode(parts[2]), base64.b64decode(parts[3])
            return hmac.compare_digest(hashlib.sha512(password.encode() + salt).digest(), expected)
    except ValueError:
        return False
    return False


def _lines(passwd_file: Path) -> list[str]:
    return passwd_file.read_text().splitlines() if passwd_file.exists() else []


def _replace(passwd_file: Path, lines: list[str]) -> None:
    passwd_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=passwd_file.parent, delete=False) as handle:
        handle.write("\n".join(lines) + "\n" if lines else "")
        temporary = Path(handle.name)
    temporary.chmod(0o600)
    temporary.replace(passwd_file)
