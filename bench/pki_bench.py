"""Benchmark of the embedded PSrE beside floors that do the same work with the bare libraries.

Each floor does what our code does, without our layers: the issuance floor parses and verifies the
CSR, builds the same profile (subject and extensions as our certificate), signs with the same CA
key and stores the certificate row in an equivalent SQLite table; the signing floor is bare pyHanko
(SimpleSigner with the key loaded once) at the same PAdES level, with the same TSA and the same
revocation material embedded. Ours and the floor run interleaved in alternating batches inside each
run; the report gives the median and the range (min-max) over runs of the ratio ours / floor.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import logging
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pki import store
from pki.ca import new_serial, signature_hash
from pki.embedded import EmbeddedPSrE
from pki.psre import SubjectInfo
from pki.signing import STAMP_STYLE, PdfSigningKey, sign_pdf

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


def csr_for(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    """A CSR for `key`."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


Work = Callable[[int], object]


def interleaved(ours: Work, floor: Work, count: int, batch: int, offset: int) -> tuple[float, float]:
    """Run `count` operations per side in alternating batches; return (ours/s, floor/s).

    The side that goes first alternates from batch to batch so neither always follows the other.
    `offset` numbers the operations so every call gets its own index (fresh CSR, idempotency key).
    """
    spent = {"ours": 0.0, "floor": 0.0}
    sides = [("ours", ours), ("floor", floor)]
    done = 0
    turn = 0
    while done < count:
        size = min(batch, count - done)
        for name, work in sides if turn % 2 == 0 else sides[::-1]:
            start = time.perf_counter()
            for i in range(offset + done, offset + done + size):
                work(i)
            spent[name] += time.perf_counter() - start
        done += size
        turn += 1
    return count / spent["ours"], count / spent["floor"]


