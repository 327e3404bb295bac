"""pyHanko's PDF signature validation with the signature timestamp checked once, by us, before it.

`pyhanko.sign.validation.validate_pdf_signature` verifies every signature timestamp token again
(`collect_timing_info`), although the validator has already verified it, more strictly (revocation data
required, our TSA anchors), to choose the time the signer is judged at. This does the same steps as
pyHanko 0.38's `async_validate_pdf_signature` (subfilter, integrity and diff analysis, content timestamps,
CMS and certificate path validation, seed values, signer attributes) and takes the signature timestamp's
status from the validator's own check instead of computing it a second time.
"""

from __future__ import annotations

import asyncio

from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.validation import generic_cms
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import extract_self_reported_ts, extract_tst_data_iter
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature, report_seed_value_validation
from pyhanko.sign.validation.status import PdfSignatureStatus, TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

_SUBFILTERS = {SigSeedSubFilter.ADOBE_PKCS7_DETACHED, SigSeedSubFilter.PADES, SigSeedSubFilter.PBAD_PADES}


def _check_subfilter(embedded: EmbeddedPdfSignature) -> None:
    if embedded.sig_object_type != "/Sig":
        raise SignatureValidationError("Signature object type must be /Sig")
    subfilter = embedded.sig_object.get("/SubFilter", None)
    try:
        known = SigSeedSubFilter(subfilter) in _SUBFILTERS
    except ValueError:
        known = False
    if not known:
        raise SignatureValidationError(f"{subfilter} is not a recognized SubFilter type in signatures.")


async def _validate(
    embedded: EmbeddedPdfSignature,
    signer_context: ValidationContext,
    ts_context: ValidationContext,
    timestamp: TimestampSignatureStatus | None,
) -> PdfSignatureStatus:
    _check_subfilter(embedded)
    embedded.compute_integrity_info()  # type: ignore[no-untyped-call]
    kwargs = embedded.summarise_integrity_info()
    if timestamp is None:
        # No token, or one our check could not read: pyHanko's own timing checks, as before (an unreadable
        # token raises there, and the signature gets its FORMAT_FAILURE verdict).
        kwargs.update(
            await generic_cms.collect_timing_info(embedded.signer_info, ts_context, raw_digest=embedded.compute_digest)
        )
    else:
        reported = extract_self_reported_ts(embedded.signer_info)
        if reported is not None:
            kwargs["signer_reported_dt"] = reported
        kwargs["timestamp_validity"] = timestamp
        # Content timestamps (signed attribute) are rare; they are verified here as pyHanko does.
        for content_tst in extract_tst_data_iter(embedded.signer_info, signed=True):
            status = TimestampSignatureStatus(
                **await generic_cms.validate_tst_signed_data(
                    content_tst, ts_context, expected_tst_imprint=embedded.compute_digest
                )
            )
            kwargs["content_timestamp_validity"] = status
            if status.trusted:
                break
    if "signer_reported_dt" not in kwargs and embedded.self_reported_timestamp is not None:
        kwargs["signer_reported_dt"] = embedded.self_reported_timestamp
    kwargs = await generic_cms.cms_basic_validation(
        embedded.signed_data,
        raw_digest=embedded.compute_digest(),
        validation_context=signer_context,
        status_kwargs=kwargs,
        key_usage_settings=PdfSignatureStatus.default_usage_constraints(None),
    )
    found = timestamp is not None and timestamp.valid and timestamp.trusted
    kwargs.update(report_seed_value_validation(embedded, kwargs["validation_path"], found))
    kwargs.update(
        await generic_cms.collect_signer_attr_status(
            sd_attr_certificates=embedded.embedded_attr_certs,
            signer_cert=embedded.signer_cert,
            validation_context=None,
            sd_signed_attrs=embedded.signer_info["signed_attrs"],
        )
    )
    return PdfSignatureStatus(**kwargs)


def pdf_signature_status(
    embedded: EmbeddedPdfSignature,
    signer_context: ValidationContext,
    ts_context: ValidationContext,
    timestamp: TimestampSignatureStatus | None,
) -> PdfSignatureStatus:
    """Validate a PDF signature like pyHanko's `validate_pdf_signature`, with its signature timestamp given.

    `timestamp` is the status of the signature's RFC 3161 token as the validator already checked it; None
    (no token, or none that could be read) lets pyHanko do its own timing checks.
    """
    return asyncio.run(_validate(embedded, signer_context, ts_context, timestamp))
