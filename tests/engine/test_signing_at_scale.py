"""With 10,000 certificates revoked at the embedded PSrE, what the app signs stays small and validates."""

from __future__ import annotations

from typing import Any

from cryptography import x509

from tests.engine.test_signing_and_validation import give_esign_key, sign, validate
from tests.pki.pki_builders import bulk_revoke, one_page_pdf

LIMIT = 60_000


def test_signed_and_sealed_pdfs_stay_small_and_valid_with_10000_revoked(api: Any, app: Any, client: Any) -> None:
    psre = app.extensions["sertel.psre"]
    give_esign_key(app)
    bulk_revoke(psre, 10_000)
    assert len(x509.load_der_x509_crl(psre.crl_der())) == 10_000
    response = sign(api("pemohon"))  # the owner signs through the app with the server-held key
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    signed = response.get_data()
    sealed = psre.ra_seal().seal_pdf(one_page_pdf())  # what handlers.sealing does for RA documents
    for pdf in (signed, sealed):
        assert len(pdf) < LIMIT
        report = validate(client, pdf)  # POST /api/v1/validate, the PSrE as revocation source
        assert report["verdict"] == "Sah", report
        assert report["signatures"][0]["level"] == "B-LTA"
