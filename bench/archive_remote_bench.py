"""Benchmark: archive timestamp renewal through a remote PSrE that has revoked many certificates (default 10,000).

The remote PSrE is an EmbeddedPSrE behind a local HTTP server (its RA API and its /pki CRL, root CRL and OCSP
endpoints, as in tests/engine/test_remote_revocation.py); the RA side is `HttpPSrE`. One signed PDF (signer
certificate from the remote PSrE, signature timestamp from its TSA) is renewed two ways, interleaved in the
same process (the side that goes first alternates per run):
- **OCSP (now)**: what `renew_long_term_evidence` does now: `archive_revocation_material(...)` for the PDF's
  signer and TSA certificates and the current TSA (OCSP answers, the root's CRL), then the archive timestamp;
- **whole CRLs (before)**: what it did before: `revocation_material()` (the issuing CA's and root's CRLs from
  the distribution points and /api/ra/crl), then the archive timestamp.
Time per renewal covers fetching the revocation data and stamping (HTTP round trips included; the job asks
for the TSA certificate once per run, outside the timing). Reports median and range over runs, the renewed
PDF's size, and that each renewed PDF validates offline with our validator.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from cryptography import x509
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pki import archive
from pki.embedded import EmbeddedPSrE
from pki.http_client import HttpPSrE
from pki.http_server import PsreWsgiApp
from pki.signing import RevocationMaterial, sign_pdf
from pki.validation import validate_pdf
from tests.pki.hostile_builders import owner_key
from tests.pki.pki_builders import bulk_revoke, one_page_pdf


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        """No access log."""


def _serve(psre: EmbeddedPSrE) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """The remote PSrE: /pki/crl, /pki/root-crl and /pki/ocsp as the app serves them, the rest its RA API."""
    api = PsreWsgiApp(psre, "ra-kota", "rahasia-ra")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        body: bytes | None = None
        if path == "/pki/crl":
            body, kind = psre.crl_der(), "application/pkix-crl"
        elif path == "/pki/root-crl":
            body, kind = psre.root_crl_der(), "application/pkix-crl"
        elif path == "/pki/ocsp":
            request = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            body, kind = psre.ocsp_response_der(request), "application/ocsp-response"
        if body is None:
            return api(environ, start_response)  # type: ignore[no-any-return]
        start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]

    return app


def main() -> None:
    """Revoke in bulk, then renew alternately both ways; print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--revoked", type=int, default=10_000, help="certificates revoked before renewing")
    parser.add_argument("--renewals", type=int, default=3, help="renewals per side and run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    server = make_server("127.0.0.1", 0, lambda e, s: [], handler_class=_Quiet)
    url = f"http://127.0.0.1:{server.server_port}"
    with tempfile.TemporaryDirectory() as state:
        psre = EmbeddedPSrE(Path(state), [Fernet.generate_key().decode()], f"{url}/pki", scrypt_n=2**10)
        psre.initialise()
        server.set_app(_serve(psre))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        bulk_revoke(psre, args.revoked)
        print(f"{args.revoked} revoked, issuing CA's CRL {len(psre.crl_der()):,} bytes", file=sys.stderr)
        key = owner_key(psre, "bench")
        pdf = sign_pdf(one_page_pdf(), key, reason="r", location="l", timestamper=psre.timestamper())
        http = HttpPSrE(url, "ra-kota", "rahasia-ra")
        root = x509.load_pem_x509_certificate(http.root_certificate_pem().encode())
        tsa = x509.load_pem_x509_certificate(http.tsa_certificate_pem().encode())  # once per job run

        def ocsp() -> RevocationMaterial:
            return http.archive_revocation_material([*archive.evidence_certificates(pdf), tsa])

        sides: list[tuple[str, Callable[[], RevocationMaterial]]] = [
            ("OCSP answers + root CRL (now)", ocsp),
            ("whole CRLs (before)", http.revocation_material),
        ]
        timings: dict[str, list[float]] = {name: [] for name, _ in sides}
        sizes: dict[str, int] = {}
        verdicts: dict[str, str] = {}
        for run in range(args.runs):
            for name, material in sides if run % 2 == 0 else sides[::-1]:
                start = time.perf_counter()
                for _ in range(args.renewals):
                    renewed = archive.add_archive_timestamp(pdf, http.timestamper(), [root], material())
                timings[name].append((time.perf_counter() - start) / args.renewals)
                sizes[name] = len(renewed)
                verdicts[name] = validate_pdf(renewed, psre.root_certificate_pem()).simple_verdict
        server.shutdown()
    print(f"{args.runs} runs x {args.renewals} renewals per side; signed PDF {len(pdf):,} bytes;"
          f" offline verdicts: {verdicts}", file=sys.stderr)  # fmt: skip
    print("| renewal with | median ms per renewal | range ms | renewed PDF bytes |")
    print("|---|---:|---:|---:|")
    for name, values in timings.items():
        low, mid, high = (1000 * v for v in (min(values), statistics.median(values), max(values)))
        print(f"| {name} | {mid:.0f} | {low:.0f}–{high:.0f} | {sizes[name]:,} |")


if __name__ == "__main__":
    main()
