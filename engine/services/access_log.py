"""The log of looks at personal data: an auditor's case views, document downloads, searches and exports.

They are events of the `access` stream of the audit log (chained and anchored like every other stream),
appended in the request that shows the data.
"""

from __future__ import annotations

from typing import Any

from engine.models import User, db
from engine.services import audit

ACCESS_STREAM = "access"
# Roles whose looks at personal data are logged: they read every case without being part of it.
WATCHED_ROLES = ("Auditor",)


def log_access(actor: str, kind: str, payload: dict[str, Any]) -> None:
    """Record a look at personal data (committed by the caller)."""
    audit.append(ACCESS_STREAM, kind, actor, payload)


def log_view(user: User, kind: str, payload: dict[str, Any]) -> None:
    """Record and commit a view by an auditor of a case or a document; nothing for other roles."""
    if any(user.has_role(role) for role in WATCHED_ROLES):
        log_access(user.username, kind, payload)
        db.session.commit()
