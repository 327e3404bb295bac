"""Pages to sign a PDF with one's eSign key and to validate a signed PDF (HTML and JSON)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, url_for

from engine.models import Document
from engine.services import documents, queries, signing
from engine.services.errors import Invalid, ServiceError
from engine.web.auth import login_required

bp = Blueprint("signing", __name__)
MAX_PDF = 20 * 1024 * 1024


def _uploaded_pdf(field: str = "file") -> tuple[bytes, str]:
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise Invalid("Pilih berkas PDF.", {field: ["Pilih berkas PDF."]})
    content = upload.read(MAX_PDF + 1)
    if len(content) > MAX_PDF:
        raise Invalid("Berkas melebihi 20 MB.", {field: ["Berkas melebihi 20 MB."]})
    return content, upload.filename


def _username() -> str | None:
    """The logged-in user's name, or None for an anonymous request."""
    return g.user.username if g.get("user") else None


def _sign_uploaded(visible_default: str) -> Document:
    """Sign the uploaded PDF with the form's passphrase, reason, location and stamp choice."""
    content, filename = _uploaded_pdf()
    return signing.sign_document(
        g.user,
        content,
        filename,
        request.form.get("passphrase", ""),
        request.form.get("reason", ""),
        request.form.get("location", ""),
        request.form.get("visible", visible_default) == "true",
    )


@bp.route("/tanda-tangan", methods=["GET", "POST"])
@login_required("Pemohon")
def sign() -> Any:
    """Sign a PDF with the owner's eSign key and passphrase; then say so and offer the signed file.

    After a signature the browser is sent back here (?dokumen=<id>) with a success message and the download
    link, so the form is usable again and a reload never signs twice.
    """
    if request.method == "GET":
        raw = request.args.get("dokumen", "")
        signed = queries.document_for(int(raw), g.user) if raw.isdigit() and len(raw) < 19 else None
        return render_template("sign.html", errors={}, values={}, signed=signed)
    values = {k: request.form.get(k, "") for k in ("reason", "location")}
    try:
        document = _sign_uploaded(visible_default="")  # an unticked checkbox sends nothing: no stamp
    except ServiceError as exc:
        return render_template(
            "sign.html", errors=exc.fields or {"_": [exc.message]}, values=values, message=exc.message
        ), exc.status
    flash(f"Dokumen berhasil ditandatangani: {document.filename}. Unduh di bawah ini.", "ok")
    return redirect(url_for("signing.sign", dokumen=document.id), 303)


@bp.route("/validasi", methods=["GET", "POST"])
def validate_page() -> Any:
    """Public validation page: upload a signed PDF, read a report per signature."""
    if request.method == "GET":
        return render_template("validate.html", report=None)
    try:
        content, filename = _uploaded_pdf()
    except Invalid as exc:
        return render_template("validate.html", report=None, message=exc.message), 422
    report = signing.validate(content, _username(), request.remote_addr or "")
    return render_template("validate.html", report=report, filename=filename)


def _api_pdf() -> bytes:
    """The PDF of an API call: multipart field `file`, or the raw body; neither is a 422."""
    if request.files:
        return _uploaded_pdf()[0]
    content = request.get_data()[: MAX_PDF + 1]
    if not content:
        raise Invalid("Pilih berkas PDF.", {"file": ["Pilih berkas PDF."]})
    if len(content) > MAX_PDF:
        raise Invalid("Berkas melebihi 20 MB.", {"file": ["Berkas melebihi 20 MB."]})
    return content


@bp.post("/api/v1/validate")
def validate_api() -> Any:
    """Validate a signed PDF (multipart field `file`, or the raw PDF as the body); JSON report with the XML."""
    return jsonify(signing.validate(_api_pdf(), _username(), request.remote_addr or ""))


@bp.post("/api/v1/validate/etsi-report")
def validate_etsi_api() -> Any:
    """Validate a signed PDF and answer with the ETSI TS 119 102-2 XML report only."""
    xml = signing.validate_etsi_xml(_api_pdf(), _username(), request.remote_addr or "")
    return Response(
        xml, mimetype="application/xml", headers={"Content-Disposition": 'attachment; filename="laporan-validasi.xml"'}
    )


@bp.post("/api/v1/sign")
@login_required("Pemohon")
def sign_api() -> Any:
    """Sign a PDF with the owner's eSign key (multipart: file, passphrase, reason, location, visible)."""
    document = _sign_uploaded(visible_default="true")
    return Response(documents.read(document), mimetype="application/pdf", headers={"X-Document-Id": str(document.id)})
