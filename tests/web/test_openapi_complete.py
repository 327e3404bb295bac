"""Every /api/v1 endpoint is described in openapi.json, so the schemathesis run (make test-fuzz) reaches it."""

from __future__ import annotations

import re
from typing import Any


def test_every_api_route_is_in_the_openapi_document(app: Any, client: Any) -> None:
    # Compared by shape: a parameter may be named differently in the document ({version} for <number>).
    paths = {
        re.sub(r"\{[^}]+\}", "{}", p): ops for p, ops in client.get("/api/v1/openapi.json").get_json()["paths"].items()
    }
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>(]+)(?:\([^)]*\))?>", "{}", rule.rule.removeprefix("/api/v1"))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method.lower() not in paths.get(path, {}):
                missing.append(f"{method} {path}")
    assert not missing, f"not in openapi.json: {missing}"
