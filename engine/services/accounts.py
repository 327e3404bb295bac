"""Accounts: password hashing (argon2), login, API tokens and creating users."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import joinedload

from engine.models import Agency, ApiToken, LoginAttempt, Person, Role, User, WebSession, db
from engine.models.base import utcnow
from engine.models.people import ROLE_NAMES
from engine.services import audit, people, security_log
from engine.services.errors import Forbidden, Invalid, NotFound, ServiceError
from engine.services.runtime_context import settings

_hashers: dict[tuple[int, int], tuple[PasswordHasher, str]] = {}


def _hasher() -> tuple[PasswordHasher, str]:
    """The password hasher for the configured cost, with a dummy hash of the same cost.

    Verifying the dummy hash when a username does not exist keeps timing from revealing usernames.
    """
    cost = (int(settings()["ARGON2_TIME_COST"]), int(settings()["ARGON2_MEMORY_KIB"]))
    if cost not in _hashers:
        hasher = PasswordHasher(time_cost=cost[0], memory_cost=cost[1])
        _hashers[cost] = (hasher, hasher.hash("sertel-dummy-password"))
    return _hashers[cost]


class Throttled(ServiceError):
    """Too many failed logins for an account or from an address: wait before trying again."""

    status = 429


def digest(secret: str) -> str:
    """The SHA-256 (hex) under which a session id or API token is stored; the secret itself never is."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_throttle(username: str, source: str) -> None:
    """Refuse a login attempt while the account or the address has too many recent failures."""
    window = utcnow() - timedelta(minutes=int(settings()["LOGIN_THROTTLE_MINUTES"]))
    per_account = int(settings()["LOGIN_MAX_FAILURES_ACCOUNT"])
    per_source = int(settings()["LOGIN_MAX_FAILURES_SOURCE"])
    recent = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at >= window)
    by_account = db.session.execute(recent.where(LoginAttempt.username == username[:80])).scalar_one()
    by_source = db.session.execute(recent.where(LoginAttempt.source == source[:64])).scalar_one() if source else 0
    if by_account >= per_account or by_source >= per_source:
        # Still a failed login to the security log (an attack goes on), but not a row for the throttle: the
        # wait is counted from the failures that caused it.
        security_log.record("login_failed", source, {"username": username[:80], "throttled": True})
        db.session.commit()
        minutes = int(settings()["LOGIN_THROTTLE_MINUTES"])
        raise Throttled(
            f"Terlalu banyak percobaan masuk yang gagal. Tunggu {minutes} menit lalu coba lagi, "
            "atau hubungi Admin bila Anda lupa kata sandi."
        )


def authenticate(username: str, password: str, source: str = "") -> User | None:
    """Return the active user whose password matches, else None; logs the attempt.

    A login goes to the audit log; a failed attempt is anonymous (anyone can send one, for any name), so
    it goes to the rate-limited security log with the client address `source`. While the account or the
    address has LOGIN_MAX_FAILURES_* failures within LOGIN_THROTTLE_MINUTES, every attempt (even with the
    right password) is refused with Throttled, so guessing cannot go on.
    """
    check_throttle(username, source)
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    hasher, dummy = _hasher()
    try:
        ok = hasher.verify(user.password_hash if user else dummy, password) and user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if ok:
        audit.append(audit.system_stream("login"), "login", username[:80], {})
    else:
        security_log.record("login_failed", source, {"username": username[:80], "known_user": user is not None})
        db.session.add(LoginAttempt(username=username[:80], source=source[:64]))
    db.session.commit()
    return user if ok else None


def user_by_username(username: str) -> User:
    """The active user with this username, or NotFound."""
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        raise NotFound(f"Pengguna '{username}' tidak ditemukan.")
    return user


def issue_token(user: User) -> str:
    """A random bearer token for the JSON API, stored only as its hash so it can be listed and revoked."""
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(seconds=int(settings()["API_TOKEN_TTL"]))
    db.session.add(ApiToken(token_hash=digest(token), user_id=user.id, expires_at=expires))
    db.session.commit()
    return token


