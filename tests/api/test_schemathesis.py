"""Property-based API testing from the app's own OpenAPI schema (schemathesis, in-process ASGI).

Every documented operation gets generated valid and invalid requests over the real index: no 5xx,
and every response (status, content type, headers, body) must conform to the schema.

Not checked: "schema-valid request accepted" (positive_data_acceptance). Some rules on the question
cannot be written in the schema (not only whitespace, no control characters, at most
ASKOLEUS_MAX_QUESTION_CHARS, which is set at run time). Those requests get the documented 422.

(schemathesis 4.32's lazy `from_fixture` loader breaks on pytest 9, which dropped `Node._nodeid`, so
the operations are listed here and driven with hypothesis directly; a test keeps the list complete.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from askoleus.api.app import create_app
from askoleus.config import Settings
from conftest import ADMIN_KEY, STAFF_KEY

NEGATIVE = GenerationMode.NEGATIVE
POSITIVE = GenerationMode.POSITIVE
# (method, path, whether the operation takes input that can be made invalid)
OPERATIONS = [
    ("POST", "/v1/ask", True),
    ("POST", "/v1/ask/stream", True),
    ("GET", "/v1/search", True),
    ("POST", "/v1/feedback", True),
    ("GET", "/healthz", False),
    ("GET", "/readyz", False),
    ("GET", "/metrics", False),
    ("GET", "/v1/console/check", False),
    ("GET", "/v1/console/questions", True),
    ("GET", "/v1/console/gaps", True),
    ("GET", "/v1/console/thumbs-down", True),
    ("GET", "/v1/console/top", True),
    ("GET", "/v1/console/export.csv", False),
    ("GET", "/v1/console/overview", True),
    ("GET", "/v1/console/overview/gaps.csv", True),
    ("GET", "/v1/console/generated", True),
    ("POST", "/v1/admin/reload", False),
]
CASES = [
    (m, p, mode) for m, p, has_input in OPERATIONS for mode in ((POSITIVE, NEGATIVE) if has_input else (POSITIVE,))
]


@pytest.fixture(scope="module")
def api_schema(built: Settings, embedder, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    app = create_app(
        Settings(
            index_dir=built.index_dir,
            db_path=tmp / "q.sqlite3",
            staff_key=STAFF_KEY,
            admin_key=ADMIN_KEY,
            rate_limit_per_minute=1_000_000,
            rate_limit_burst=1_000_000,
            reload_poll_seconds=0,
        ),
        embedder=embedder,
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_every_operation_is_exercised(api_schema) -> None:  # type: ignore[no-untyped-def]
    documented = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert documented == {(m, p) for m, p, _ in OPERATIONS}


@pytest.mark.parametrize(("method", "path", "mode"), CASES, ids=[f"{m} {p} {mode.value}" for m, p, mode in CASES])
def test_operation_conforms_to_its_schema(api_schema, method: str, path: str, mode: GenerationMode) -> None:  # type: ignore[no-untyped-def]
    operation = api_schema[path][method]
    key = ADMIN_KEY if path.startswith("/v1/admin/") else STAFF_KEY

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=25, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case) -> None:  # type: ignore[no-untyped-def]
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {key}"}, excluded_checks=[positive_data_acceptance]
        )
        assert response.status_code < 500

    check()
