"""Public PKI endpoints of the embedded PSrE: CRL, OCSP (RFC 6960 GET and POST) and the CA chain."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from flask import Blueprint, Response, abort, current_app, request

from pki.errors import NotInitialised

bp = Blueprint("pki", __name__, url_prefix="/pki")


def _psre() -> Any:
    return current_app.extensions["sertel.psre"]


def _cached(body: bytes, mimetype: str, produced: datetime, expires: datetime | None) -> Response:
    """A response with HTTP cache headers that let caches keep it until the data's own next update."""
    response = Response(body, mimetype=mimetype)
    response.last_modified = produced
    if expires is not None:
        response.expires = expires
        remaining = int((expires - datetime.now(UTC)).total_seconds())
        response.cache_control.public = True
        response.cache_control.max_age = max(remaining, 0)
    return response


def _crl(der: bytes) -> Response:
    # Served as stored: a GET never signs (CRLs are made on revocation, by the scheduler and by operators).
    parsed = x509.load_der_x509_crl(der)
    return _cached(der, "application/pkix-crl", parsed.last_update_utc, parsed.next_update_utc)


@bp.get("/crl")
def crl() -> Response:
    """The first issuing CA's CRL (DER), as last published: the URL its certificates name.

    Until the first `sertel pki rollover` that is the current issuing CA; afterwards the retired first
    generation keeps publishing here (with its own key) while its certificates are valid.
    """
    psre = _psre()
    # A remote PSrE (HttpPSrE) publishes its own CRLs; relayed here as its current one, as before.
    return _crl(psre.crl_der_of(1) if hasattr(psre, "crl_der_of") else psre.crl_der())


@bp.get("/crl-g<int:generation>")
def generation_crl(generation: int) -> Response:
    """The CRL (DER) of issuing-CA generation `generation` (2 and later, one per rollover)."""
    return _crl(_generation(generation, lambda psre: psre.crl_der_of(generation)))


def _generation(generation: int, read: Any) -> Any:
    psre = _psre()
    if generation < 1 or not hasattr(psre, "current_generation") or generation > psre.current_generation():
        abort(404)
    try:
        return read(psre)
    except NotInitialised:
        abort(404)


@bp.get("/root-crl")
def root_crl() -> Response:
    """The root CA's CRL (DER), as last published by `sertel pki root-crl`."""
    return _crl(_psre().root_crl_der())


@bp.get("/ca.pem")
def chain() -> Response:
    """The CA chain (issuing CA and root) in PEM."""
    return Response(_psre().ca_chain_pem(), mimetype="application/x-pem-file")


def _ca_certificate(index: int) -> Response:
    certificate = x509.load_pem_x509_certificates(_psre().ca_chain_pem().encode())[index]
    return _der_certificate(certificate)


def _der_certificate(certificate: x509.Certificate) -> Response:
    return Response(certificate.public_bytes(serialization.Encoding.DER), mimetype="application/pkix-cert")


@bp.get("/ca.cer")
def issuing_ca_certificate() -> Response:
    """The first issuing CA's certificate (DER): the AIA caIssuers URL of every certificate it issued."""
    if not hasattr(_psre(), "issuing_certificate_of"):
        return _ca_certificate(0)  # a remote PSrE: its current issuing CA, as before
    return issuing_ca_certificate_of(1)


@bp.get("/ca-g<int:generation>.cer")
def issuing_ca_certificate_of(generation: int) -> Response:
    """The certificate (DER) of issuing-CA generation `generation`: caIssuers of what that generation issued."""
    return _der_certificate(_generation(generation, lambda psre: psre.issuing_certificate_of(generation)))


@bp.get("/root.cer")
def root_ca_certificate() -> Response:
    """The root CA certificate (DER): the AIA caIssuers URL of the issuing CA."""
    return _ca_certificate(1)


@bp.post("/ocsp")
def ocsp_post() -> Response:
    """OCSP over POST: the DER request is the body."""
    return _ocsp(request.get_data())


@bp.get("/ocsp/<path:encoded>")
def ocsp_get(encoded: str) -> Response:
    """OCSP over GET: the base64 DER request is the URL path (RFC 6960 appendix A)."""
    try:
        der = base64.b64decode(unquote(encoded))
    except ValueError:
        abort(400)
    return _ocsp(der)


def _ocsp(der: bytes) -> Response:
    answer = _psre().ocsp_response_der(der)
    parsed = ocsp.load_der_ocsp_response(answer)
    if parsed.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        # An error answer says nothing lasting about any certificate: caches must not keep it.
        response = Response(answer, mimetype="application/ocsp-response")
        response.cache_control.no_store = True
        return response
    # RFC 5019 6.2: caches may keep the answer until the earliest nextUpdate among its SingleResponses.
    next_updates = [single.next_update_utc for single in parsed.responses if single.next_update_utc is not None]
    return _cached(answer, "application/ocsp-response", parsed.produced_at_utc, min(next_updates, default=None))


@bp.post("/tsa")
def tsa() -> Response:
    """RFC 3161 timestamp authority: a TimeStampReq in, a TimeStampResp out."""
    return Response(_psre().tsa_response_der(request.get_data()), mimetype="application/timestamp-reply")


@bp.get("/tsa.pem")
def tsa_certificate() -> Response:
    """The timestamp authority's certificate (PEM)."""
    return Response(_psre().tsa_certificate_pem(), mimetype="application/x-pem-file")
