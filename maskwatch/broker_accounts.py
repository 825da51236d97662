"""Broker accounts in Mosquitto's password file: hash, write, verify, rotate, remove.

One credential per gate, provisioned once (`maskwatch device add`), serves both
MQTT (Mosquitto reads this file) and the HTTP check door (which verifies
against it). The username of a gate is its gate id, which the generated ACL
(`maskwatch.broker_acl`) uses to confine it to its own topics. Passwords are
stored as Mosquitto 2's PBKDF2-SHA512 hashes (`$7$`), never in clear.

The file is replaced atomically (a reader sees the old file or the new one) and
keeps the owner, group and mode it had: an admin running `maskwatch device add`
as root must not leave a file that Mosquitto, running as its own user, can no
longer read at its next reload. A new file gets `FileOwnership`'s mode, owner
and group (settings: `MASKWATCH_PROVISIONING__PASSWD_FILE_*`).
"""

from __future__ import annotations

import base64
import grp
import hashlib
import hmac
import os
import pwd
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

PBKDF2_ITERATIONS = 101  # what mosquitto_passwd writes for `$7$`
SALT_BYTES = 12


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


@dataclass(frozen=True)
class FileOwnership:
    """Who owns a password file the first time it is written (an existing one keeps its own)."""

    mode: int = 0o640
    """Owner read-write, group read: the broker reads it through its group, nobody else can."""
    owner: str | None = None
    """A user name; None: whoever writes it."""
    group: str | None = None
    """A group name, e.g. `mosquitto`; None: the writer's group."""

    def ids(self) -> tuple[int, int]:
        uid = pwd.getpwnam(self.owner).pw_uid if self.owner else os.geteuid()
        gid = grp.getgrnam(self.group).gr_gid if self.group else os.getegid()
        return uid, gid


def new_password() -> str:
    return secrets.token_urlsafe(24)


def write_password(
    passwd_file: Path, username: str, password: str, ownership: FileOwnership | None = None
) -> None:
    """Add or replace `username` in a Mosquitto password file, atomically."""
    if ":" in username:
        raise ValueError("a broker username cannot contain ':'")
    kept = [line for line in _lines(passwd_file) if line.split(":", 1)[0] != username]
    kept.append(f"{username}:{mosquitto_hash(password)}")
    _replace(passwd_file, kept, ownership or FileOwnership())


def rotate_password(passwd_file: Path, username: str, ownership: FileOwnership | None = None) -> str:
    """A new password for an existing account; the old one stops working at the broker's next reload."""
    if not has_account(passwd_file, username):
        raise KeyError(f"no broker account {username!r} in {passwd_file}")
    password = new_password()
    write_password(passwd_file, username, password, ownership)
    return password


def remove_account(passwd_file: Path, username: str, ownership: FileOwnership | None = None) -> bool:
    """Delete `username`; True when it was there."""
    lines = _lines(passwd_file)
    kept = [line for line in lines if line.split(":", 1)[0] != username]
    if len(kept) == len(lines):
        return False
    _replace(passwd_file, kept, ownership or FileOwnership())
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


def _replace(passwd_file: Path, lines: list[str], ownership: FileOwnership) -> None:
    """Write beside the file, give the copy the file's owner, group and mode (or `ownership`'s for a new
    file) before anyone can read it, then rename it over the file."""
    passwd_file.parent.mkdir(parents=True, exist_ok=True)
    if passwd_file.exists():
        current = passwd_file.stat()
        mode, uid, gid = stat.S_IMODE(current.st_mode), current.st_uid, current.st_gid
    else:
        mode = ownership.mode
        uid, gid = ownership.ids()
    handle = tempfile.NamedTemporaryFile("w", dir=passwd_file.parent, delete=False)  # noqa: SIM115
    temporary = Path(handle.name)
    try:
        with handle:
            os.fchmod(handle.fileno(), 0o600)  # nobody else reads it while it is being written
            handle.write("\n".join(lines) + "\n" if lines else "")
            handle.flush()
            os.fsync(handle.fileno())
        if (uid, gid) != (os.geteuid(), os.getegid()):
            os.chown(temporary, uid, gid)  # PermissionError unless root: then say so, keep the old file
        temporary.chmod(mode)
        temporary.replace(passwd_file)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
