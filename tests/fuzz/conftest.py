"""Fuzz tests (schemathesis, minutes): collected only when tests/fuzz is named (`make test-fuzz`)."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave tests/fuzz out of a plain `pytest` run (schemathesis is installed by `make test-fuzz` only)."""
    if any("fuzz" in str(arg) for arg in config.invocation_params.args):
        return None
    return "tests/fuzz" in str(collection_path) or None
