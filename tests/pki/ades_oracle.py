"""pyHanko's own AdES validation (what `pyhanko sign adesverify` runs), as an independent oracle for our validator."""

from __future__ import annotations

import asyncio
import io

from asn1crypto import crl, ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

from pki.signing import RevocationMaterial

MAIN = {"PASSED": "TOTAL_PASSED", "FAILED": "TOTAL_FAILED", "INDETERMINATE": "INDETERMINATE"}


def _roots(pem: str) -> list[asn1_x509.Certificate]:
    return [
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
        for c in x509.load_pem_x509_certificates(pem.encode())
    ]


def adesverify(pdf: bytes, root_pem: str, material: RevocationMaterial) -> list[tuple[str, str, bool]]:
    """Run pyHanko's PAdES LTA validation offline on every signature.

    Returns (main indication, sub-indication, pyHanko's bottom line) per signature. pyHanko keeps its
    modification analysis out of the AdES indication and reports it in the bottom line instead.
    """
    knowledge = LocalKnowledge(
        known_crls=[CRLContainer(crl.CertificateList.load(d)) for d in material.crls],
        known_ocsps=[c for d in material.ocsps for c in OCSPContainer.load_multi(ocsp.OCSPResponse.load(d))],
    )
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=_roots(root_pem)),
        revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
    )
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
            local_knowledge=knowledge,
        )
    )
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    results = []
    for embedded in reader.embedded_regular_signatures:
        outcome = asyncio.run(ades_lta_validation(embedded, spec))
        subindic, status = outcome.ades_subindic, outcome.api_status
        bottom_line = bool(status is not None and status.bottom_line)
        results.append((MAIN[subindic.status.name], subindic.standard_name, bottom_line))
    return results
