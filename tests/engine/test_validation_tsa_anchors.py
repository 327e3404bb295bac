"""Trusted timestamp authorities of the validation service: our own TSA, plus anchors from SERTEL_TRUSTED_TSA_PEM."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import crl as asn1_crl
from flask import Flask
from pyhanko.sign.validation.dss import DocumentSecurityStore

from pki.signing import sign_pdf
from tests.conftest import build_app
from tests.pki.hostile_builders import foreign_tsa_with_crl, owner_key
from tests.pki.pki_builders import one_page_pdf


def _foreign_stamped(app: Flask) -> tuple[bytes, str, bytes]:
    psre = app.extensions["sertel.psre"]
    tsa, tsa_root, tsa_crl = foreign_tsa_with_crl(lambda: datetime.now(UTC))
    signed = sign_pdf(one_page_pdf(), owner_key(psre, "anchor"), reason="r", location="l", timestamper=tsa)
    return signed, tsa_root, tsa_crl


def _with_dss_crl(pdf: bytes, crl_der: bytes) -> bytes:
    """The PDF with the foreign TSA's CRL added to its DSS (what a B-LT signer embeds)."""
    out = io.BytesIO(pdf)
    DocumentSecurityStore.add_dss(out, None, crls=[asn1_crl.CertificateList.load(crl_der)])
    return out.getvalue()


def _signature(app: Flask, pdf: bytes) -> dict[str, Any]:
    response = app.test_client().post("/api/v1/validate", data={"file": (io.BytesIO(pdf), "x.pdf")})
    assert response.status_code == 200
    return response.get_json()["signatures"][0]  # type: ignore[no-any-return]


def test_foreign_tsa_counts_once_its_root_is_a_configured_anchor(
    app: Flask, tmp_path: Path, psre_template: Path
) -> None:
    signed, tsa_root, tsa_crl = _foreign_stamped(app)
    untrusted = _signature(app, signed)
    assert not untrusted["timestamped"] and "tidak diakui" in untrusted["timestamp_reason"]
    anchors = tmp_path / "tsa-anchors.pem"
    anchors.write_text(tsa_root)
    configured = build_app(tmp_path / "second", psre_template, TRUSTED_TSA_PEM=str(anchors))
    configured.extensions["sertel.psre"] = app.extensions["sertel.psre"]
    # A configured TSA whose revocation status nothing tells is no proof of existence (ETSI EN 319 102-1).
    unknown = _signature(configured, signed)
    assert not unknown["timestamped"] and "status pencabutan sertifikat TSA" in unknown["timestamp_reason"]
    trusted = _signature(configured, _with_dss_crl(signed, tsa_crl))
    assert trusted["timestamped"] and trusted["level"] == "B-LT"
