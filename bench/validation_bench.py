"""Benchmark: validating a PDF with 5 PAdES B-LTA signatures offline, ours against bare pyHanko, interleaved."""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pki.embedded import EmbeddedPSrE
from pki.signing import PdfSigningKey, sign_pdf
from pki.validation import validate_pdf
from tests.pki.pki_builders import make_csr, make_key, make_subject, one_page_pdf


def five_lta_signatures(psre: EmbeddedPSrE, count: int) -> bytes:
    """Sign one page `count` times, each as PAdES B-LTA (timestamp, DSS with CRLs/OCSP, document timestamp)."""
    pdf = one_page_pdf()
    for index in range(count):
        key = make_key("ec")
        subject_id = psre.register_subject(make_subject(nik=f"33750145079{index:05d}"), f"reg-{index}")
        issued = psre.issue_from_csr(subject_id, make_csr(key), f"issue-{index}")
        chain = x509.load_pem_x509_certificates(issued.chain_pem.encode())
        signing_key = PdfSigningKey(key, x509.load_pem_x509_certificate(issued.certificate_pem.encode()), chain)
        pdf = sign_pdf(pdf, signing_key, reason="Menyetujui", location="Kota Pekalongan",
                       timestamper=psre.timestamper(), revocation=psre)  # fmt: skip
    return pdf


def ours(pdf: bytes, root_pem: str) -> str:
    """Our validator, offline: only the revocation data embedded in the PDF (no source given)."""
    return validate_pdf(pdf, root_pem).simple_verdict


def bare(pdf: bytes, root_pem: str) -> str:
    """Bare pyHanko doing the same work: every signature and document timestamp, DSS data, diff analysis on."""
    root = asn1_x509.Certificate.load(
        x509.load_pem_x509_certificate(root_pem.encode()).public_bytes(serialization.Encoding.DER)
    )
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    dss = DocumentSecurityStore.read_dss(reader)
    kwargs = {"trust_roots": [root], "allow_fetching": False, "revocation_mode": "hard-fail"}
    ok = True
    for stamp in reader.embedded_timestamp_signatures:
        status = validate_pdf_timestamp(stamp, validation_context=dss.as_validation_context(kwargs))
        ok &= bool(status.intact and status.valid and status.trusted)
    for signature in reader.embedded_regular_signatures:
        ok &= validate_pdf_signature(signature, signer_validation_context=dss.as_validation_context(kwargs)).bottom_line
    return "Sah" if ok else "Tidak sah"


def main() -> None:
    """Build the PDF, then time ours and bare pyHanko alternately; print ranges as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signatures", type=int, default=5)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        psre = EmbeddedPSrE(Path(state), [Fernet.generate_key().decode()], "http://127.0.0.1:5000/pki", scrypt_n=2**10)
        psre.initialise()
        pdf = five_lta_signatures(psre, args.signatures)
        root_pem = psre.root_certificate_pem()
    timings: dict[str, list[float]] = {"ours": [], "bare pyHanko": []}
    verdicts: dict[str, str] = {}
    for _ in range(args.runs):
        for name, run in (("ours", ours), ("bare pyHanko", bare)):
            started = time.perf_counter()
            verdicts[name] = run(pdf, root_pem)
            timings[name].append(time.perf_counter() - started)
    print(f"PDF: {len(pdf)} bytes, {args.signatures} B-LTA signatures, {args.runs} interleaved runs", file=sys.stderr)
    print("| validator | min s | median s | max s | verdict |")
    print("|---|---:|---:|---:|---|")
    for name, values in timings.items():
        low, mid, high = min(values), statistics.median(values), max(values)
        print(f"| {name} | {low:.2f} | {mid:.2f} | {high:.2f} | {verdicts[name]} |")


if __name__ == "__main__":
    main()
