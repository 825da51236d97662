"""The server's account on the embedded broker, when the settings name none.

The embedded broker lets no one in without an account (maskwatch/embedded_broker_access.py),
the services included. Rather than ask a newcomer for a broker password before `maskwatch up`,
the server's password is derived from the installation's secret key (stack/secret_key.py: made on
the first run, kept 0600): every process of the installation (`maskwatch up`'s children, a
separate `maskwatch api`) arrives at the same password without another file to keep, and
nobody who cannot read the key can compute it. Devices never use it: each has its own account
(`maskwatch device add`).
"""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr

from maskwatch.broker_acl import SERVER_USER

PURPOSE = b"maskwatch embedded broker: the server's account"
"""Keeps this password unrelated to anything else the key signs."""


def embedded_server_account(secret_key: SecretStr) -> tuple[str, SecretStr]:
    """(username, password) of the server on the embedded broker, for this installation's key."""
    digest = hmac.new(secret_key.get_secret_value().encode(), PURPOSE, hashlib.sha256).hexdigest()
    return SERVER_USER, SecretStr(digest)
