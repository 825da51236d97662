"""The OpenAPI spec against the live app on a real PostgreSQL database, by property-based testing.

Schemathesis generates requests for every operation from the spec and checks
that the app never fails with a 5xx, and that each status, content type,
header and body it answers is one the spec declares. Examples are bounded so
the run stays short enough for every CI build.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.api.security import issue_token
from tests.api.conftest import SECRET

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


MAX_EXAMPLES = 10


@pytest.mark.timeout(300)
def test_the_app_honours_its_openapi_spec(shared_world):
    schema = schemathesis.openapi.from_asgi("/openapi.json", shared_world.app)
    schema.config.generation.update(max_examples=MAX_EXAMPLES, database="none")
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/events":
            continue  # the live stream never ends by itself; tests/api/test_events.py covers it
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def run(case):
            # A fresh token of the admin of every site for each request: a generated request may
            # change that admin's password, which signs them out everywhere.
            with shared_world.engine.begin() as conn:
                user_id = shared_world.user_ids["root"]
                _, token = issue_token(conn, SECRET.encode(), user_id, kind="api", name="c", ttl=None)
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        try:
            run()
        except Exception as exc:
            failures[operation.label] = str(exc)[:2000]
    assert operations > 25
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def test_the_spec_is_served_with_interactive_docs(shared_world):
    client = shared_world.client()
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/sites/{site_id}/stats/today" in spec["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in docs.text
    redoc = client.get("/redoc")
    assert redoc.status_code == 200
    assert "/docs/assets/redoc.standalone.js" in redoc.text
