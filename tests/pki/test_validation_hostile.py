"""The validator cannot be fooled: hostile PDFs built here, each with its verdict and ETSI indication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hostile_builders import owner_key, rogue_timestamper
from pki_builders import FakeClock, one_page_pdf

from pki.embedded import EmbeddedPSrE
from pki.signing import sign_pdf
from pki.validation import validate_pdf


@pytest.fixture
def clock() -> FakeClock:
    """The PSrE starts three hours ago, so issuing, revoking and signing happen at distinct past times."""
    started = FakeClock()
    started.now -= timedelta(hours=3)
    return started


def _revoked_an_hour_ago(psre: EmbeddedPSrE, clock: FakeClock) -> tuple[object, datetime]:
    real_now = datetime.now(UTC)
    clock.now = real_now - timedelta(hours=2)
    key = owner_key(psre)
    clock.now = real_now - timedelta(hours=1)
    psre.revoke(format(key.certificate.serial_number, "x"), "keyCompromise", "rv-1")
    return key, real_now


def test_backdated_token_from_self_made_tsa_does_not_save_a_signature_made_after_revocation(
    psre: EmbeddedPSrE, clock: FakeClock
) -> None:
    key, real_now = _revoked_an_hour_ago(psre, clock)
    forged = rogue_timestamper(lambda: real_now - timedelta(minutes=90))
    signed = sign_pdf(one_page_pdf(), key, reason="r", location="l", timestamper=forged)  # type: ignore[arg-type]
    report = validate_pdf(signed, psre.root_certificate_pem(), psre)
    sig = report.signatures[0]
    assert not report.valid and not sig.valid
    assert not sig.timestamped and sig.revocation_status == "revoked"
    assert "cap waktu" in sig.timestamp_reason.lower()
