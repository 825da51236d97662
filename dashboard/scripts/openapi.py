"""Write the admin API's OpenAPI document, the source of the console's generated types.

The document comes from the application itself (`create_app`), built over a throwaway SQLite database
and a gate commander that sends nothing, so it needs no running service and no configuration:

    .venv/bin/python dashboard/scripts/openapi.py dashboard/openapi.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere: the repository's packages come first
    sys.path.insert(0, str(ROOT))

from maskwatch.database.engine import migrate  # noqa: E402
from services.api.app import create_app  # noqa: E402
from services.api.commander import RecordingGateCommander  # noqa: E402
from services.api.config import ApiSettings  # noqa: E402


def openapi_document() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/openapi.db"
        migrate(url)
        app = create_app(
            ApiSettings(),
            secret_key=SecretStr("only-for-the-openapi-document"),
            database_url=url,
            commander=RecordingGateCommander(),
        )
        return app.openapi()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="where to write the document (JSON)")
    args = parser.parse_args()
    text = json.dumps(openapi_document(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
