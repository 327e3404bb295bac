"""Access to the app-wide settings and PSrE adapter from inside a use case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app


def settings() -> dict[str, Any]:
    """The loaded Sertel settings."""
    loaded: dict[str, Any] = current_app.config["SERTEL"]
    return loaded


def psre() -> Any:
    """The PSrE adapter chosen by the settings."""
    return current_app.extensions["sertel.psre"]


def instance_dir() -> Path:
    """The directory holding the database, documents and the embedded PSrE."""
    return Path(settings()["INSTANCE_DIR"])
