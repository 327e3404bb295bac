"""Step names fit their SOP (issue 12): every name a person reads in a diagram agrees with the SOP's facts.

The facts come from docs/DOMAIN.md and the seed: only the two issuance SOPs (088.9, 088.14) have the
agency head's recommendation; 088.11 revokes AMS and eSign certificates alike; 088.13 is about eSign keys.
The names checked are those of each SOP's own diagram and of the shared processes it calls, as people read
them (a shared user task marked label="caller" is named by the SOP's call activity).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from engine import runtime
from engine.config import ROOT
from handlers.letters import basis_statement

PROCESSES = ROOT / "processes"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SERTEL = "https://sertel.id/schema/bpmn/1.0"


@dataclass(frozen=True)
class Sop:
    number: str
    recommendation: bool  # the agency head's Formulir Rekomendasi is part of the SOP
    methods: frozenset[str]  # the certificate kinds it serves: "ams" (owner-held key), "esign" (key at the PSrE)


SOPS = {
    "issuance_ams": Sop("088.9", True, frozenset({"ams"})),
    "renewal_rekey": Sop("088.10", False, frozenset({"ams"})),
    "revocation": Sop("088.11", False, frozenset({"ams", "esign"})),
    "data_change": Sop("088.12", False, frozenset({"ams"})),
    "passphrase_lock": Sop("088.13", False, frozenset({"esign"})),
    "issuance_esign": Sop("088.14", True, frozenset({"esign"})),
}
MAIN_FILES = sorted(PROCESSES.glob("*.bpmn"))
COMMON = {p.stem: p for p in (PROCESSES / "common").glob("*.bpmn")}
RECOMMENDATION = re.compile(r"rekomendasi", re.IGNORECASE)
AMS = re.compile(r"\bAMS\b")
ESIGN = re.compile(r"\beSign\b", re.IGNORECASE)


def root_of(path: Path) -> etree._Element:
    return etree.parse(str(path)).getroot()


def own_names(root: etree._Element) -> dict[str, str]:
    """Element id -> name for every named BPMN element (process, participant, lanes, steps, events, gateways)."""
    return {
        el.get("id", ""): el.get("name", "")
        for el in root.iter()
        if isinstance(el.tag, str) and el.tag.startswith(f"{{{BPMN}}}") and el.get("name")
    }


def label_from_caller(task: etree._Element) -> bool:
    props = task.findall(f"{{{BPMN}}}extensionElements/{{{SERTEL}}}properties/{{{SERTEL}}}property")
    return any(p.get("name") == runtime.LABEL_PROPERTY and p.get("value") == runtime.LABEL_FROM_CALLER for p in props)


def names_read_in(path: Path) -> list[tuple[str, str]]:
    """(where, name) of every name a person reads in a SOP: its own and those of the shared processes it calls."""
    root = root_of(path)
    found = [(f"{path.stem}:{i}", n) for i, n in own_names(root).items()]
    for call in root.iter(f"{{{BPMN}}}callActivity"):
        called = root_of(COMMON[call.get("calledElement", "")])
        for el_id, name in own_names(called).items():
            element = called.find(f".//*[@id='{el_id}']")
            if element is not None and etree.QName(element).localname == "userTask" and label_from_caller(element):
                name = call.get("name", "")  # read as the calling step's name
            found.append((f"{path.stem}>{call.get('calledElement')}:{el_id}", name))
    return found


def effective_properties(path: Path) -> dict[str, str]:
    deps = {p.name: p.read_text(encoding="utf-8") for p in COMMON.values()}
    return runtime.parse(path.read_text(encoding="utf-8"), path.stem, deps).properties


def test_every_sop_diagram_has_its_facts() -> None:
    assert {p.stem for p in MAIN_FILES} == set(SOPS)


@pytest.mark.parametrize("path", MAIN_FILES, ids=lambda p: p.stem)
def test_names_mention_a_recommendation_only_where_the_sop_has_one(path: Path) -> None:
    sop = SOPS[path.stem]
    names = names_read_in(path)
    mentions = [(where, name) for where, name in names if RECOMMENDATION.search(name)]
    if sop.recommendation:
        root = root_of(path)
        steps = [t.get("name", "") for t in root.iter(f"{{{BPMN}}}userTask") if RECOMMENDATION.search(t.get("name", ""))]
        assert steps, f"{path.stem}: SOP {sop.number} has a recommendation step"
    else:
        assert mentions == [], f"SOP {sop.number} has no recommendation, yet: {mentions}"


@pytest.mark.parametrize("path", MAIN_FILES, ids=lambda p: p.stem)
def test_names_mention_a_certificate_method_only_when_the_sop_is_for_that_method_alone(path: Path) -> None:
    sop = SOPS[path.stem]
    for where, name in names_read_in(path):
        if AMS.search(name):
            assert "esign" not in sop.methods or "(AMS dan eSign)" in name, f"{where}: '{name}' (SOP {sop.number})"
        if ESIGN.search(name) and "(AMS dan eSign)" not in name:
            assert "esign" in sop.methods, f"{where}: '{name}' (SOP {sop.number})"


@pytest.mark.parametrize("path", MAIN_FILES, ids=lambda p: p.stem)
def test_process_title_and_participant_fit_the_sop(path: Path) -> None:
    sop = SOPS[path.stem]
    root = root_of(path)
    process = root.find(f"{{{BPMN}}}process")
    participant = root.find(f".//{{{BPMN}}}participant")
    assert process is not None and participant is not None
    assert participant.get("name", "").startswith(f"SOP {sop.number} ")
    title = process.get("name", "")
    if sop.methods == {"ams"}:
        assert title.endswith("(AMS)"), title
    else:
        assert "(AMS)" not in title, title


@pytest.mark.parametrize("path", MAIN_FILES, ids=lambda p: p.stem)
def test_the_decision_letter_cites_a_recommendation_only_where_there_is_one(path: Path) -> None:
    """The shared verification's letter reads the SOP's `has_recommendation` property (the diagram says it)."""
    sop = SOPS[path.stem]
    has = effective_properties(path).get("has_recommendation") == "true"
    assert has is sop.recommendation
    assert bool(RECOMMENDATION.search(basis_statement(has))) is sop.recommendation


def test_the_shared_verification_step_is_named_by_each_sop() -> None:
    """The inbox shows the SOP's name for the shared verification step, not one name for all six SOPs."""
    labels = {}
    for path in MAIN_FILES:
        for call in root_of(path).iter(f"{{{BPMN}}}callActivity"):
            if call.get("calledElement") == "common_verification":
                labels[path.stem] = call.get("name", "")
    assert set(labels) == set(SOPS)
    for key, label in labels.items():
        assert label and (RECOMMENDATION.search(label) is not None) is SOPS[key].recommendation, (key, label)


