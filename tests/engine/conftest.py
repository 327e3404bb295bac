"""Fixtures of the engine tests: the module-global registry restored after each test that touches it."""

from __future__ import annotations

from typing import Iterator

import pytest

from engine import registry


@pytest.fixture
def clean_registry() -> Iterator[None]:
    """Snapshot the registered operators and forms, and put them back after the test."""
    registry.discover("handlers")
    operators, forms = dict(registry._operators), dict(registry._forms)
    yield
    registry._operators.clear()
    registry._operators.update(operators)
    registry._forms.clear()
    registry._forms.update(forms)
