"""Log in and out, the current user, role checks and CSRF protection."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for

from engine.models import User, db
from engine.services import accounts

bp = Blueprint("auth", __name__)


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
        user = db.session.get(User, uid)
        g.user = user if user and user.active else None


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
        user = accounts.authenticate(
            request.form.get("username", "").strip(), request.form.get("password", ""), request.remote_addr or ""
        )
        if user is None:
            flash("Nama pengguna atau kata sandi salah.", "error")
            return render_template("login.html", username=request.form.get("username", "")), 401
        session.clear()
        session["uid"] = user.id
        target = request.args.get("next", "")
        return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("inbox.index"))
    return render_template("login.html", username="")


@bp.post("/keluar")
def logout() -> Any:
    """Log out."""
    session.clear()
    return redirect(url_for("auth.login"))
