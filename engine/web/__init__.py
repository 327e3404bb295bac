"""Blueprints of the web UI and the JSON API, and the error pages they share."""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from engine.config import ROOT
from engine.services import transactions
from engine.services.errors import ServiceError
from engine.web import (
    admin,
    api,
    audit_views,
    auth,
    cases,
    certificates_views,
    inbox,
    labels,
    modeler,
    people_views,
    pki_views,
    processes_api,
    signing_views,
    tasks,
)


def register_web(app: Flask) -> None:
    """Register blueprints, the webforms template folder, CSRF and error handlers."""
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
    ):
        app.register_blueprint(blueprint)
    app.before_request(auth.load_user)
    app.before_request(auth.check_csrf)
    app.context_processor(auth.template_globals)
    app.add_template_filter(labels.event_label, "event_label")
    app.add_template_filter(labels.status_label, "status_label")
    app.add_template_filter(labels.decision_label, "decision_label")
    app.add_template_filter(labels.wib, "wib")
    app.add_template_filter(labels.sop_number, "sop_number")
    app.add_template_filter(labels.certificate_status_label, "certificate_status_label")
    app.add_template_filter(labels.finding_label, "finding_label")

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError) -> ResponseReturnValue:
        transactions.abandon()
        if _wants_json():
            return jsonify(error=exc.message, fields=exc.fields), exc.status
        return error_page(exc.message, exc.status)

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
