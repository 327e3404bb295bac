"""Benchmark: sealing with the RA seal when the PSrE has revoked many certificates (default 10,000).

Two ways of embedding revocation information are timed interleaved in the same process on the same PSrE:
- **ours**: `EmbeddedPSrE.ra_seal().seal_pdf` as the app seals: OCSP answers for the seal and TSA
  certificates plus the root's CRL in the DSS;
- **full CRLs** (what sealing embedded before): the same seal with the issuing CA's and root's CRLs
  (`crl_material()`, the stored CRLs, none signed per seal) and the same OCSP answers.
Both make PAdES B-LTA (signature timestamp, DSS, document timestamp). Reports seal time (median and range
over runs), PDF size, that the CRL number did not change while sealing, and that ours validates offline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pki"))

from pki.embedded import EmbeddedPSrE
from pki.signing import RaSeal, RevocationMaterial
from pki.validation import validate_pdf
from tests.pki.pki_builders import bulk_revoke, one_page_pdf


@dataclass
class FullCrls:
    """The revocation source sealing used before: every stored CRL, plus the OCSP answers."""

    psre: EmbeddedPSrE

    def revocation_material(self, certificate: x509.Certificate) -> RevocationMaterial:
        """The stored CRLs (issuing CA, root, retired) and our OCSP answers."""
        return RevocationMaterial(
            crls=self.psre.crl_material().crls, ocsps=self.psre.revocation_material(certificate).ocsps
        )


def _crl_number(psre: EmbeddedPSrE) -> int:
    crl = x509.load_der_x509_crl(psre.crl_der())
    return int(crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number)


def main() -> None:
    """Revoke in bulk, then seal alternately both ways; print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--revoked", type=int, default=10_000, help="certificates revoked before sealing")
    parser.add_argument("--seals", type=int, default=5, help="seals per side and run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        psre = EmbeddedPSrE(Path(state), [Fernet.generate_key().decode()], "http://127.0.0.1:5000/pki", scrypt_n=2**10)
        psre.initialise()
        started = time.perf_counter()
        bulk_revoke(psre, args.revoked)
        print(f"{args.revoked} revoked in {time.perf_counter() - started:.2f} s, CRL {len(psre.crl_der())} bytes",
              file=sys.stderr)  # fmt: skip
        ours = psre.ra_seal()
        before = RaSeal(ours.key, ours.timestamper, FullCrls(psre))
        number = _crl_number(psre)
        timings: dict[str, list[float]] = {"ours (OCSP)": [], "full CRLs": []}
        sizes: dict[str, int] = {}
        pdf = one_page_pdf()
        for run in range(args.runs):
            sides = [("ours (OCSP)", ours), ("full CRLs", before)]
            for name, seal in sides if run % 2 == 0 else sides[::-1]:
                start = time.perf_counter()
                for _ in range(args.seals):
                    sealed = seal.seal_pdf(pdf)
                timings[name].append((time.perf_counter() - start) / args.seals)
                sizes[name] = len(sealed)
                if name.startswith("ours"):
                    verdict = validate_pdf(sealed, psre.root_certificate_pem()).simple_verdict
        unchanged = _crl_number(psre) == number
    print(f"{args.runs} runs x {args.seals} seals per side; CRL number unchanged while sealing: {unchanged};"
          f" ours validates offline: {verdict}", file=sys.stderr)  # fmt: skip
    print("| sealing with | median ms per seal | range ms | sealed PDF bytes |")
    print("|---|---:|---:|---:|")
    for name, values in timings.items():
        low, mid, high = (1000 * v for v in (min(values), statistics.median(values), max(values)))
        print(f"| {name} | {mid:.0f} | {low:.0f}–{high:.0f} | {sizes[name]:,} |")


if __name__ == "__main__":
    main()
