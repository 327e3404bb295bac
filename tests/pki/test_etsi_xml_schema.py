"""The ETSI TS 119 102-2 XML report against the official schema, as compiled into pyHanko's bindings.

The official XSD (19102-2 v1.2.1) is not in any registry this project may use; pyHanko (PyPI) ships the
bindings xsdata generated from it (`pyhanko.generated.etsi.ts_11910202`), keeping each element's name,
namespace, `required` flag and the order of its xs:sequence. The check below holds our XML to those:
no unknown element or attribute (xsdata's strict parser), every required element present, children in
schema order. It does not check facets (string patterns, URI syntax), which the bindings do not keep.
"""

from __future__ import annotations

import dataclasses
import typing
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hostile_builders import flip_signature_value, owner_key
from pki_builders import one_page_pdf

from pki.embedded import EmbeddedPSrE
from pki.signing import sign_pdf
from pki.validation import validate_pdf
from pki.validation_xml import etsi_xml

xsdata_parser = pytest.importorskip("xsdata.formats.dataclass.parsers")
from pyhanko.generated.etsi import ts_11910202 as schema  # noqa: E402  (needs xsdata, imported above)
from xsdata.formats.dataclass.parsers.config import ParserConfig  # noqa: E402

NS = "http://uri.etsi.org/19102/v1.2.1#"


def _schema_problems(element: ET.Element, binding: type, path: str) -> list[str]:
    """Check required children and their order against a binding class, recursively."""
    problems: list[str] = []
    hints = typing.get_type_hints(binding)
    fields = [
        f
        for f in dataclasses.fields(binding)
        if f.metadata.get("type", "Element") == "Element" and f.metadata.get("name")
    ]
    order = {"{" + f.metadata.get("namespace", "") + "}" + f.metadata["name"]: i for i, f in enumerate(fields)}
    children = list(element)
    wildcard = any(f.metadata.get("type") == "Wildcard" for f in dataclasses.fields(binding))
    unknown = [c.tag for c in children if c.tag not in order]
    # xs:any namespace="##other" admits elements of other namespaces only, never a new one of 19102's.
    refused = [t for t in unknown if not wildcard or t.startswith("{" + NS + "}")]
    if refused:
        problems.append(f"{path}: unknown children {refused}")
    children = [c for c in children if c.tag in order]
    positions = [order[c.tag] for c in children if c.tag in order]
    if positions != sorted(positions):
        problems.append(f"{path}: children out of schema order {[c.tag.split('}')[1] for c in children]}")
    present = {c.tag for c in children}
    for f in fields:
        tag = "{" + f.metadata.get("namespace", "") + "}" + f.metadata["name"]
        if f.metadata.get("required") and tag not in present:
            problems.append(f"{path}: required {f.metadata['name']} missing")
        child_type = _binding_of(hints[f.name])
        if child_type is not None:
            for child in (c for c in children if c.tag == tag):
                problems += _schema_problems(child, child_type, f"{path}/{f.metadata['name']}")
    return problems


def _binding_of(hint: Any) -> type | None:
    """The dataclass a field holds (unwrapping Optional / tuple), if any."""
    for candidate in (hint, *typing.get_args(hint)):
        for inner in (candidate, *typing.get_args(candidate)):
            if dataclasses.is_dataclass(inner) and isinstance(inner, type):
                return inner
    return None


def _reports(psre: EmbeddedPSrE) -> dict[str, bytes]:
    stamped = sign_pdf(
        one_page_pdf(), owner_key(psre), reason="r", location="l", timestamper=psre.timestamper(), revocation=psre
    )
    lta = sign_pdf(
        one_page_pdf(),
        owner_key(psre, "lta"),
        reason="r",
        location="l",
        timestamper=psre.timestamper(),
        revocation=psre,
    )
    root = psre.root_certificate_pem()
    return {
        "valid": etsi_xml(validate_pdf(stamped, root, psre)),
        "lta": etsi_xml(validate_pdf(lta, root, psre)),
        "tampered": etsi_xml(validate_pdf(flip_signature_value(stamped), root, psre)),
        "unsigned": etsi_xml(validate_pdf(one_page_pdf(), root, psre)),
        "not_a_pdf": etsi_xml(validate_pdf(b"not a pdf", root, psre)),
    }


def test_every_kind_of_report_parses_strictly_into_the_official_schema_bindings(psre: EmbeddedPSrE) -> None:
    parser = xsdata_parser.XmlParser(
        config=ParserConfig(fail_on_unknown_properties=True, fail_on_unknown_attributes=True)
    )
    for name, xml in _reports(psre).items():
        parsed = parser.from_bytes(xml, schema.ValidationReport)
        assert parsed.signature_validation_report, name
        status = parsed.signature_validation_report[0].signature_validation_status
        assert status is not None and status.main_indication.startswith("urn:etsi:019102:mainindication:"), name
        problems = _schema_problems(ET.fromstring(xml), schema.ValidationReport, "ValidationReport")
        assert problems == [], (name, problems)


def test_the_check_catches_a_report_out_of_schema(psre: EmbeddedPSrE) -> None:
    xml = _reports(psre)["valid"]
    root = ET.fromstring(xml)
    report = root[0]
    # Move the status before the identifier: out of the xs:sequence order.
    status = report.find("{http://uri.etsi.org/19102/v1.2.1#}SignatureValidationStatus")
    assert status is not None
    report.remove(status)
    report.insert(0, status)
    assert any("order" in p for p in _schema_problems(root, schema.ValidationReport, "ValidationReport"))
    main = status.find("{http://uri.etsi.org/19102/v1.2.1#}MainIndication")
    assert main is not None
    status.remove(main)
    assert any("MainIndication missing" in p for p in _schema_problems(root, schema.ValidationReport, "VR"))
    ET.SubElement(report, "{http://uri.etsi.org/19102/v1.2.1#}Verdict").text = "Sah"
    assert any("unknown children" in p for p in _schema_problems(root, schema.ValidationReport, "VR"))
    times = report.find("{http://uri.etsi.org/19102/v1.2.1#}ValidationTimeInfo")
    assert times is not None
    ET.SubElement(times, "{http://uri.etsi.org/19102/v1.2.1#}Verdict").text = "Sah"
    with pytest.raises(Exception, match="Verdict"):
        xsdata_parser.XmlParser(config=ParserConfig(fail_on_unknown_properties=True)).from_bytes(
            ET.tostring(root), schema.ValidationReport
        )


def test_xml_times_are_utc_xs_datetime(psre: EmbeddedPSrE) -> None:
    xml = _reports(psre)["valid"]
    parsed = xsdata_parser.XmlParser().from_bytes(xml, schema.ValidationReport)
    best = parsed.signature_validation_report[0].validation_time_info.best_signature_time
    assert best is not None
    moment = best.poetime.to_datetime()
    assert abs(moment - datetime.now(UTC)) < timedelta(minutes=5)
