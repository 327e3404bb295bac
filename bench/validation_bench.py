"""Benchmark: validating a PDF with 5 PAdES B-LTA signatures offline, ours against bare pyHanko, interleaved."""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
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
from tests.pki.pki_builders import bulk_revoke, make_csr, make_key, make_subject, one_page_pdf


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


def _time(run: object, pdf: bytes, root_pem: str) -> tuple[float, str]:
    started = time.perf_counter()
    verdict = run(pdf, root_pem)  # type: ignore[operator]
    return time.perf_counter() - started, verdict


def compare(pdf: bytes, root_pem: str, runs: int, rounds: int, psre: EmbeddedPSrE) -> dict[str, list[float]]:
    """Per run, `rounds` validations per side, the side that goes first alternating; return per-run medians.

    A third side, "app", is ours as `/validasi` runs it: the PSrE as revocation source (fresh OCSP answers).
    """
    result: dict[str, list[float]] = {"ours": [], "bare": [], "app": [], "ratio": [], "app ratio": []}

    def app(document: bytes, root: str) -> str:
        return validate_pdf(document, root, psre).simple_verdict

    sides = [("ours", ours), ("bare", bare), ("app", app)]
    for _, validator in sides:
        validator(pdf, root_pem)  # warm-up: imports and first-use caches on every side
    for run in range(runs):
        spent: dict[str, list[float]] = {"ours": [], "bare": [], "app": []}
        for index in range(rounds):
            for name, validator in sides if (run + index) % 2 == 0 else sides[::-1]:
                seconds, verdict = _time(validator, pdf, root_pem)
                assert verdict == "Sah", (name, verdict)
                spent[name].append(seconds)
        for name in ("ours", "bare", "app"):
            result[name].append(statistics.median(spent[name]))
        result["ratio"].append(result["ours"][-1] / result["bare"][-1])
        result["app ratio"].append(result["app"][-1] / result["bare"][-1])
    return result


def main() -> None:
    """Build the PDFs, then time ours and bare pyHanko interleaved; print medians and ranges as Markdown."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signatures", type=int, default=5)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5, help="validations per side within a run")
    parser.add_argument("--revoked", type=int, default=0, help="certificates the PSrE has revoked before signing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        psre = EmbeddedPSrE(Path(state), [Fernet.generate_key().decode()], "http://127.0.0.1:5000/pki", scrypt_n=2**10)
        psre.initialise()
        if args.revoked:
            bulk_revoke(psre, args.revoked)
        documents = {
            "RA-sealed one-page PDF (B-LTA)": psre.ra_seal().seal_pdf(one_page_pdf()),
            f"{args.signatures} B-LTA signatures": five_lta_signatures(psre, args.signatures),
        }
        root_pem = psre.root_certificate_pem()
        print(f"{args.runs} runs x {args.rounds} interleaved validations per side", file=sys.stderr)
        print("| document | bytes | ours ms | bare pyHanko ms | ours ÷ bare | app (with source) ÷ bare |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, pdf in documents.items():
            found = compare(pdf, root_pem, args.runs, args.rounds, psre)
            cells = [_cell([1000 * v for v in found[k]], "{:.0f}") for k in ("ours", "bare")]
            ratios = [_cell(found[k], "{:.2f}×") for k in ("ratio", "app ratio")]
            print(f"| {label} | {len(pdf):,} | {cells[0]} | {cells[1]} | {ratios[0]} | {ratios[1]} |")
            calls = {name: python_calls(run, pdf, root_pem) for name, run in (("ours", ours), ("bare", bare))}
            print(
                f"{label}: Python calls per validation, ours {calls['ours']:,}, bare {calls['bare']:,}", file=sys.stderr
            )


def python_calls(run: object, pdf: bytes, root_pem: str) -> int:
    """Python function calls of one validation (cProfile): a measure of work that load does not disturb."""
    profile = cProfile.Profile()
    profile.enable()
    run(pdf, root_pem)  # type: ignore[operator]
    profile.disable()
    return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]


def _cell(values: list[float], form: str) -> str:
    """Median (min–max) of per-run values."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{form.format(mid)} ({form.format(low).rstrip('×')}–{form.format(high)})"


if __name__ == "__main__":
    main()
