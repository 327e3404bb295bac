"""Accounts: password hashing (argon2), login, API tokens and creating users."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from engine.models import Agency, Role, User, db
from engine.models.people import ROLE_NAMES
from engine.services import audit, people, security_log
from engine.services.errors import Invalid, NotFound
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


def _tokens() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings()["SECRET_KEY"], salt="sertel-api-token")


def authenticate(username: str, password: str, source: str = "") -> User | None:
    """Return the active user whose password matches, else None; logs the attempt.

    A login goes to the audit log; a failed attempt is anonymous (anyone can send one, for any name), so
    it goes to the rate-limited security log with the client address `source`.
    """
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    hasher, dummy = _hasher()
    try:
        ok = hasher.verify(user.password_hash if user else dummy, password) and user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if ok:
        audit.append("system", "login", username[:80], {})
    else:
        security_log.record("login_failed", source, {"username": username[:80], "known_user": user is not None})
    db.session.commit()
    return user if ok else None


def user_by_username(username: str) -> User:
    """The active user with this username, or NotFound."""
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        raise NotFound(f"Pengguna '{username}' tidak ditemukan.")
    return user


def issue_token(user: User) -> str:
    """A signed bearer token for the JSON API."""
    return _tokens().dumps({"uid": user.id})


def user_from_token(token: str) -> User | None:
    """The active user a bearer token belongs to, if it is valid and not expired."""
    try:
        data = _tokens().loads(token, max_age=int(settings()["API_TOKEN_TTL"]))
    except (BadSignature, SignatureExpired):
        return None
    user = db.session.get(User, int(data.get("uid", 0)))
    return user if user and user.active else None


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
