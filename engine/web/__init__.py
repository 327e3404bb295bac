"""Blueprints of the web UI and the JSON API, and the error pages they share."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import escape
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from engine import terms
from engine.config import ROOT
from engine.services import masking, queries, transactions
from engine.services.errors import ServiceError
from engine.web import (
    admin,
    api,
    audit_views,
    auth,
    cases,
    certificates_views,
    dashboard_views,
    help_views,
    inbox,
    labels,
    modeler,
    people_views,
    pki_views,
    privacy_views,
    processes_api,
    replay_views,
    signing_views,
    tasks,
    withdrawal_views,
)

# Ids in URLs are 32-bit: a larger number is a page that does not exist, never a database overflow.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: a non-negative integer below 2**31 (else 404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Control characters refused in any submitted text; tab, newline and carriage return are ordinary text.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
INTEGER = re.compile(r"[+-]?[0-9]{1,400}")
# Query parameters whose digits are text, not ids: the auditor's search by NIK, NIP and certificate serial.
DIGIT_TEXT_PARAMS = frozenset({"nik", "nip", "serial", "q"})
# Marks of an internal error (a driver's or SQLAlchemy's message) that must never reach a response body.
INTERNAL_DETAIL = re.compile(
    r"\[SQL:|\[parameters:|sqlalche\.me|Background on this error|Traceback|psycopg|sqlite3\.", re.I
)


def register_web(app: Flask) -> None:
    """Register blueprints, the webforms template folder, sessions, CSRF, security headers and error handlers."""
    app.url_map.converters["int"] = IdConverter
    app.session_interface = auth.ServerSessionInterface()
    app.config["SESSION_COOKIE_SECURE"] = app.config["SERTEL"]["ENV"] not in {"development", "testing"}
    app.jinja_loader = ChoiceLoader(
        [FileSystemLoader(str(ROOT / "engine" / "web" / "templates")), FileSystemLoader(str(ROOT / "webforms"))]
    )
    for blueprint in (
        auth.bp,
        inbox.bp,
        tasks.bp,
        cases.bp,
        certificates_views.bp,
        pki_views.bp,
        processes_api.bp,
        api.bp,
        admin.bp,
        signing_views.bp,
        people_views.bp,
        audit_views.bp,
        modeler.bp,
        privacy_views.bp,
        dashboard_views.bp,
        withdrawal_views.bp,
        help_views.bp,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(replay_views.bp)
    app.before_request(refuse_bad_input)
    app.before_request(auth.load_user)
    app.before_request(auth.check_csrf)
    app.after_request(security_headers)
    app.context_processor(auth.template_globals)
    app.jinja_env.globals.update(owner_terms=terms.owner_terms, legal_bases=terms.LEGAL_BASES)
    app.add_template_filter(labels.event_label, "event_label")
    app.add_template_filter(labels.status_label, "status_label")
    app.add_template_filter(labels.decision_label, "decision_label")
    app.add_template_filter(labels.wib, "wib")
    app.add_template_filter(labels.sop_number, "sop_number")
    app.add_template_filter(labels.certificate_status_label, "certificate_status_label")
    app.add_template_filter(labels.finding_label, "finding_label")
    app.add_template_filter(labels.payload_rows, "payload_rows")
    app.add_template_filter(masking.mask_identifier, "mask_id")
    app.add_template_filter(process_title, "process_title")
    app.add_template_filter(agency_name, "agency_name")

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError) -> ResponseReturnValue:
        transactions.abandon()
        message = exc.message
        if INTERNAL_DETAIL.search(message) or any(
            INTERNAL_DETAIL.search(m) for ms in (exc.fields or {}).values() for m in ms
        ):
            # An internal error (SQL and its parameters) wrapped into a user-facing one: log it, never show it.
            app.logger.error("internal detail withheld from a %s answer: %s", exc.status, message)
            message = MESSAGES.get(exc.status, MESSAGES[500])
            if _wants_json():
                return jsonify(error=message, fields={}), exc.status
            return error_page(message, exc.status)
        if _wants_json():
            return jsonify(error=message, fields=exc.fields), exc.status
        return error_page(message, exc.status)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        transactions.abandon()
        # Flask hands code-less HTTPExceptions back unhandled, so here `code` is always set.
        status = exc.code or 500
        # A message given to abort() wins over the generic one for the status; werkzeug's own is English.
        custom = exc.description if exc.description != type(exc).description else None
        message = custom or MESSAGES.get(status, f"Permintaan tidak dapat diproses (kode {status}).")
        if _wants_json():
            return jsonify(error=message), status
        return error_page(message, status)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        transactions.abandon()
        race = transactions.race_error(exc)
        if race is not None:
            # Another request changed the same rows first (a double click, two officers at once); logged in
            # case it is a bug that merely looks like a race.
            app.logger.warning("database race answered %s: %s", race.status, exc)
            return service_error(race)
        if isinstance(exc, RecursionError):
            # Input nested too deeply to parse (JSON); it is the request that is bad, not the server.
            message = "Data terlalu bertingkat (bersarang terlalu dalam)."
            if _wants_json():
                return jsonify(error=message), 400
            return error_page(message, 400)
        app.logger.exception("unexpected error")
        message = MESSAGES[500]
        if _wants_json():
            return jsonify(error=message), 500
        return error_page(message, 500)


def error_page(message: str, status: int) -> ResponseReturnValue:
    """The Indonesian error page; a bare one if the page itself cannot render (never werkzeug's English)."""
    try:
        return render_template("error.html", message=message, status=status), status
    except Exception:  # whatever broke the page, the user still gets an answer in Indonesian
        current_app.logger.exception("error page failed to render")
        body = f'<!doctype html><html lang="id"><meta charset="utf-8"><title>Kesalahan {status}</title><h1>Tidak dapat diproses ({status})</h1><p>{escape(message)}</p><p><a href="/">Kembali ke Kotak Masuk</a></p></html>'
        return Response(body, status, mimetype="text/html")


MESSAGES = {
    400: "Permintaan tidak valid.",
    401: "Silakan masuk terlebih dahulu.",
    403: "Anda tidak berwenang.",
    404: "Halaman tidak ditemukan.",
    405: "Metode tidak diizinkan.",
    409: "Data telah berubah; muat ulang halaman dan coba lagi.",
    413: "Berkas terlalu besar.",
    429: "Terlalu banyak permintaan; tunggu sebentar lalu coba lagi.",
    500: "Terjadi kesalahan pada server. Kejadian ini telah dicatat.",
    502: "Layanan lain yang dibutuhkan sedang bermasalah; silakan coba lagi.",
    503: "Layanan sedang sibuk atau dalam pemeliharaan; silakan coba lagi sebentar lagi.",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _refuse(message: str, status: int, field: str | None = None) -> ResponseReturnValue:
    if _wants_json():
        return jsonify(error=message, fields={field: [message]} if field else {}), status
    return error_page(message, status)


def _control_character_in(value: Any, path: str, depth: int = 0) -> str | None:
    """The name of the first JSON value holding a control character or an integer beyond 32 bits (or nested
    beyond reason), else None."""
    if depth > 64:
        return path or "(isi)"
    if isinstance(value, int) and not isinstance(value, bool):
        return path or "(isi)" if abs(value) > MAX_ID else None
    if isinstance(value, str):
        return path or "(isi)" if CONTROL_CHARACTERS.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _control_character_in(str(key), path, depth + 1) or _control_character_in(item, str(key), depth + 1)
            if found:
                return found
    if isinstance(value, list):
        for item in value:
            found = _control_character_in(item, path, depth + 1)
            if found:
                return found
    return None


def refuse_bad_input() -> ResponseReturnValue | None:
    """Refuse with a clear message what no view should see: control characters in text, a bad page number."""
    page = request.args.get("halaman")
    if page is not None and page != "" and not (page.isascii() and page.isdigit() and 1 <= int(page) <= MAX_ID):
        return _refuse("Nomor halaman tidak valid.", 400, "halaman")
    for source in (request.args, request.form):
        for name, value in ((str(n or ""), str(v or "")) for n, v in source.items(multi=True)):
            if CONTROL_CHARACTERS.search(value) or CONTROL_CHARACTERS.search(name):
                return _refuse(f"Kolom '{name[:60]}' berisi karakter kontrol yang tidak diizinkan.", 422, name[:60])
            # Query parameters that are numbers are ids or versions (except the search's NIK, NIP and serial).
            if (
                source is request.args
                and name not in DIGIT_TEXT_PARAMS
                and INTEGER.fullmatch(value.strip())
                and abs(int(value)) > MAX_ID
            ):
                return _refuse(f"Angka pada parameter '{name[:60]}' terlalu besar.", 400, name[:60])
    if request.is_json and request.content_length:
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            return _refuse("Data terlalu bertingkat (bersarang terlalu dalam).", 400)
        field = _control_character_in(body, "")
        if field:
            message = f"Kolom '{field[:60]}' berisi karakter kontrol atau angka di luar batas yang tidak diizinkan."
            return _refuse(message, 422, field[:60])
    return None


def security_headers(response: Response) -> Response:
    """Headers every answer carries: CSP, no framing, no sniffing, a strict referrer, HSTS over TLS, no banner."""
    headers = response.headers
    policy = CONTENT_SECURITY_POLICY
    if request.path.startswith("/admin/proses"):
        # The bundled BPMN modeler (bpmn-js) positions its elements with style attributes; style elements and
        # every script stay 'self' only.
        policy += "; style-src-attr 'unsafe-inline'"
    headers.setdefault("Content-Security-Policy", policy)
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    # Replaces the server's own banner (Werkzeug and the Python version; the dev server sends it only if unset).
    headers["Server"] = "Sertel"
    if not request.path.startswith("/static/") and "Cache-Control" not in headers:
        # Pages and downloads (KTP, selfie, any case document) are private: never kept by a browser or proxy.
        headers["Cache-Control"] = "no-store"
    if g.get("user") is not None and not request.path.startswith(("/static/", "/pki/")):
        headers["Cache-Control"] = "no-store"  # whatever a view said: what a logged-in user sees is theirs
    return response


def process_title(key: str) -> str:
    """The title people read for a process key (its newest version's), looked up once per request."""
    titles = g.get("_process_titles")
    if titles is None:
        titles = g._process_titles = {p["key"]: p["title"] for p in queries.processes()}
    return str(titles.get(key) or key)


def agency_name(code: str) -> str:
    """The name of an agency (Perangkat Daerah) for its code, looked up once per request."""
    names = g.get("_agency_names")
    if names is None:
        names = g._agency_names = dict(queries.agency_choices())
    return str(names.get(code) or code)
