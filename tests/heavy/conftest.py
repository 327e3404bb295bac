"""Heavy tests (real processes, minutes): collected everywhere, run only when tests/heavy is named on the command line."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the heavy tests in a plain `pytest` run; `make test-heavy` (pytest tests/heavy) runs them."""
    if any("heavy" in str(arg) for arg in config.invocation_params.args):
        return
    skip = pytest.mark.skip(reason="heavy: run with `make test-heavy` (pytest tests/heavy)")
    for item in items:
        if "tests/heavy/" in str(item.fspath):
            item.add_marker(skip)
