"""The ETSI TS 119 102-2 (v1.2.1) XML validation report of a ValidationReport: a subset of its schema."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from pki.validation_report import SignatureReport, ValidationReport

NS = "http://uri.etsi.org/19102/v1.2.1#"
DS = "http://www.w3.org/2000/09/xmldsig#"
# DigitalIdentityType comes from the trusted-list schema (ETSI TS 119 612), in its namespace.
TSL = "http://uri.etsi.org/02231/v2#"
CERTIFICATE_OBJECT = "urn:etsi:019102:validationObject:certificate"
MAIN_URI = {
    "TOTAL_PASSED": "urn:etsi:019102:mainindication:total-passed",
    "TOTAL_FAILED": "urn:etsi:019102:mainindication:total-failed",
    "INDETERMINATE": "urn:etsi:019102:mainindication:indeterminate",
}
SUB_URI = "urn:etsi:019102:subindication:"
PROCESS_URI = {
    "B-B": "urn:etsi:019102:validationprocess:Basic",
    "B-T": "urn:etsi:019102:validationprocess:LTVM",
    "B-LT": "urn:etsi:019102:validationprocess:LTVM",
    "B-LTA": "urn:etsi:019102:validationprocess:LTA",
}
POE_VALIDATION = "urn:etsi:019102:poetype:validation"
# Advanced (not qualified) electronic signature, as the EU reference validator (DSS) names it.
QUALITY_ADES = "urn:cef:dss:signatureQualification:AdESig"
QUALITY_NONE = "urn:cef:dss:signatureQualification:na"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

ET.register_namespace("", NS)
ET.register_namespace("ds", DS)
ET.register_namespace("tsl", TSL)


def _el(parent: ET.Element, name: str, text: str | None = None, ns: str = NS, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ns}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _xml_time(iso: str | None) -> str | None:
    """Return an ISO time as xs:dateTime in UTC (Z)."""
    if not iso:
        return None
    moment = datetime.fromisoformat(iso)
    moment = moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _signature(parent: ET.Element, signature: SignatureReport, validation_time: str | None, index: int) -> None:
    report = _el(parent, "SignatureValidationReport")
    identifier = _el(report, "SignatureIdentifier", id=f"SIG-{index}-{signature.field_name}")
    if signature.signature_digest:
        digest = _el(identifier, "DigestAlgAndValue")
        _el(digest, "DigestMethod", ns=DS, Algorithm=SHA256)
        _el(digest, "DigestValue", signature.signature_digest, ns=DS)
    _el(identifier, "HashOnly", "false")
    _el(identifier, "DocHashOnly", "false")
    _el(identifier, "DAIdentifier", signature.field_name)
    times = _el(report, "ValidationTimeInfo")
    _el(times, "ValidationTime", _xml_time(validation_time))
    # Required by the schema; without a proof of existence the best signature time is the validation time
    # (EN 319 102-1 5.6.2.1).
    best = _el(times, "BestSignatureTime")
    _el(best, "POETime", _xml_time(signature.best_proven_time or validation_time))
    _el(best, "TypeOfProof", POE_VALIDATION)
    claimed = signature.claimed_signing_time_iso
    if claimed:
        attributes = _el(report, "SignatureAttributes")
        signing_time = _el(attributes, "SigningTime", Signed="true")
        _el(signing_time, "Time", _xml_time(claimed))
    if signature.signer_certificate_digest:
        # SignerCertificate (required) refers to the certificate's entry in SignatureValidationObjects.
        info = _el(report, "SignerInformation", Pseudonym="false")
        _el(info, "SignerCertificate", VOReference=_certificate_id(index))
        if signature.signer_subject:
            _el(info, "Signer", signature.signer_subject)
    quality = _el(report, "SignatureQuality")
    _el(quality, "SignatureQualityInformation", QUALITY_ADES if signature.valid else QUALITY_NONE)
    process = _el(report, "SignatureValidationProcess")
    _el(process, "SignatureValidationProcessID", PROCESS_URI.get(signature.level or "B-B", PROCESS_URI["B-B"]))
    status = _el(report, "SignatureValidationStatus")
    _el(status, "MainIndication", MAIN_URI[signature.indication])
    if signature.sub_indication:
        _el(status, "SubIndication", SUB_URI + signature.sub_indication)
    for block in signature.building_blocks:
        if not block.ok:
            _el(status, "AssociatedValidationReportData").append(_message(block.label, block.reason))


def _certificate_id(index: int) -> str:
    return f"CERT-{index}"


def _validation_objects(root: ET.Element, entries: list[SignatureReport]) -> None:
    """The signers' certificates as validation objects (by SHA-256 digest), referred to by SignerCertificate."""
    objects = [(i, s.signer_certificate_digest) for i, s in enumerate(entries, start=1) if s.signer_certificate_digest]
    if not objects:
        return
    listing = _el(root, "SignatureValidationObjects")
    for index, digest in objects:
        item = _el(listing, "ValidationObject", id=_certificate_id(index))
        _el(item, "ObjectType", CERTIFICATE_OBJECT)
        representation = _el(_el(item, "ValidationObjectRepresentation"), "DigestAlgAndValue")
        _el(representation, "DigestMethod", ns=DS, Algorithm=SHA256)
        _el(representation, "DigestValue", digest, ns=DS)


def _message(label: str, reason: str) -> ET.Element:
    # Free text goes into an AdditionalValidationReportData/ReportData element (xs:any), in Indonesian.
    data = ET.Element(f"{{{NS}}}AdditionalValidationReportData")
    item = _el(data, "ReportData")
    _el(item, "Type", "urn:sertel:validasi:alasan")
    _el(item, "Value", f"{label}: {reason}")
    return data


def etsi_xml(report: ValidationReport) -> bytes:
    """Render the report as ETSI TS 119 102-2 XML (UTF-8, with declaration)."""
    root = ET.Element(f"{{{NS}}}ValidationReport")
    entries = [*report.signatures, *report.document_timestamps]
    for index, signature in enumerate(entries, start=1):
        _signature(root, signature, report.validation_time, index)
    if not entries:
        # A file without any signature still gets one status entry, saying why.
        empty = _el(root, "SignatureValidationReport")
        identifier = _el(empty, "SignatureIdentifier", id="SIG-0")
        _el(identifier, "HashOnly", "false")
        _el(identifier, "DocHashOnly", "false")
        status = _el(empty, "SignatureValidationStatus")
        _el(status, "MainIndication", MAIN_URI[report.indication])
        if report.sub_indication:
            _el(status, "SubIndication", SUB_URI + report.sub_indication)
    _validation_objects(root, entries)
    validator = _el(root, "SignatureValidator")
    digital_id = _el(validator, "DigitalId")
    _el(digital_id, "X509SubjectName", "CN=Sertel, O=Pemerintah Kota Pekalongan, C=ID", ns=TSL)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
