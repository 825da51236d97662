"""Device sign-in for the HTTP door, against the same Mosquitto password file the broker uses.

One credential per gate, provisioned once (`maskwatch device add`), serves both MQTT and HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path


def verify_mosquitto_password(passwd_file: Path, username: str, password: str) -> bool:
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
