"""The key that signs API sessions and tokens when the settings name none: made once, kept private.

A key everybody knows (a default in the code) lets anyone mint a session for
any installation left on it. So outside production, where the settings may
leave it unset, the first run makes a random key and keeps it in a file only
its owner can read; later runs, and every service process, read the same file.
Production must name its own key (`MASKWATCH_SECRET_KEY`), and refuses to start
without one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr

KEY_BYTES = 48


def local_secret_key(path: Path) -> SecretStr:
    """The key in `path`, made there (mode 0600, created atomically) when it does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(KEY_BYTES)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it a moment ago: use theirs
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(key + "\n")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise PermissionError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    value = path.read_text().strip()
    if len(value) < 32:
        raise ValueError(f"{path} holds no usable key; delete it to have a new one made")
    return SecretStr(value)