@pytest.mark.parametrize("path", MAIN_FILES, ids=lambda p: p.stem)
def test_timeline_labels_of_shared_steps_are_the_sops_own(path: Path) -> None:
    """The case page and replay read a shared `label="caller"` task under the SOP's call activity name."""
    called = {p.name: p.read_text(encoding="utf-8") for p in COMMON.values()}
    labels = runtime.caller_labels(path.read_text(encoding="utf-8"), called)
    verify = next(c for c in root_of(path).iter(f"{{{BPMN}}}callActivity") if c.get("calledElement") == "common_verification")
    assert labels["verification"] == verify.get("name")


SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
MAIL_TEMPLATES = ROOT / "engine" / "templates" / "mail"


def mail_templates_of(path: Path) -> set[str]:
    """The mail templates a SOP's diagram (and the shared processes it calls) sends."""
    roots = [root_of(path)]
    roots += [root_of(COMMON[c.get("calledElement", "")]) for c in roots[0].iter(f"{{{BPMN}}}callActivity")]
    return {
        p.get("value", "").strip("'\"")
        for root in roots
        for p in root.iter(f"{{{SPIFF}}}parameter")
        if p.get("id") == "template"
    }


@pytest.mark.parametrize("path", MAIN_FILES, ids=lambda p: p.stem)
def test_mails_mention_a_recommendation_only_where_the_sop_has_one(path: Path) -> None:
    sop = SOPS[path.stem]
    templates = mail_templates_of(path)
    assert templates, path.stem
    for name in templates:
        text = (MAIL_TEMPLATES / f"{name}.txt").read_text(encoding="utf-8")
        if not sop.recommendation:
            assert not RECOMMENDATION.search(text), f"SOP {sop.number} sends '{name}', which mentions a recommendation"
