"""Long-term validation: archive timestamps renewed before they stop proving, service certificates renewed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from asn1crypto import tsp
from cryptography import x509
from cryptography.fernet import Fernet
from pki_builders import new_psre, one_page_pdf

from pki import archive
from pki.embedded import EmbeddedPSrE
from pki.signing import sign_pdf
from pki.tsa import TimeStampStatusOnly
from pki.validation import validate_pdf

START = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
SERVICE_WINDOW = timedelta(days=90)
ARCHIVE_WINDOW_DAYS = 60


def _wall_clock() -> datetime:
    # Follows time_machine, so the PSrE's clock moves with the validator's.
    return datetime.now(UTC)


@pytest.fixture
def traveller() -> Iterator[time_machine.Coordinates]:
    """Freeze time at START; the test moves it with `.move_to`."""
    with time_machine.travel(START, tick=False) as coordinates:
        yield coordinates


@pytest.fixture
def wall_psre(tmp_path: Path, traveller: time_machine.Coordinates) -> EmbeddedPSrE:
    """A PSrE whose clock is the (travelled) wall clock."""
    psre = new_psre(tmp_path / "psre", [Fernet.generate_key().decode()], _wall_clock)  # type: ignore[arg-type]
    psre.initialise()
    return psre


def _refresh(psre: EmbeddedPSrE, pdf: bytes) -> bytes:
    psre.renew_service_certificates(SERVICE_WINDOW)
    if not archive.refresh_due(pdf, _wall_clock(), ARCHIVE_WINDOW_DAYS):
        return pdf
    root = x509.load_pem_x509_certificate(psre.root_certificate_pem().encode())
    return archive.add_archive_timestamp(pdf, psre.timestamper(), [root], psre.revocation_material())


def test_sealed_pdf_without_renewal_is_not_proven_once_its_tsa_certificate_expired(
    wall_psre: EmbeddedPSrE, traveller: time_machine.Coordinates
) -> None:
    sealed = wall_psre.ra_seal().seal_pdf(one_page_pdf())
    tsa_expiry = x509.load_pem_x509_certificate(wall_psre.tsa_certificate_pem().encode()).not_valid_after_utc
    traveller.move_to(tsa_expiry + timedelta(days=1))
    report = validate_pdf(sealed, wall_psre.root_certificate_pem(), None)
    assert not report.valid
    assert report.document_timestamps[0].sub_indication == "OUT_OF_BOUNDS_NO_POE"
    assert not report.signatures[0].valid


def test_archived_seal_still_validates_offline_every_half_year_for_ten_years(
    wall_psre: EmbeddedPSrE, traveller: time_machine.Coordinates
) -> None:
    pdf = wall_psre.ra_seal().seal_pdf(one_page_pdf())
    root_pem = wall_psre.root_certificate_pem()
    refreshes = 0
    for half_years in range(1, 21):
        traveller.move_to(START + timedelta(days=182 * half_years))
        refreshed = _refresh(wall_psre, pdf)
        refreshes += refreshed != pdf
        assert refreshed.startswith(pdf)  # a new revision appended, never a rewrite
        pdf = refreshed
        report = validate_pdf(pdf, root_pem, None)
        assert report.valid, (half_years, report.verdict, [s.sub_indication for s in report.document_timestamps])
        assert report.signatures[0].level == "B-LTA"
    assert refreshes >= 1


def test_refresh_is_due_only_inside_the_window(wall_psre: EmbeddedPSrE, traveller: time_machine.Coordinates) -> None:
    sealed = wall_psre.ra_seal().seal_pdf(one_page_pdf())
    expires = archive.evidence_expires(sealed)
    assert expires is not None
    assert not archive.refresh_due(sealed, _wall_clock(), ARCHIVE_WINDOW_DAYS)
    assert archive.refresh_due(sealed, expires - timedelta(days=ARCHIVE_WINDOW_DAYS - 1), ARCHIVE_WINDOW_DAYS)
    assert archive.refresh_due(one_page_pdf(), _wall_clock(), ARCHIVE_WINDOW_DAYS)  # no timestamp: due at once


def test_tsa_refuses_to_stamp_with_an_expired_certificate(
    wall_psre: EmbeddedPSrE, traveller: time_machine.Coordinates
) -> None:
    expiry = x509.load_pem_x509_certificate(wall_psre.tsa_certificate_pem().encode()).not_valid_after_utc
    traveller.move_to(expiry + timedelta(seconds=1))
    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(b"x").digest(),
            },
            "cert_req": True,
        }
    ).dump()
    response = TimeStampStatusOnly.load(wall_psre.tsa_response_der(request))
    assert response["status"]["status"].native == "rejection"
    assert "system_failure" in response["status"]["fail_info"].native


def test_service_certificates_are_renewed_inside_the_window_and_only_then(
    wall_psre: EmbeddedPSrE, traveller: time_machine.Coordinates
) -> None:
    old_tsa, old_seal = wall_psre.tsa_certificate_pem(), wall_psre.ra_seal_certificate_pem()
    assert wall_psre.renew_service_certificates(SERVICE_WINDOW) == []
    expiry = x509.load_pem_x509_certificate(old_tsa.encode()).not_valid_after_utc
    traveller.move_to(expiry - SERVICE_WINDOW + timedelta(days=1))
    assert sorted(wall_psre.renew_service_certificates(SERVICE_WINDOW)) == ["ra_seal", "tsa"]
    assert wall_psre.tsa_certificate_pem() != old_tsa
    assert wall_psre.ra_seal_certificate_pem() != old_seal
    assert wall_psre.renew_service_certificates(SERVICE_WINDOW) == []


def test_ra_sealing_keeps_working_across_the_seal_certificate_renewal(
    wall_psre: EmbeddedPSrE, traveller: time_machine.Coordinates
) -> None:
    seal_expiry = wall_psre.ra_seal().certificate.not_valid_after_utc
    traveller.move_to(seal_expiry + timedelta(days=1))
    wall_psre.renew_service_certificates(SERVICE_WINDOW)
    sealed = wall_psre.ra_seal().seal_pdf(one_page_pdf())
    report = validate_pdf(sealed, wall_psre.root_certificate_pem(), wall_psre)
    assert report.valid, report.verdict
    assert report.signatures[0].level == "B-LTA"


def test_a_process_with_a_cached_service_certificate_picks_up_the_renewed_one(
    wall_psre: EmbeddedPSrE, traveller: time_machine.Coordinates
) -> None:
    other_process = EmbeddedPSrE(
        wall_psre.store.path.parent, wall_psre.kek_keys, wall_psre.base_url, clock=_wall_clock, scrypt_n=2**10
    )
    first = other_process.timestamper().identity.certificate
    traveller.move_to(first.not_valid_after_utc - SERVICE_WINDOW + timedelta(days=1))
    wall_psre.renew_service_certificates(SERVICE_WINDOW)
    traveller.move_to(first.not_valid_after_utc - timedelta(days=1))
    assert other_process.timestamper().identity.certificate != first


def test_evidence_of_a_signature_without_document_timestamp_ends_with_its_tsa_certificate(
    wall_psre: EmbeddedPSrE,
) -> None:
    key = wall_psre.ra_seal().key
    tsa = x509.load_pem_x509_certificate(wall_psre.tsa_certificate_pem().encode())
    b_t = sign_pdf(one_page_pdf(), key, reason="r", location="l", timestamper=wall_psre.timestamper())
    assert archive.evidence_expires(b_t) == tsa.not_valid_after_utc
    assert archive.evidence_expires(sign_pdf(one_page_pdf(), key, reason="r", location="l")) is None
