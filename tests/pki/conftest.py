"""Fixtures for the pki tests: a fresh key-encryption key, clock and EmbeddedPSrE per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pki_builders import FakeClock, new_psre

from pki.embedded import EmbeddedPSrE


@pytest.fixture
def kek() -> str:
    """A fresh key-encryption key."""
    return Fernet.generate_key().decode()


@pytest.fixture
def clock() -> FakeClock:
    """A controllable clock shared with the PSrE."""
    return FakeClock()


@pytest.fixture
def psre(tmp_path: Path, kek: str, clock: FakeClock) -> EmbeddedPSrE:
    """An initialised EmbeddedPSrE with its own state directory."""
    instance = new_psre(tmp_path / "psre", [kek], clock)
    instance.initialise()
    return instance
