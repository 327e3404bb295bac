"""The PSrE's RFC 3161 timestamp authority: answers DER requests and stamps in-process for signing."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.timestamps.api import TimeStamper

from pki.service_certs import ServiceIdentity

# A policy OID under the UUID arc (X.667): needs no registration and cannot collide with anyone's.
TSA_POLICY_OID = "2.25.288727512341720593066497045431393446189"
ACCEPTED_DIGESTS: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class TimeStampStatusOnly(core.Sequence):  # type: ignore[misc]
    """TimeStampResp without a token: asn1crypto's class wrongly makes the token mandatory."""

    _fields: ClassVar[list[tuple[str, type]]] = [("status", tsp.PKIStatusInfo)]


def _rejection(fail_info: str, text: str) -> TimeStampStatusOnly:
    return TimeStampStatusOnly(
        {
            "status": tsp.PKIStatusInfo(
                {
                    "status": tsp.PKIStatus("rejection"),
                    "status_string": tsp.PKIFreeText([text]),
                    "fail_info": tsp.PKIFailureInfo({fail_info}),
                }
            )
        }
    )


class PsreTimeStamper(TimeStamper):
    """A TSA that signs tokens itself with a key loaded once; pyHanko uses it like a remote TSA."""

    # Ours never stamps outside its certificate's validity; tests turn this off to build a careless rogue TSA.
    checks_own_validity: ClassVar[bool] = True

    def __init__(
        self,
        identity: ServiceIdentity,
        chain: list[x509.Certificate],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Keep the TSA key, its certificate and the CA chain to embed in every token."""
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]  # pyHanko leaves TimeStamper.__init__ unannotated
        self.identity = identity
        self.clock = clock
        self._tsa_cert = _to_asn1(identity.certificate)
        self._embedded = [self._tsa_cert, *(_to_asn1(c) for c in chain)]
        # The ESS signing-certificate attribute only depends on the certificate: compute it once.
        self._signing_certificate = as_signing_certificate_v2(self._tsa_cert)

    def _sign(self, data: bytes, md_algorithm: str) -> tuple[bytes, str]:
        key = self.identity.private_key
        digest = ACCEPTED_DIGESTS[md_algorithm]
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(digest)), f"{md_algorithm}_ecdsa"
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.sign(data, padding.PKCS1v15(), digest), "rsassa_pkcs1v15"

    def request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp | TimeStampStatusOnly:
        """Answer a parsed request with a granted token, or a rejection for what we do not support."""
        imprint = req["message_imprint"]
        md_algorithm = imprint["hash_algorithm"]["algorithm"].native
        if md_algorithm not in ACCEPTED_DIGESTS:
            return _rejection("bad_alg", f"digest {md_algorithm} not accepted")
        if len(imprint["hashed_message"].native) != DIGEST_SIZES[md_algorithm]:
            return _rejection("bad_data_format", "message imprint has the wrong length")
        if req["req_policy"].native not in (None, TSA_POLICY_OID):
            return _rejection("unaccepted_policy", "unknown TSA policy")
        now = self.clock().replace(microsecond=0)
        certificate = self.identity.certificate
        if self.checks_own_validity and not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            # A token from an expired certificate proves nothing to a validator: refuse rather than mislead.
            return _rejection("system_failure", "TSA certificate is not valid now; renew it")
        info: dict[str, object] = {
            "version": "v1",
            "policy": TSA_POLICY_OID,
            "message_imprint": imprint,
            "serial_number": secrets.randbits(127) | 1,
            "gen_time": now,
            "accuracy": {"seconds": 1},
            "tsa": asn1_x509.GeneralName(name="directory_name", value=self._tsa_cert.subject),
        }
        if req["nonce"].native is not None:
            info["nonce"] = req["nonce"]
        tst_info = tsp.TSTInfo(info).dump()
        md = hashes.Hash(ACCEPTED_DIGESTS[md_algorithm])
        md.update(tst_info)
        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(now)})),
                simple_cms_attribute("signing_certificate_v2", self._signing_certificate),
                simple_cms_attribute("message_digest", md.finalize()),
            ]
        )
        signature, algorithm = self._sign(signed_attrs.dump(), md_algorithm)
        digest_algorithm = algos.DigestAlgorithm({"algorithm": md_algorithm})
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                            {"issuer": self._tsa_cert.issuer, "serial_number": self._tsa_cert.serial_number}
                        )
                    }
                ),
                "digest_algorithm": digest_algorithm,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": algorithm}),
                "signed_attrs": signed_attrs,
                "signature": signature,
            }
        )
        content: dict[str, object] = {
            "version": "v3",
            "digest_algorithms": cms.DigestAlgorithms([digest_algorithm]),
            "encap_content_info": cms.EncapsulatedContentInfo(
                {"content_type": "tst_info", "content": cms.ParsableOctetString(tst_info)}
            ),
            "signer_infos": [signer_info],
        }
        if req["cert_req"].native:
            # RFC 3161 2.4.1: the TSA's certificate (here with its chain) only when certReq is true;
            # pyHanko and the audit anchors ask for it, a client that already holds it may not.
            content["certificates"] = self._embedded
        signed_data = cms.SignedData(content)
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
        granted = tsp.PKIStatusInfo({"status": tsp.PKIStatus("granted")})
        return tsp.TimeStampResp({"status": granted, "time_stamp_token": token})

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp | TimeStampStatusOnly:
        """pyHanko's entry point: in-process, so no HTTP round trip."""
        return self.request_tsa_response(req)

    def respond_der(self, request_der: bytes) -> bytes:
        """Answer a DER `TimeStampReq` (application/timestamp-query) with a DER `TimeStampResp`."""
        try:
            request = tsp.TimeStampReq.load(request_der)
            _ = request.native  # force a full parse so malformed input fails here, not while signing
        except (ValueError, TypeError) as exc:
            # RFC 3161 2.4.2: a request that is not a TimeStampReq is rejected with badDataFormat.
            rejection: bytes = _rejection("bad_data_format", f"malformed request: {type(exc).__name__}").dump()
            return rejection
        response: bytes = self.request_tsa_response(request).dump()
        return response
