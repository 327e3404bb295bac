"""Blueprints of the web UI and the JSON API, and the error pages they share."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.exceptions import HTTPException

from engine.config import ROOT
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
    people_views,
    pki_views,
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
        api.bp,
        admin.bp,
        signing_views.bp,
        people_views.bp,
        audit_views.bp,
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
        if _wants_json():
            return jsonify(error=exc.message, fields=exc.fields), exc.status
        return render_template("error.html", message=exc.message, status=exc.status), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        # Flask hands code-less HTTPExceptions back unhandled, so here `code` is always set.
        status = exc.code or 500
        # A message given to abort() wins over the generic one for the status.
        custom = exc.description if exc.description != type(exc).description else None
        message = custom or MESSAGES.get(status, exc.description or "Terjadi kesalahan.")
        if _wants_json():
            return jsonify(error=message), status
        return render_template("error.html", message=message, status=status), status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        app.logger.exception("unexpected error")
        message = "Terjadi kesalahan pada server. Kejadian ini telah dicatat."
        if _wants_json():
            return jsonify(error=message), 500
        return render_template("error.html", message=message, status=500), 500


MESSAGES = {
    400: "Permintaan tidak valid.",
    401: "Silakan masuk terlebih dahulu.",
    403: "Anda tidak berwenang.",
    404: "Halaman tidak ditemukan.",
    405: "Metode tidak diizinkan.",
    413: "Berkas terlalu besar.",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")
