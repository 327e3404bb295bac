"""Accounts a use case reads several times, held for the session's life.

The session's identity map is weak: an account read by the duty check is dropped as soon as nothing refers
to it, and the form check, the handler context and the applicant record each read it again (two statements
each, the row and its roles). Holding it makes the later reads identity-map hits. The hold ends with the
session (every request and job gets a new one); commits still expire it, so nothing stale is read.
"""

from __future__ import annotations

from engine.models import User, db


def user(user_id: int) -> User | None:
    """The account `user_id`, read at most once per session unless expired."""
    found = db.session.get(User, user_id)
    if found is not None:
        hold(found)
    return found


def hold(account: User) -> None:
    """Hold an account the caller has just read, so later reads of it are identity-map hits."""
    db.session.info.setdefault("held_users", {})[account.id] = account
