"""Tests of PAdES signing and validation, cross-checked with poppler's pdfsig (NSS) where it is installed."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from pki_builders import FakeClock, make_csr, make_key, make_subject, new_psre, one_page_pdf
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from pki.embedded import EmbeddedPSrE
from pki.signing import PdfSigningKey, sign_pdf
from pki.validation import CHANGED, NO_SIGNATURE, NOT_A_PDF, REVOKED, UNTRUSTED, VALID, validate_pdf

PDFSIG, CERTUTIL = shutil.which("pdfsig"), shutil.which("certutil")


def _owner_key(psre: EmbeddedPSrE, kind: str = "ec") -> PdfSigningKey:
    key = make_key(kind)
    subject_id = psre.register_subject(make_subject(), f"reg-{kind}")
    issued = psre.issue_from_csr(subject_id, make_csr(key), f"issue-{kind}")
    chain = x509.load_pem_x509_certificates(issued.chain_pem.encode())
    return PdfSigningKey(key, x509.load_pem_x509_certificate(issued.certificate_pem.encode()), chain)


def _full(psre: EmbeddedPSrE, key: PdfSigningKey, pdf: bytes | None = None) -> bytes:
    return sign_pdf(
        pdf or one_page_pdf(), key, reason="Menyetujui", location="Kota Pekalongan",
        timestamper=psre.timestamper(), revocation=psre,
    )


def _pdfsig(pdf: bytes, psre: EmbeddedPSrE, tmp_path: Path) -> str:
    (tmp_path / "doc.pdf").write_bytes(pdf)
    args = [PDFSIG or "pdfsig", "-no-ocsp"]
    if CERTUTIL:
        # A throw-away NSS database that trusts only our root, so pdfsig checks the chain too.
        nss = tmp_path / "nss"
        nss.mkdir(exist_ok=True)
        (tmp_path / "root.pem").write_text(psre.root_certificate_pem())
        subprocess.run([CERTUTIL, "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True)
        subprocess.run(
            [CERTUTIL, "-A", "-n", "root", "-t", "CT,C,C", "-i", str(tmp_path / "root.pem"), "-d", f"sql:{nss}"],
            check=True, capture_output=True,
        )
        args += ["-nssdir", f"sql:{nss}"]
    done = subprocess.run([*args, str(tmp_path / "doc.pdf")], capture_output=True, text=True, timeout=60)
    return done.stdout


def _next_second(clock: FakeClock) -> None:
    # CRL/OCSP and timestamp times have one-second precision: keep "before" and "after" distinct.
    time.sleep(1.1)
    clock.now = datetime.now(UTC)


@pytest.mark.skipif(PDFSIG is None, reason="pdfsig missing: run scripts/setup-system.sh (poppler-utils)")
@pytest.mark.parametrize("kind", ["ec", "rsa2048"])
def test_signed_pdf_is_valid_for_us_and_for_pdfsig(psre: EmbeddedPSrE, tmp_path: Path, kind: str) -> None:
    signed = _full(psre, _owner_key(psre, kind))
    report = validate_pdf(signed, psre.root_certificate_pem(), psre)
    assert report.valid and report.verdict == VALID
    sig = report.signatures[0]
    assert sig.timestamped and sig.chain_trusted and sig.revocation_status == "good" and sig.intact
    output = _pdfsig(signed, psre, tmp_path)
    assert "Signature is Valid." in output
    assert "ETSI.CAdES.detached" in output
    if CERTUTIL:
        assert "Certificate is Trusted." in output


def test_signature_is_pades_b_lta_with_embedded_revocation_info(psre: EmbeddedPSrE) -> None:
    signed = _full(psre, _owner_key(psre))
    reader = PdfFileReader(io.BytesIO(signed))
    dss = reader.root["/DSS"]
    # OCSP answers for the signer and the TSA; the only CRL is the root's (the issuing CA's lists every
    # revoked certificate and is not embedded).
    assert len(dss["/CRLs"]) == 1 and len(dss["/OCSPs"]) >= 2
    assert len(reader.embedded_timestamp_signatures) == 1  # the document timestamp of B-LTA
    # The report is what the validation API returns: it must survive json.dumps.
    assert json.loads(json.dumps(validate_pdf(signed, psre.root_certificate_pem()).to_dict()))["verdict"] == VALID


def test_visible_stamp_carries_name_and_reason(psre: EmbeddedPSrE) -> None:
    signed = _full(psre, _owner_key(psre))
    field = PdfFileReader(io.BytesIO(signed)).embedded_regular_signatures[0].sig_field
    x1, y1, x2, y2 = (float(v) for v in field["/Rect"])
    assert x2 - x1 > 100 and y2 - y1 > 40
    text = field["/AP"]["/N"].get_object().data
    assert b"(Siti Rahmawati)" in text and b"Menyetujui" in text and b"Waktu" in text


def test_byte_tampered_pdf_is_changed(psre: EmbeddedPSrE) -> None:
    signed = bytearray(_full(psre, _owner_key(psre)))
    at = signed.find(b"Surat Keputusan")
    signed[at : at + 5] = b"SURAT"
    assert validate_pdf(bytes(signed), psre.root_certificate_pem(), psre).verdict == CHANGED


def test_incrementally_changed_pdf_is_changed(psre: EmbeddedPSrE) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(_full(psre, _owner_key(psre))))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 30 Tf 72 500 Td (PALSU) Tj ET"))
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    report = validate_pdf(out.getvalue(), psre.root_certificate_pem(), psre)
    assert report.verdict == CHANGED and report.signatures[0].docmdp_ok is False


def test_signer_revoked_before_signing_is_revoked(psre: EmbeddedPSrE, clock: FakeClock) -> None:
    key = _owner_key(psre)
    psre.revoke(format(key.certificate.serial_number, "x"), "keyCompromise", "rv-1")
    _next_second(clock)
    # Without LTV: pyHanko refuses to embed revocation info proving the signer is revoked.
    signed = sign_pdf(one_page_pdf(), key, reason="r", location="l", timestamper=psre.timestamper())
    report = validate_pdf(signed, psre.root_certificate_pem(), psre)
    assert report.verdict == REVOKED and report.signatures[0].revocation_status == "revoked"


def test_revocation_after_the_timestamped_signature_keeps_it_valid(psre: EmbeddedPSrE, clock: FakeClock) -> None:
    key = _owner_key(psre)
    signed = _full(psre, key)
    _next_second(clock)
    psre.revoke(format(key.certificate.serial_number, "x"), "superseded", "rv-1")
    assert validate_pdf(signed, psre.root_certificate_pem(), psre).verdict == VALID


def test_unknown_root_does_not_chain(psre: EmbeddedPSrE, tmp_path: Path, kek: str) -> None:
    other = new_psre(tmp_path / "other", [kek])
    other.initialise()
    signed = _full(other, _owner_key(other))
    report = validate_pdf(signed, psre.root_certificate_pem(), psre)
    assert report.verdict == UNTRUSTED and not report.signatures[0].chain_trusted


def test_unsigned_and_non_pdf_files_get_a_verdict(psre: EmbeddedPSrE) -> None:
    assert validate_pdf(one_page_pdf(), psre.root_certificate_pem()).verdict == NO_SIGNATURE
    for junk in (b"", b"hello", b"%PDF-1.7\n garbage", bytes(range(256))):
        report = validate_pdf(junk, psre.root_certificate_pem())
        assert report.verdict == NOT_A_PDF and not report.is_pdf


def test_ra_seal_signs_as_the_ra_after_an_owner(psre: EmbeddedPSrE) -> None:
    owner_signed = _full(psre, _owner_key(psre))
    sealed = psre.ra_seal().seal_pdf(owner_signed)
    report = validate_pdf(sealed, psre.root_certificate_pem(), psre)
    assert report.verdict == VALID and report.signature_count == 2
    assert "Otoritas Pendaftaran" in (report.signatures[1].signer_name or "")
