"""The validator cannot be fooled: hostile PDFs built here, each with its verdict and ETSI indication."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from ades_oracle import adesverify
from cryptography import x509
from cryptography.fernet import Fernet
from hostile_builders import (
    expired_chain,
    flip_signature_value,
    foreign_tsa,
    foreign_tsa_with_crl,
    overlay_page,
    owner_key,
    replace_page_content,
    rogue_timestamper,
    self_signed_key,
)
from pki_builders import FakeClock, new_psre, one_page_pdf
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import PdfTimeStamper

from pki.embedded import EmbeddedPSrE
from pki.signing import PdfSigningKey, RevocationMaterial, sign_pdf
from pki.tsa import PsreTimeStamper
from pki.validation import validate_pdf
from pki.validation_xml import etsi_xml

PASSED, FAILED, INDET = "TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"


@pytest.fixture
def clock() -> FakeClock:
    """The PSrE starts three hours ago, so issuing, revoking and signing happen at distinct past times."""
    started = FakeClock()
    started.now -= timedelta(hours=3)
    return started


def _revoked_an_hour_ago(psre: EmbeddedPSrE, clock: FakeClock) -> tuple[PdfSigningKey, datetime]:
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
    signed = sign_pdf(one_page_pdf(), key, reason="r", location="l", timestamper=forged)
    report = validate_pdf(signed, psre.root_certificate_pem(), psre)
    sig = report.signatures[0]
    assert not report.valid and not sig.valid
    assert not sig.timestamped and sig.revocation_status == "revoked"
    assert "cap waktu" in sig.timestamp_reason.lower()


@dataclass(frozen=True)
class Case:
    """One hostile file, the roots it is judged against, and the ETSI indication we expect per signature."""

    pdf: bytes
    expected: list[tuple[str, str | None]]
    roots_pem: str | None = None


def _lta(psre: EmbeddedPSrE, key: PdfSigningKey, pdf: bytes | None = None) -> bytes:
    return sign_pdf(
        pdf or one_page_pdf(), key, reason="r", location="l", timestamper=psre.timestamper(), revocation=psre
    )


def _forged_after_revocation(psre: EmbeddedPSrE, clock: FakeClock, _: Path) -> Case:
    key, real_now = _revoked_an_hour_ago(psre, clock)
    forged = rogue_timestamper(lambda: real_now - timedelta(minutes=90))
    return Case(
        sign_pdf(one_page_pdf(), key, reason="r", location="l", timestamper=forged), [(INDET, "REVOKED_NO_POE")]
    )


def _revoked_without_timestamp(psre: EmbeddedPSrE, clock: FakeClock, _: Path) -> Case:
    key, _now = _revoked_an_hour_ago(psre, clock)
    return Case(sign_pdf(one_page_pdf(), key, reason="r", location="l"), [(INDET, "REVOKED_NO_POE")])


def _expired_signer(psre: EmbeddedPSrE, clock: FakeClock, _: Path) -> Case:
    root_pem, key = expired_chain()
    return Case(sign_pdf(one_page_pdf(), key, reason="r", location="l"), [(INDET, "OUT_OF_BOUNDS_NO_POE")], root_pem)


def _unknown_root(psre: EmbeddedPSrE, clock: FakeClock, tmp_path: Path) -> Case:
    other = new_psre(tmp_path / "other", [Fernet.generate_key().decode()])
    other.initialise()
    # The foreign root has our root's name: the path is built but its signatures do not verify.
    return Case(_lta(other, owner_key(other)), [(INDET, "CERTIFICATE_CHAIN_GENERAL_FAILURE")])


def _self_signed(psre: EmbeddedPSrE, clock: FakeClock, _: Path) -> Case:
    signed = sign_pdf(one_page_pdf(), self_signed_key(), reason="r", location="l", timestamper=psre.timestamper())
    return Case(signed, [(INDET, "CHAIN_CONSTRAINTS_FAILURE")])


def _content_changed_later(psre: EmbeddedPSrE, clock: FakeClock, _: Path) -> Case:
    return Case(replace_page_content(_lta(psre, owner_key(psre)), b"PALSU"), [(FAILED, "HASH_FAILURE")])


def _second_signature_only(psre: EmbeddedPSrE, clock: FakeClock, _: Path) -> Case:
    first = _lta(psre, owner_key(psre, "a"))
    return Case(_lta(psre, owner_key(psre, "b"), first), [(PASSED, None), (PASSED, None)])


def _shadow_overlay(psre: EmbeddedPSrE, clock: FakeClock, _: Path) -> Case:
    return Case(overlay_page(_lta(psre, owner_key(psre)), b"DIBATALKAN"), [(FAILED, "HASH_FAILURE")])


def _signature_bytes_tampered(psre: EmbeddedPSrE, clock: FakeClock, _: Path) -> Case:
    signed = sign_pdf(one_page_pdf(), owner_key(psre), reason="r", location="l", timestamper=psre.timestamper())
    return Case(flip_signature_value(signed), [(FAILED, "SIG_CRYPTO_FAILURE")])


def _two_signatures_one_broken(psre: EmbeddedPSrE, clock: FakeClock, _: Path) -> Case:
    first = _lta(psre, owner_key(psre, "a"))
    second = sign_pdf(first, owner_key(psre, "b"), reason="r", location="l", timestamper=psre.timestamper())
    return Case(flip_signature_value(second), [(PASSED, None), (FAILED, "SIG_CRYPTO_FAILURE")])


def _document_timestamp_broken(psre: EmbeddedPSrE, clock: FakeClock, _: Path) -> Case:
    return Case(flip_signature_value(_lta(psre, owner_key(psre))), [(INDET, "NO_POE")])


CORPUS: dict[str, Callable[[EmbeddedPSrE, FakeClock, Path], Case]] = {
    "backdated token from untrusted TSA after revocation": _forged_after_revocation,
    "revoked signer without timestamp": _revoked_without_timestamp,
    "expired signer": _expired_signer,
    "unknown root": _unknown_root,
    "self-signed signer": _self_signed,
    "content changed in a later revision": _content_changed_later,
    "later revision only adds a signature": _second_signature_only,
    "later revision overlays the page (shadow attack)": _shadow_overlay,
    "signature bytes tampered": _signature_bytes_tampered,
    "two signatures, one broken": _two_signatures_one_broken,
    "document timestamp broken": _document_timestamp_broken,
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_hostile_corpus_gets_its_expected_indication_and_adesverify_agrees(
    name: str, psre: EmbeddedPSrE, clock: FakeClock, tmp_path: Path
) -> None:
    case = CORPUS[name](psre, clock, tmp_path)
    roots = case.roots_pem or psre.root_certificate_pem()
    report = validate_pdf(case.pdf, roots, psre)
    got = [(s.indication, s.sub_indication) for s in report.signatures]
    oracle = adesverify(case.pdf, roots, _material_for(psre, case.pdf))
    assert got == case.expected
    assert report.valid is all(main == PASSED for main, _ in got)
    for (main, sub), (oracle_main, _, oracle_bottom_line) in zip(got, oracle, strict=True):
        if sub == "HASH_FAILURE" and oracle_main == PASSED:
            # Changed in a later revision: pyHanko's diff analysis (its bottom line) rejects it too.
            assert not oracle_bottom_line
        else:
            assert oracle_main == main


def _material_for(psre: EmbeddedPSrE, pdf: bytes) -> RevocationMaterial:
    """The same current CRLs/OCSP our validator gets from the PSrE, for every signer of the file."""
    crls: list[bytes] = []
    ocsps: list[bytes] = []
    try:
        signers = [e.signer_cert for e in PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures]
    except Exception:  # noqa: BLE001 - an unreadable file has no signers to fetch status for
        signers = []
    for cert in signers:
        material = psre.revocation_material(x509.load_der_x509_certificate(cert.dump()))
        crls += material.crls
        ocsps += material.ocsps
    return RevocationMaterial(crls=crls, ocsps=ocsps)


@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated_signed_file_is_never_valid(psre: EmbeddedPSrE, keep: float) -> None:
    signed = _lta(psre, owner_key(psre))
    truncated = signed[: int(len(signed) * keep)]
    report = validate_pdf(truncated, psre.root_certificate_pem(), psre)
    assert not report.valid and report.indication != PASSED
    assert report.simple_verdict in {"Tidak sah", "Tidak dapat ditentukan"}
    try:
        oracle = adesverify(truncated, psre.root_certificate_pem(), _material_for(psre, truncated))
    except Exception:  # noqa: BLE001 - pyHanko gives no indication for a file it cannot read
        oracle = []
    assert all(main != PASSED for main, _, _ in oracle)


def test_not_a_pdf_and_unsigned_pdf_cannot_be_determined(psre: EmbeddedPSrE) -> None:
    junk = validate_pdf(b"%PDF-1.7\n bukan pdf", psre.root_certificate_pem())
    assert not junk.is_pdf and (junk.indication, junk.sub_indication) == (INDET, "FORMAT_FAILURE")
    unsigned = validate_pdf(one_page_pdf(), psre.root_certificate_pem())
    assert unsigned.is_pdf and (unsigned.indication, unsigned.sub_indication) == (INDET, "SIGNED_DATA_NOT_FOUND")
    assert unsigned.simple_verdict == "Tidak dapat ditentukan" and unsigned.verdict == "Tidak ada tanda tangan"


def test_document_timestamp_from_untrusted_tsa_is_no_proof_of_existence(psre: EmbeddedPSrE, clock: FakeClock) -> None:
    key, real_now = _revoked_an_hour_ago(psre, clock)
    signed = sign_pdf(one_page_pdf(), key, reason="r", location="l")
    forged = rogue_timestamper(lambda: real_now - timedelta(minutes=90))
    stamped = PdfTimeStamper(forged).timestamp_pdf(IncrementalPdfFileWriter(io.BytesIO(signed)), "sha256")
    report = validate_pdf(stamped.getvalue(), psre.root_certificate_pem(), psre)
    sig, stamp = report.signatures[0], report.document_timestamps[0]
    assert not report.valid and sig.revocation_status == "revoked" and sig.best_proven_time is None
    assert not stamp.timestamped and "tidak diakui" in stamp.timestamp_reason


def test_valid_b_lta_signature_reports_level_scope_and_wib_times(psre: EmbeddedPSrE) -> None:
    report = validate_pdf(_lta(psre, owner_key(psre)), psre.root_certificate_pem(), psre)
    sig = report.signatures[0]
    assert report.simple_verdict == "Sah" and (sig.indication, sig.sub_indication) == (PASSED, None)
    assert sig.level == "B-LTA" and sig.best_proven_time_wib and sig.best_proven_time_wib.endswith("WIB")
    assert sig.scope["pages"] == 1 and sig.scope["later_revisions"] >= 1
    assert sig.scope["modification_label"].startswith("Hanya penambahan data validasi")
    assert all(block.ok for block in sig.building_blocks) and len(sig.building_blocks) == 8
    assert report.document_timestamps[0].timestamped


def test_etsi_xml_report_is_well_formed_namespaced_and_carries_indications(psre: EmbeddedPSrE) -> None:
    first = _lta(psre, owner_key(psre, "a"))
    report = validate_pdf(replace_page_content(first, b"PALSU"), psre.root_certificate_pem(), psre)
    root = ElementTree.fromstring(etsi_xml(report))
    ns = {"v": "http://uri.etsi.org/19102/v1.2.1#", "ds": "http://www.w3.org/2000/09/xmldsig#"}
    assert root.tag == "{http://uri.etsi.org/19102/v1.2.1#}ValidationReport"
    signature = root.findall("v:SignatureValidationReport", ns)[0]
    status = signature.find("v:SignatureValidationStatus", ns)
    assert status is not None
    assert status.findtext("v:MainIndication", namespaces=ns) == "urn:etsi:019102:mainindication:total-failed"
    assert status.findtext("v:SubIndication", namespaces=ns) == "urn:etsi:019102:subindication:HASH_FAILURE"
    assert "diubah" in "".join(status.itertext())
    assert signature.findtext("v:SignerInformation/v:Signer", namespaces=ns)
    assert signature.find("v:SignatureIdentifier/v:DigestAlgAndValue/ds:DigestValue", ns) is not None
    assert signature.findtext("v:ValidationTimeInfo/v:ValidationTime", namespaces=ns, default="").endswith("Z")
    unsigned = ElementTree.fromstring(etsi_xml(validate_pdf(one_page_pdf(), psre.root_certificate_pem())))
    assert (
        unsigned.findtext(".//v:SubIndication", namespaces=ns) == "urn:etsi:019102:subindication:SIGNED_DATA_NOT_FOUND"
    )


def test_token_from_our_own_ra_seal_is_no_timestamp_without_the_timestamping_eku(
    psre: EmbeddedPSrE, clock: FakeClock
) -> None:
    key, real_now = _revoked_an_hour_ago(psre, clock)
    # The RA seal chains to our root but may not stamp time (no id-kp-timeStamping).
    seal_as_tsa = PsreTimeStamper(psre._service("ra_seal"), psre._chain(), clock=lambda: real_now - timedelta(hours=2))
    signed = sign_pdf(one_page_pdf(), key, reason="r", location="l", timestamper=seal_as_tsa)
    sig = validate_pdf(signed, psre.root_certificate_pem(), psre).signatures[0]
    assert not sig.valid and not sig.timestamped and sig.revocation_status == "revoked"
    assert "tidak diakui" in sig.timestamp_reason


def test_a_foreign_tsa_counts_only_when_configured_as_an_anchor(psre: EmbeddedPSrE) -> None:
    tsa, tsa_root, tsa_crl = foreign_tsa_with_crl(lambda: datetime.now(UTC))
    signed = sign_pdf(one_page_pdf(), owner_key(psre), reason="r", location="l", timestamper=tsa)
    ours = psre.root_certificate_pem()
    without = validate_pdf(signed, ours, psre).signatures[0]
    assert without.valid and not without.timestamped and without.level == "B-B"
    # Configured, but nothing says whether its certificate is revoked: still no proof of existence.
    unknown = validate_pdf(signed, ours, psre, tsa_roots_pem=[ours, tsa_root]).signatures[0]
    assert unknown.valid and not unknown.timestamped and "status pencabutan sertifikat TSA" in unknown.timestamp_reason
    material = psre.crl_material()  # the signer's status from our CRLs, the TSA's from its own
    with_crl = RevocationMaterial(crls=[*material.crls, tsa_crl])
    with_anchor = validate_pdf(signed, ours, with_crl, tsa_roots_pem=[ours, tsa_root]).signatures[0]
    assert with_anchor.valid and with_anchor.timestamped and with_anchor.level == "B-T"
    assert with_anchor.best_proven_time is not None and "tepercaya" in with_anchor.timestamp_reason


def test_token_from_a_trusted_tsa_whose_certificate_had_expired_at_the_token_time_does_not_count(
    psre: EmbeddedPSrE, clock: FakeClock
) -> None:
    key, real_now = _revoked_an_hour_ago(psre, clock)
    tsa, tsa_root = foreign_tsa(lambda: real_now - timedelta(minutes=90), expired_days_ago=10)
    signed = sign_pdf(one_page_pdf(), key, reason="r", location="l", timestamper=tsa)
    ours = psre.root_certificate_pem()
    sig = validate_pdf(signed, ours, psre, tsa_roots_pem=[ours, tsa_root]).signatures[0]
    assert not sig.valid and not sig.timestamped and sig.revocation_status == "revoked"
    assert "tidak diakui" in sig.timestamp_reason
