"""Benchmark of the embedded PSrE: certificates/s and PDFs signed/s, each beside the bare library."""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import fields, signers

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pki.ca import new_serial, signature_hash  # noqa: E402 - after the path fix-up, as a script
from pki.embedded import EmbeddedPSrE  # noqa: E402
from pki.psre import SubjectInfo  # noqa: E402
from pki.signing import PdfSigningKey, sign_pdf  # noqa: E402

SUBJECT = SubjectInfo(
    "Siti Rahmawati", "3375014507900002", "siti@pekalongankota.go.id", "Diskominfo", "Pranata Komputer"
)


def one_page_pdf() -> bytes:
    """A minimal one-page A4 PDF with a line of text."""
    writer = PdfFileWriter()
    font = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Font"),
            generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
            generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
        }
    )
    fonts = generic.DictionaryObject({generic.NameObject("/F1"): writer.add_object(font)})
    resources = generic.DictionaryObject({generic.NameObject("/Font"): fonts})
    content = generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 760 Td (Surat Keputusan) Tj ET")
    writer.insert_page(PageObject(contents=writer.add_object(content), media_box=[0, 0, 595, 842], resources=resources))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def rate(label: str, count: int, work: Callable[[int], object]) -> float:
    """Run `work(i)` count times (after one warm-up call) and return operations per second."""
    work(-1)
    start = time.perf_counter()
    for i in range(count):
        work(i)
    per_second = count / (time.perf_counter() - start)
    print(f"  {label:<58} {per_second:9.1f}/s", file=sys.stderr)
    return per_second


def csr_for(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    """A CSR for `key`."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def bench_issuance(psre: EmbeddedPSrE, count: int) -> tuple[float, float]:
    """EmbeddedPSrE.issue_from_csr vs a bare CertificateBuilder.sign with the same issuing key."""
    subject_id = psre.register_subject(SUBJECT, "bench-reg")
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(count + 2)]
    csrs = [csr_for(k) for k in keys]
    issuing = psre._ca()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")])

    def bare(i: int) -> object:
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuing.certificate.subject)
            .public_key(keys[i].public_key())
            .serial_number(new_serial())
            .not_valid_before(issuing.certificate.not_valid_before_utc)
            .not_valid_after(issuing.certificate.not_valid_after_utc)
            .sign(issuing.private_key, signature_hash(issuing.private_key))
        )

    ours = rate(
        "EmbeddedPSrE.issue_from_csr (CSR check, profile, SQLite)",
        count,
        lambda i: psre.issue_from_csr(subject_id, csrs[i], f"bench-issue-{i}"),
    )
    raw = rate("cryptography CertificateBuilder.sign (same CA key)", count, bare)
    return ours, raw


def bench_signing(psre: EmbeddedPSrE, count: int, workdir: Path, profile: bool) -> dict[str, float]:
    """Our prepared signer vs bare SimpleSigner.load + sign_pdf, RSA-2048, one-page PDF."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject_id = psre.register_subject(SUBJECT, "bench-reg")
    issued = psre.issue_from_csr(subject_id, csr_for(key), "bench-rsa")
    (workdir / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (workdir / "cert.pem").write_text(issued.certificate_pem)
    (workdir / "chain.pem").write_text(issued.chain_pem)
    pdf = one_page_pdf()
    cert = x509.load_pem_x509_certificate(issued.certificate_pem.encode())
    prepared = PdfSigningKey(key, cert, x509.load_pem_x509_certificates(issued.chain_pem.encode()))

    def bare(_: int) -> bytes:
        signer = signers.SimpleSigner.load(
            str(workdir / "key.pem"), str(workdir / "cert.pem"), ca_chain_files=(str(workdir / "chain.pem"),)
        )
        meta = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES)
        return signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer).getvalue()

    def ours(_: int) -> bytes:
        return sign_pdf(pdf, prepared, reason="Menyetujui", location="Kota Pekalongan", visible=False)

    results = {
        "bare": rate("bare pyHanko SimpleSigner.load + sign_pdf (PAdES B-B)", count, bare),
        "ours": rate("pki.signing.sign_pdf, prepared key (PAdES B-B)", count, ours),
        "ours_visible": rate(
            "pki.signing.sign_pdf, prepared key, visible stamp (B-B)",
            count,
            lambda _: sign_pdf(pdf, prepared, reason="r", location="l"),
        ),
        "ours_lta": rate(
            "pki.signing.sign_pdf + TSA + LTV (PAdES B-LTA, visible)",
            max(count // 4, 5),
            lambda _: sign_pdf(
                pdf, prepared, reason="r", location="l", timestamper=psre.timestamper(), revocation=psre
            ),
        ),
    }
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(20):
            ours(i)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(15)
    return results


def main() -> None:
    """Run both benchmarks and print a Markdown table on stdout."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--certs", type=int, default=200, help="certificates to issue per side")
    parser.add_argument("--pdfs", type=int, default=40, help="PDFs to sign per side")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of our signing path")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        psre = EmbeddedPSrE(Path(tmp) / "psre", [Fernet.generate_key().decode()], "http://127.0.0.1:5000/pki")
        psre.initialise()
        print("measuring (stderr shows progress)…", file=sys.stderr)
        ours_ca, raw_ca = bench_issuance(psre, args.certs)
        signing = bench_signing(psre, args.pdfs, Path(tmp), args.profile)
    rows = [
        ("certificates issued (CA key EC P-384, leaf EC P-256)", ours_ca, raw_ca),
        ("PDFs signed, RSA-2048, PAdES B-B, invisible", signing["ours"], signing["bare"]),
        ("PDFs signed, RSA-2048, PAdES B-B, visible stamp", signing["ours_visible"], signing["bare"]),
        ("PDFs signed, RSA-2048, B-LTA (TSA + CRL/OCSP embedded)", signing["ours_lta"], signing["bare"]),
    ]
    print("| operation | ours /s | bare library /s | ours ÷ bare |")
    print("|---|---:|---:|---:|")
    for label, ours, bare in rows:
        print(f"| {label} | {ours:.1f} | {bare:.1f} | {ours / bare:.2f}× |")


if __name__ == "__main__":
    main()
