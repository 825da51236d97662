"""What the routes share for the life of the app: database, settings, gate commander, limiter."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from pydantic import SecretStr

from services.api.commander import GateCommander
from services.api.config import ApiSettings
from services.api.ratelimit import SlidingWindow


@dataclass
class AppState:
    api: ApiSettings
    secret: SecretStr
    engine: sa.Engine
    commander: GateCommander
    login_limiter: SlidingWindow

    @property
    def secret_key(self) -> bytes:
        return self.secret.get_secret_value().encode()
