"""A Pi installs only the device dependencies (docs/devices.md): the command line must still start and
run the agents there, without the server's libraries."""

from __future__ import annotations

import subprocess
import sys

SERVER_ONLY = ("redis", "sqlalchemy", "fastapi", "onnxruntime", "psycopg", "alembic", "rq", "argon2", "cv2")

SCRIPT = f"""
import sys
for name in {SERVER_ONLY!r}:
    sys.modules[name] = None  # importing it fails, as on a Pi
from typer.testing import CliRunner
from stack.cli import app
for command in ("agent", "camera-agent"):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, (command, result.output)
print("ok")
"""


def test_the_agents_start_without_the_server_libraries():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