class IssuanceFloor:
    """Issue like EmbeddedPSrE.issue_from_csr with cryptography and sqlite3 only."""

    def __init__(self, psre: EmbeddedPSrE, template: x509.Certificate, db_path: Path) -> None:
        """Take the CA key and the profile (subject, fixed extensions) from a certificate of ours."""
        self.issuing = psre._ca()
        self.subject = template.subject
        # Every extension but the SKI is the same for every leaf of this subject; the SKI is per key.
        self.extensions = [e for e in template.extensions if not isinstance(e.value, x509.SubjectKeyIdentifier)]
        self.validity = template.not_valid_after_utc - template.not_valid_before_utc
        self.db_path = db_path
        conn = sqlite3.connect(db_path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(store.SCHEMA)  # the embedded PSrE's own tables, certificates among them
        conn.close()

    def issue(self, csr_pem: str) -> str:
        """Parse and verify the CSR, build and sign the certificate, store its row; return its PEM."""
        csr = x509.load_pem_x509_csr(csr_pem.encode("ascii"))
        if not csr.is_signature_valid:
            raise ValueError("CSR signature does not verify")
        public_key = csr.public_key()
        spki = hashlib.sha256(
            public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        ).hexdigest()
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(self.subject)
            .issuer_name(self.issuing.certificate.subject)
            .public_key(public_key)
            .serial_number(new_serial())
            .not_valid_before(now)
            .not_valid_after(min(now + self.validity, self.issuing.certificate.not_valid_after_utc))
        )
        for ext in self.extensions:
            builder = builder.add_extension(ext.value, ext.critical)
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        cert = builder.sign(self.issuing.private_key, signature_hash(self.issuing.private_key))
        pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        conn = sqlite3.connect(self.db_path, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            if conn.execute("SELECT 1 FROM certificates WHERE spki_sha256 = ?", (spki,)).fetchone():
                raise ValueError("key reused")
            conn.execute(
                "INSERT INTO certificates (serial_hex, subject_id, spki_sha256, pem, not_before, not_after,"
                " issued_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'good')",
                (
                    format(cert.serial_number, "x"),
                    "bench",
                    spki,
                    pem,
                    cert.not_valid_before_utc.isoformat(),
                    cert.not_valid_after_utc.isoformat(),
                    now.isoformat(),
                ),
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        return pem


def bench_issuance(psre: EmbeddedPSrE, workdir: Path, count: int, runs: int, batch: int) -> list[float]:
    """EmbeddedPSrE.issue_from_csr vs IssuanceFloor, interleaved; return ours/floor per run."""
    subject_id = psre.register_subject(SUBJECT, "bench-reg")
    total = count * runs + 1
    # Every certified key must be fresh (both sides refuse a reused key), so one CSR per call and side.
    csrs = {side: [csr_for(ec.generate_private_key(ec.SECP256R1())) for _ in range(total)] for side in ("o", "f")}
    template = x509.load_pem_x509_certificate(
        psre.issue_from_csr(subject_id, csrs["o"][-1], "bench-template").certificate_pem.encode()
    )
    floor = IssuanceFloor(psre, template, workdir / "floor.sqlite")
    floor.issue(csrs["f"][-1])  # warm-up
    ratios = []
    for run in range(runs):
        ours_rate, floor_rate = interleaved(
            lambda i: psre.issue_from_csr(subject_id, csrs["o"][i], f"bench-issue-{i}"),
            lambda i: floor.issue(csrs["f"][i]),
            count,
            batch,
            run * count,
        )
        ratios.append(ours_rate / floor_rate)
        print(f"  issuance run {run + 1}: ours {ours_rate:.1f}/s, floor {floor_rate:.1f}/s", file=sys.stderr)
    return ratios


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def bench_signing(psre: EmbeddedPSrE, count: int, runs: int, batch: int, profile: bool) -> dict[str, list[float]]:
    """pki.signing.sign_pdf vs bare pyHanko (key loaded once) at B-B invisible, B-B visible and B-LTA."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject_id = psre.register_subject(SUBJECT, "bench-reg")
    issued = psre.issue_from_csr(subject_id, csr_for(key), "bench-rsa")
    pdf = one_page_pdf()
    cert = x509.load_pem_x509_certificate(issued.certificate_pem.encode())
    chain = x509.load_pem_x509_certificates(issued.chain_pem.encode())
    prepared = PdfSigningKey(key, cert, chain)
    key_der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # The floor: pyHanko's own SimpleSigner, built once from the loaded key, certificate and chain.
    simple = signers.SimpleSigner(
        signing_cert=_asn1(cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in chain]),
    )
    timestamper = psre.timestamper()

    def floor(visible: bool, lta: bool) -> Work:
        def work(_: int) -> bytes:
            context = None
            if lta:
                material = psre.revocation_material(cert)
                context = ValidationContext(
                    trust_roots=[_asn1(chain[-1])],
                    other_certs=[_asn1(c) for c in chain],
                    crls=material.crls,
                    ocsps=material.ocsps,
                    allow_fetching=False,
                    revocation_mode="hard-fail",
                )
            meta = signers.PdfSignatureMetadata(
                field_name="Signature1",
                md_algorithm="sha256",
                reason="r",
                location="l",
                subfilter=fields.SigSeedSubFilter.PADES,
                embed_validation_info=lta,
                use_pades_lta=lta,
                validation_context=context,
            )
            spec = fields.SigFieldSpec("Signature1", on_page=-1, box=(36, 36, 296, 114)) if visible else None
            pdf_signer = signers.PdfSigner(
                meta,
                signer=simple,
                timestamper=timestamper if lta else None,
                stamp_style=STAMP_STYLE if visible else None,
                new_field_spec=spec,
            )
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
            params = {"reason": "r", "location": "l", "signer": "bench"}
            return pdf_signer.sign_pdf(writer, appearance_text_params=params).getvalue()

        return work

    def ours(visible: bool, lta: bool) -> Work:
        if lta:
            return lambda _: sign_pdf(
                pdf, prepared, reason="r", location="l", visible=visible, timestamper=timestamper, revocation=psre
            )
        return lambda _: sign_pdf(pdf, prepared, reason="r", location="l", visible=visible)

    cases = {"bb_invisible": (False, False, count), "bb_visible": (True, False, count), "lta": (True, True, count)}
    results: dict[str, list[float]] = {}
    for name, (visible, lta, n) in cases.items():
        ours_work, floor_work = ours(visible, lta), floor(visible, lta)
        ours_work(-1)
        floor_work(-1)
        results[name] = []
        for run in range(runs):
            ours_rate, floor_rate = interleaved(ours_work, floor_work, n, batch, 0)
            results[name].append(ours_rate / floor_rate)
            print(f"  {name} run {run + 1}: ours {ours_rate:.1f}/s, floor {floor_rate:.1f}/s", file=sys.stderr)
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(20):
            ours(False, False)(i)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(15)
    return results


def summary(ratios: list[float]) -> str:
    """Median and min-max of the ratios, as a table cell."""
    return f"{statistics.median(ratios):.2f}× | {min(ratios):.2f}–{max(ratios):.2f}×"


def main() -> None:
    """Run both benchmarks and print a Markdown table on stdout."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--certs", type=int, default=200, help="certificates to issue per side and run")
    parser.add_argument("--pdfs", type=int, default=40, help="PDFs to sign per side, run and case")
    parser.add_argument("--runs", type=int, default=5, help="runs (the ratio is reported as median and range)")
    parser.add_argument("--batch", type=int, default=10, help="operations per side before switching sides")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of our B-B signing path")
    args = parser.parse_args()
    # Both sides embed revocation info with fetching off on purpose; pyHanko warns about it per PDF.
    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        psre = EmbeddedPSrE(Path(tmp) / "psre", [Fernet.generate_key().decode()], "http://127.0.0.1:5000/pki")
        psre.initialise()
        print("measuring (stderr shows progress)…", file=sys.stderr)
        issuance = bench_issuance(psre, Path(tmp), args.certs, args.runs, args.batch)
        signing = bench_signing(psre, args.pdfs, args.runs, max(1, args.batch // 2), args.profile)
    rows = [
        ("certificates issued (CA key EC P-384, leaf EC P-256)", issuance),
        ("PDFs signed, RSA-2048, PAdES B-B, invisible", signing["bb_invisible"]),
        ("PDFs signed, RSA-2048, PAdES B-B, visible stamp", signing["bb_visible"]),
        ("PDFs signed, RSA-2048, PAdES B-LTA (TSA + CRL/OCSP embedded), visible", signing["lta"]),
    ]
    print(f"runs: {args.runs}, certificates per side and run: {args.certs}, PDFs per side, run and case: {args.pdfs}")
    print()
    print("| operation | ours ÷ floor (median) | range over runs |")
    print("|---|---:|---:|")
    for label, ratios in rows:
        print(f"| {label} | {summary(ratios)} |")


if __name__ == "__main__":
    main()