def user_from_token(token: str) -> User | None:
    """The active user a bearer token belongs to, if it is known, not revoked and not expired."""
    if not token or len(token) > 200:
        return None
    row = db.session.execute(select(ApiToken).where(ApiToken.token_hash == digest(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return acting_user(row.user_id)


def acting_user(user_id: int) -> User | None:
    """The active account a request acts as, read once per request with what its checks and steps read of it:
    its roles, person record and agencies (a step then reads none of it again: transactions.begin_write)."""
    user = db.session.get(
        User, user_id, options=[joinedload(User.agency), joinedload(User.person).joinedload(Person.agency)]
    )
    return user if user and user.active else None


def revoke_presented_token(token: str) -> None:
    """Revoke the token a client presents (its own logout)."""
    row = db.session.execute(select(ApiToken).where(ApiToken.token_hash == digest(token))).scalar_one_or_none()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()


def list_tokens(user: User) -> list[ApiToken]:
    """The user's API tokens that still work, newest first."""
    query = select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow()
    )
    return list(db.session.execute(query.order_by(ApiToken.id.desc())).scalars())


def revoke_token(actor: User, token_id: int) -> None:
    """Revoke one API token: the owner's own, or anyone's by an Admin."""
    row = db.session.get(ApiToken, token_id)
    if row is None or (row.user_id != actor.id and not actor.has_role("Admin")):
        raise NotFound("Token tidak ditemukan.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.append("system", "api_token_revoked", actor.username, {"token_id": token_id, "user_id": row.user_id})
    db.session.commit()


def revoke_access(actor: User, username: str) -> dict[str, int]:
    """Admin: end every browser session and revoke every API token of a user; returns how many of each."""
    if not actor.has_role("Admin"):
        raise Forbidden("Hanya Admin yang dapat mencabut sesi pengguna lain.")
    target = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if target is None:
        raise NotFound(f"Pengguna '{username}' tidak ditemukan.")
    ended = db.session.execute(delete(WebSession).where(WebSession.user_id == target.id))
    sessions = int(getattr(ended, "rowcount", 0) or 0)
    tokens = 0
    for row in db.session.execute(
        select(ApiToken).where(ApiToken.user_id == target.id, ApiToken.revoked_at.is_(None))
    ).scalars():
        row.revoked_at = utcnow()
        tokens += 1
    audit.append(
        "system", "access_revoked", actor.username, {"username": username, "sessions": sessions, "tokens": tokens}
    )
    db.session.commit()
    return {"sessions": sessions, "tokens": tokens}


def active_session_count(user: User) -> int:
    """How many unexpired browser sessions a user has."""
    query = (
        select(func.count())
        .select_from(WebSession)
        .where(WebSession.user_id == user.id, WebSession.expires_at > utcnow())
    )
    return int(db.session.execute(query).scalar_one())


def prune_security_rows() -> None:
    """Drop expired sessions and tokens and login failures older than the throttle window (scheduler job)."""
    now = utcnow()
    window = now - timedelta(minutes=int(settings()["LOGIN_THROTTLE_MINUTES"]))
    db.session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    db.session.execute(delete(ApiToken).where(or_(ApiToken.expires_at <= now, ApiToken.revoked_at.is_not(None))))
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < window))
    db.session.commit()


def ensure_roles() -> dict[str, Role]:
    """Create the fixed roles if missing; return them by name."""
    roles = {r.name: r for r in db.session.execute(select(Role)).scalars()}
    for name in ROLE_NAMES:
        if name not in roles:
            roles[name] = Role(name=name)
            db.session.add(roles[name])
    db.session.flush()
    return roles


def create_user(
    username: str,
    password: str,
    full_name: str,
    email: str,
    roles: list[str],
    agency_code: str | None = None,
    nip: str | None = None,
    nik: str | None = None,
    actor: str = "sistem",
    category: str = "asn",
    position: str = "",
) -> User:
    """Create a user with roles, bound to the person record of `nik` when given; raise Invalid on bad input."""
    known = ensure_roles()
    unknown = [r for r in roles if r not in known]
    if unknown:
        raise Invalid(f"Peran tidak dikenal: {', '.join(unknown)}")
    if db.session.execute(select(User).where(User.username == username)).scalar_one_or_none():
        raise Invalid(f"Nama pengguna '{username}' sudah dipakai.")
    agency = None
    if agency_code:
        agency = db.session.execute(select(Agency).where(Agency.code == agency_code)).scalar_one_or_none()
        if agency is None:
            raise Invalid(f"Perangkat Daerah '{agency_code}' tidak dikenal.")
    if len(password) < 8:
        raise Invalid("Kata sandi minimal 8 karakter.")
    user = User(
        username=username,
        password_hash=_hasher()[0].hash(password),
        full_name=full_name,
        email=email,
        agency_id=agency.id if agency else None,
        roles=[known[r] for r in roles],
    )
    db.session.add(user)
    db.session.flush()
    audit.append("system", "user_created", actor, {"username": username, "roles": roles})
    if nik:
        people.bind_person(user, nik, full_name, nip, category, agency_code, position, actor)
    db.session.commit()
    return user
