"""Log in and out, server-side sessions, the current user, role checks, CSRF protection and token revocation."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete
from werkzeug.datastructures import CallbackDict
from werkzeug.wrappers import Response as BaseResponse

from engine.models import WebSession, db
from engine.models.base import utcnow
from engine.services import accounts

bp = Blueprint("auth", __name__)


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """Session data held in `web_sessions`; the cookie carries only the random id."""

    def __init__(self, initial: dict[str, Any] | None = None, sid: str | None = None) -> None:
        def on_update(_: Any) -> None:
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.sid = sid
        self.modified = False


class ServerSessionInterface(SessionInterface):
    """Keep sessions on the server so logout and an Admin can end them (a copied cookie then opens nothing)."""

    def open_session(self, app: Flask, request: Any) -> ServerSession:
        sid = request.cookies.get(self.get_cookie_name(app), "")
        if not sid or len(sid) > 100:
            return ServerSession()
        row = db.session.get(WebSession, accounts.digest(sid))
        if row is None or row.expires_at <= utcnow():
            return ServerSession()
        try:
            data = json.loads(row.data_json)
        except ValueError:
            data = {}
        return ServerSession(data if isinstance(data, dict) else {}, sid)

    def save_session(self, app: Flask, session: SessionMixin, response: BaseResponse) -> None:
        assert isinstance(session, ServerSession)
        name, domain, path = self.get_cookie_name(app), self.get_cookie_domain(app), self.get_cookie_path(app)
        if not session:
            if session.sid:
                db.session.execute(delete(WebSession).where(WebSession.id_hash == accounts.digest(session.sid)))
                db.session.commit()
                response.delete_cookie(name, domain=domain, path=path)
            return
        if not session.modified and session.sid:
            return
        if session.sid is None:
            session.sid = secrets.token_urlsafe(32)
        hours = int(app.config["SERTEL"]["SESSION_LIFETIME_HOURS"])
        row = db.session.get(WebSession, accounts.digest(session.sid))
        if row is None:
            row = WebSession(id_hash=accounts.digest(session.sid), expires_at=utcnow() + timedelta(hours=hours))
            db.session.add(row)
        uid = session.get("uid")
        row.user_id = uid if isinstance(uid, int) else None
        row.data_json = json.dumps(dict(session))
        db.session.commit()
        response.set_cookie(
            name,
            session.sid,
            max_age=hours * 3600,
            httponly=True,
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
            domain=domain,
            path=path,
        )


def safe_next(target: str) -> str | None:
    """`target` when it is a path of this app, else None (no scheme, host, backslash or control character)."""
    if not target or not target.startswith("/") or len(target) > 2000:
        return None
    if any(ord(c) < 32 or c in "\\\x7f" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target


def load_user() -> None:
    """Put the logged-in user (session or bearer token) on `g.user`."""
    g.user = None
    header = request.headers.get("Authorization", "")
    if request.path.startswith("/api/") and header.startswith("Bearer "):
        g.user = accounts.user_from_token(header.removeprefix("Bearer ").strip())
        g.via_token = True
        return
    g.via_token = False
    uid = session.get("uid")
    if uid:
        g.user = accounts.acting_user(uid)


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def check_csrf() -> None:
    """Refuse a state-changing request from a browser session without the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS") or getattr(g, "via_token", False):
        return
    if request.path.startswith(("/pki/ocsp", "/pki/tsa")) or request.path in (
        "/api/v1/auth/token",
        "/api/v1/validate",
        "/api/v1/validate/etsi-report",
    ):
        return  # OCSP and TSA clients, token login and the public validation API carry no session
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        abort(400, "Token CSRF tidak valid; muat ulang halaman.")


def template_globals() -> dict[str, Any]:
    """Values every template may use."""
    return {"current_user": g.get("user"), "csrf_token": csrf_token}


def login_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Require a logged-in user, holding one of `roles` when given."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            if user is None:
                if request.path.startswith("/api/"):
                    abort(401)
                return redirect(url_for("auth.login", next=request.path))
            if roles and not any(user.has_role(r) for r in roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


@bp.route("/masuk", methods=["GET", "POST"])
def login() -> Any:
    """Show the login form and log in."""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        try:
            user = accounts.authenticate(username, request.form.get("password", ""), request.remote_addr or "")
        except accounts.Throttled as exc:
            flash(exc.message, "error")
            return render_template("login.html", username=username), 429
        if user is None:
            flash("Nama pengguna atau kata sandi salah.", "error")
            return render_template("login.html", username=username), 401
        old = getattr(session, "sid", None)
        if old:  # a new id at login: a session id planted before login is worth nothing after it
            db.session.execute(delete(WebSession).where(WebSession.id_hash == accounts.digest(old)))
            session.sid = None  # type: ignore[attr-defined]
        session.clear()
        session["uid"] = user.id
        return redirect(safe_next(request.args.get("next", "")) or url_for("inbox.index"))
    return render_template("login.html", username="")


@bp.post("/keluar")
def logout() -> Any:
    """Log out: the session is deleted on the server, so its cookie no longer opens anything."""
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/api/v1/auth/tokens")
@login_required()
def list_tokens() -> Any:
    """The caller's API tokens that still work (ids and times; the tokens themselves are never stored)."""
    rows = accounts.list_tokens(g.user)
    return jsonify(
        tokens=[
            {"id": t.id, "created_at": t.created_at.isoformat(), "expires_at": t.expires_at.isoformat()} for t in rows
        ]
    )


@bp.delete("/api/v1/auth/tokens/<int(max=2147483647):token_id>")
@login_required()
def revoke_token(token_id: int) -> Any:
    """Revoke one of the caller's API tokens (an Admin may revoke anyone's)."""
    accounts.revoke_token(g.user, token_id)
    return jsonify(revoked=token_id)


@bp.post("/api/v1/auth/logout")
@login_required()
def api_logout() -> Any:
    """Revoke the bearer token this request carries."""
    header = request.headers.get("Authorization", "")
    accounts.revoke_presented_token(header.removeprefix("Bearer ").strip())
    return jsonify(revoked=True)


@bp.post("/api/v1/users/<username>/revoke-access")
@login_required("Admin")
def revoke_access(username: str) -> Any:
    """Admin: end every session and revoke every API token of a user."""
    return jsonify(accounts.revoke_access(g.user, username))


@bp.post("/admin/pengguna/<username>/cabut-sesi")
@login_required("Admin")
def revoke_access_page(username: str) -> Any:
    """Admin (web form): end every session and revoke every API token of a user."""
    counts = accounts.revoke_access(g.user, username)
    flash(f"Sesi {username} diakhiri: {counts['sessions']} sesi dan {counts['tokens']} token dicabut.", "info")
    back = safe_next(request.form.get("kembali", ""))
    return redirect(back or url_for("inbox.index"))
