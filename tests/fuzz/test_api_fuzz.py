"""Schemathesis over /api/v1/openapi.json: no input to any documented endpoint gives a server error (5xx).

Every operation is called with generated (valid and invalid) data, once anonymously for the token login
and otherwise with an Admin's, a Verifikator's or a Pemohon's bearer token. FUZZ_EXAMPLES bounds the
examples per operation (default 30: a couple of minutes on two cores).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings

from engine.services.setup import DEMO_PASSWORD
from tests.conftest import build_app

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, psre_template: Path) -> Flask:
    return build_app(tmp_path_factory.mktemp("fuzz"), psre_template)


@pytest.fixture(scope="module")
def tokens(fuzz_app: Flask) -> Callable[[str], str]:
    """A fresh bearer token of a demo account for every example: the token endpoints revoke tokens (the
    presented one at logout, any id as Admin, all of a user's by revoke-access), so none may be shared."""
    client = fuzz_app.test_client()

    def token(username: str) -> str:
        answer = client.post(
            "/api/v1/auth/token",
            json={"username": username, "password": DEMO_PASSWORD},
            environ_base={"REMOTE_ADDR": "10.9.9.9"},
        )
        assert answer.status_code == 200, answer.get_json()
        return str(answer.get_json()["token"])

    return token


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")


def not_a_server_error(response: Any, case: Any) -> None:
    """The one property checked: whatever the input, the API answers it without a 5xx."""
    status = response.status_code
    assert status < 500, f"{case.method} {case.formatted_path} -> {status}: {response.text[:500]}"


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_gives_a_server_error(case: Any, tokens: Callable[[str], str]) -> None:
    role = "verifikator" if case.path.startswith(("/sign", "/tasks")) else "admin"
    if case.path.startswith("/cases") and case.method == "POST":
        role = "pemohon"
    headers = {} if case.path == "/auth/token" else {"Authorization": f"Bearer {tokens(role)}"}
    response = case.call(headers=headers)
    not_a_server_error(response, case)
