"""Diagram checks before publish: every broken-diagram kind is refused with a message that names the element."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import select

from engine import registry
from engine.cli import deploy_command
from engine.config import load_settings
from engine.diagram_checks import Catalogue, OperatorInfo, ParamInfo, build_catalogue, check_diagram
from engine.models import ProcessDeployment, db
from engine.runtime import Problem
from engine.services import deploy
from engine.services.access import LANE_ROLES
from engine.services.errors import Invalid

CATALOGUE = Catalogue(
    forms={
        "registration": frozenset({"phone", "upload"}),
        "recommendation": frozenset({"decision", "note"}),
        "approval.start": frozenset({"certificate_serial"}),
        "renewal_start": frozenset({"old_serial"}),
    },
    start_names=frozenset({"started_by"}),
    operators={
        "common.form_pdf": {
            1: OperatorInfo(
                {
                    "form": ParamInfo("str", choices=("registration", "recommendation")),
                    "submission": ParamInfo("any"),
                },
                frozenset({"document_id"}),
            ),
            2: OperatorInfo({"form": ParamInfo("str"), "submission": ParamInfo("any"), "copies": ParamInfo("int")}),
        },
        "common.notify": {
            1: OperatorInfo(
                {"template": ParamInfo("str"), "recipient": ParamInfo("str"), "cc": ParamInfo("str", required=False)}
            )
        },
    },
    lane_roles=frozenset({"Pemohon", "Atasan"}),
    setting_names=frozenset({"sla_verification_reminder", "sla_activation"}),
    setting_defaults={"sla_verification_reminder": "P2D", "sla_activation": "P7D"},
)

# A small process in today's vocabulary that passes every check: each test breaks one thing in it.
VALID = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    xmlns:sertel="https://sertel.id/schema/bpmn/1.0" id="definitions_approval" targetNamespace="http://sertel.test">
  <bpmn:process id="approval" name="Persetujuan" isExecutable="true">
    <bpmn:extensionElements>
      <sertel:properties>
        <sertel:property name="sla_recommendation" value="P1D" />
      </sertel:properties>
    </bpmn:extensionElements>
    <bpmn:laneSet id="laneset">
      <bpmn:lane id="lane_pemohon" name="Pemohon">
        <bpmn:flowNodeRef>register</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_atasan" name="Atasan">
        <bpmn:flowNodeRef>recommend</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="Diajukan" />
    <bpmn:userTask id="register" name="Isi pendaftaran">
      <bpmn:extensionElements>
        <sertel:form name="registration" output="registration_form" />
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:serviceTask id="registration_pdf" name="Buat PDF pendaftaran">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="common.form_pdf@1" resultVariable="registration_pdf">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="form" type="str" value="'registration'" />
            <spiffworkflow:parameter id="submission" type="any" value="registration_form" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
        <spiffworkflow:postScript>document = registration_pdf["document_id"]</spiffworkflow:postScript>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:userTask id="recommend" name="Rekomendasi atasan">
      <bpmn:extensionElements>
        <sertel:form name="recommendation" output="recommendation">
          <sertel:input name="registration" value="registration_form" />
          <sertel:input name="document" value="document" />
        </sertel:form>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="reminder_timer" name="Pengingat" attachedToRef="recommend" cancelActivity="false">
      <bpmn:timerEventDefinition id="reminder_definition">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">setting('sla_recommendation')</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:serviceTask id="notify_reminder" name="Ingatkan atasan">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="common.notify" resultVariable="notified_reminder">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="template" type="str" value="'reminder'" />
            <spiffworkflow:parameter id="recipient" type="str" value="started_by" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end_reminded" name="Pengingat terkirim" />
    <bpmn:exclusiveGateway id="decision_gateway" name="Direkomendasikan?" default="flow_rejected" />
    <bpmn:endEvent id="end_approved" name="Disetujui" />
    <bpmn:endEvent id="end_rejected" name="Ditolak" />
    <bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="register" />
    <bpmn:sequenceFlow id="flow_to_pdf" sourceRef="register" targetRef="registration_pdf" />
    <bpmn:sequenceFlow id="flow_to_recommend" sourceRef="registration_pdf" targetRef="recommend" />
    <bpmn:sequenceFlow id="flow_to_gateway" sourceRef="recommend" targetRef="decision_gateway" />
    <bpmn:sequenceFlow id="flow_approved" name="Ya" sourceRef="decision_gateway" targetRef="end_approved">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">recommendation["decision"] == "approve"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_rejected" name="Tidak" sourceRef="decision_gateway" targetRef="end_rejected" />
    <bpmn:sequenceFlow id="flow_to_notify" sourceRef="reminder_timer" targetRef="notify_reminder" />
    <bpmn:sequenceFlow id="flow_to_end_reminded" sourceRef="notify_reminder" targetRef="end_reminded" />
  </bpmn:process>
</bpmn:definitions>
"""


def broken(old: str, new: str, xml: str = VALID) -> str:
    """The diagram with one piece of text changed (the piece must be there: a test must be able to fail)."""
    assert xml.count(old) == 1, f"{old!r} not exactly once in the diagram"
    return xml.replace(old, new)


def problems(xml: str, catalogue: Catalogue = CATALOGUE, dependencies: dict[str, str] | None = None) -> list[Problem]:
    return check_diagram(xml, "approval", catalogue, dependencies or {})


def messages_for(found: list[Problem], element_id: str) -> list[str]:
    return [p.message for p in found if p.element_id == element_id]


def only_problem(found: list[Problem]) -> Problem:
    assert len(found) == 1, found
    return found[0]


def test_the_valid_diagram_has_no_problem() -> None:
    assert problems(VALID) == []


# ---------------------------------------------------------------- the broken kinds the issue names


def test_flow_from_a_source_that_does_not_exist_names_the_flow() -> None:
    found = problems(
        broken('sourceRef="register" targetRef="registration_pdf"', 'sourceRef="ghost" targetRef="registration_pdf"')
    )
    assert messages_for(found, "flow_to_pdf") == ["alur 'flow_to_pdf': sumber 'ghost' tidak ada di diagram"]
    # What the missing source leaves behind is named too: the registration task now leads nowhere.
    assert any("buntu" in m for m in messages_for(found, "register"))


def test_flow_to_a_target_that_does_not_exist_names_the_flow_not_found_two_items() -> None:
    found = problems(
        broken(
            'sourceRef="registration_pdf" targetRef="recommend"', 'sourceRef="registration_pdf" targetRef="recomend"'
        )
    )
    assert messages_for(found, "flow_to_recommend") == [
        "alur 'flow_to_recommend': tujuan 'recomend' tidak ada di diagram"
    ]
    assert not any("found two items" in p.message for p in found)


def test_dead_end_task_is_refused() -> None:
    found = problems(
        broken(
            '<bpmn:sequenceFlow id="flow_to_end_reminded" sourceRef="notify_reminder" targetRef="end_reminded" />', ""
        )
    )
    assert messages_for(found, "notify_reminder") == [
        "tugas layanan 'notify_reminder' (Ingatkan atasan): buntu: tidak punya alur keluar "
        "(hanya peristiwa akhir yang boleh berakhir)"
    ]


def test_unknown_variable_in_a_gateway_condition_is_refused_with_a_suggestion() -> None:
    found = problems(broken('recommendation["decision"] == "approve"', 'recomendation["decision"] == "approve"'))
    message = only_problem(found)
    assert message.element_id == "flow_approved"
    assert message.message == (
        "alur 'flow_approved' (Ya): kondisi 'recomendation[\"decision\"] == \"approve\"' memakai data 'recomendation' "
        "yang belum ada pada titik ini (maksudnya 'recommendation'?)"
    )


def test_unknown_setting_name_is_refused() -> None:
    found = problems(broken("setting('sla_recommendation')", "setting('sla_recomendation')"))
    problem = only_problem(found)
    assert problem.element_id == "reminder_timer"
    assert problem.message.startswith(
        "peristiwa batas 'reminder_timer' (Pengingat): timer 'setting('sla_recomendation')'"
    )
    assert "pengaturan 'sla_recomendation' tidak dikenal" in problem.message
    assert "(maksudnya 'sla_recommendation'?)" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '<spiffworkflow:parameter id="submission" type="any" value="registration_form" />',
            '<spiffworkflow:parameter id="submision" type="any" value="registration_form" />',
            [
                "parameter wajib 'submission' untuk operator 'common.form_pdf@1' tidak diisi",
                "parameter 'submision' tidak dikenal operator 'common.form_pdf@1' (parameter yang ada: form, submission)",
            ],
        ),
        (
            "value=\"'registration'\"",
            "value=\"'registrasi'\"",
            ["parameter 'form' bernilai 'registrasi', padahal pilihannya: 'registration', 'recommendation'"],
        ),
        ("value=\"'registration'\"", 'value="42"', ["parameter 'form' harus bertipe str, bukan 42"]),
    ],
    ids=["unknown-and-missing", "not-a-choice", "wrong-type"],
)
def test_bad_operator_parameter_is_refused(old: str, new: str, expected: list[str]) -> None:
    found = problems(broken(old, new))
    prefix = "tugas layanan 'registration_pdf' (Buat PDF pendaftaran): "
    assert messages_for(found, "registration_pdf") == [prefix + m for m in expected]
    assert len(found) == len(expected)


@pytest.mark.parametrize(
    ("old", "new", "element_id", "expected"),
    [
        (
            "setting('sla_recommendation')",
            "'P1X'",
            "reminder_timer",
            "timer ''P1X'': 'P1X' bukan durasi ISO 8601 yang valid (mis. 'P2D' atau 'PT4H')",
        ),
        (
            "setting('sla_recommendation')",
            "P1X",
            "reminder_timer",
            "timer 'P1X' harus ditulis sebagai teks berkutip, mis. 'P1X'; 'P1X' bukan durasi ISO 8601 yang valid",
        ),
        (
            '<sertel:property name="sla_recommendation" value="P1D" />',
            '<sertel:property name="sla_recommendation" value="P1X" />',
            "reminder_timer",
            "timer 'setting('sla_recommendation')': 'P1X' bukan durasi ISO 8601 yang valid (mis. 'P2D' atau 'PT4H') "
            "(nilai properti diagram 'sla_recommendation')",
        ),
    ],
    ids=["literal", "unquoted", "property"],
)
def test_invalid_duration_p1x_is_refused(old: str, new: str, element_id: str, expected: str) -> None:
    found = problems(broken(old, new))
    assert [p.element_id for p in found] == [element_id]
    assert expected in found[0].message
    assert found[0].message.startswith("peristiwa batas 'reminder_timer' (Pengingat): ")


def test_a_property_overriding_a_duration_setting_must_be_a_duration() -> None:
    xml = broken(
        '<sertel:property name="sla_recommendation" value="P1D" />',
        '<sertel:property name="sla_recommendation" value="P1D" /><sertel:property name="sla_activation" value="7 hari" />',
    )
    assert [(p.element_id, p.message) for p in problems(xml)] == [
        (
            "approval",
            "proses 'approval' (Persetujuan): properti 'sla_activation': '7 hari' bukan durasi ISO 8601 yang valid (mis. 'P2D' atau 'PT4H')",
        )
    ]


def test_a_default_setting_with_a_bad_value_is_refused_where_a_timer_uses_it() -> None:
    catalogue = Catalogue(**{**CATALOGUE.__dict__, "setting_defaults": {"sla_verification_reminder": "P2X"}})
    xml = broken("setting('sla_recommendation')", "setting('sla_verification_reminder')")
    problem = only_problem(problems(xml, catalogue))
    assert problem.element_id == "reminder_timer"
    assert "(nilai bawaan pengaturan 'sla_verification_reminder')" in problem.message


# ---------------------------------------------------------------- structure


def test_duplicate_ids_are_refused_naming_both() -> None:
    found = problems(
        broken(
            '<bpmn:endEvent id="end_rejected" name="Ditolak" />', '<bpmn:endEvent id="end_approved" name="Ditolak" />'
        )
    )
    assert (
        "peristiwa akhir 'end_approved' (Ditolak): id 'end_approved' dipakai lebih dari sekali (juga oleh peristiwa akhir 'end_approved' (Disetujui))"
        in messages_for(found, "end_approved")
    )


def test_a_task_nothing_leads_to_is_refused() -> None:
    xml = broken(
        '<bpmn:endEvent id="end_approved" name="Disetujui" />',
        '<bpmn:endEvent id="end_approved" name="Disetujui" /><bpmn:manualTask id="orphan" name="Yatim" />',
    )
    found = problems(
        broken(
            '<bpmn:sequenceFlow id="flow_rejected"',
            '<bpmn:sequenceFlow id="flow_orphan" sourceRef="orphan" targetRef="end_rejected" /><bpmn:sequenceFlow id="flow_rejected"',
            xml,
        )
    )
    assert messages_for(found, "orphan") == [
        "tugas manual 'orphan' (Yatim): tidak punya alur masuk, sehingga tidak akan pernah dijalankan"
    ]


def test_a_loop_with_no_way_out_is_refused() -> None:
    xml = broken(
        'sourceRef="notify_reminder" targetRef="end_reminded"',
        'sourceRef="notify_reminder" targetRef="notify_reminder"',
    )
    xml = broken('<bpmn:endEvent id="end_reminded" name="Pengingat terkirim" />', "", xml)
    found = problems(xml)
    assert messages_for(found, "notify_reminder") == [
        "tugas layanan 'notify_reminder' (Ingatkan atasan): berputar tanpa jalan keluar ke peristiwa akhir"
    ]
    # The recommendation still reaches an end through its gateway: only the loop is named.
    assert messages_for(found, "recommend") == []


def test_unreachable_part_is_refused() -> None:
    xml = broken(
        '<bpmn:sequenceFlow id="flow_to_gateway" sourceRef="recommend" targetRef="decision_gateway" />',
        '<bpmn:sequenceFlow id="flow_to_gateway" sourceRef="recommend" targetRef="end_approved" />',
    )
    xml = broken(
        '<bpmn:sequenceFlow id="flow_rejected"',
        '<bpmn:sequenceFlow id="flow_back" sourceRef="end_rejected" targetRef="decision_gateway" /><bpmn:sequenceFlow id="flow_rejected"',
        xml,
    )
    found = problems(xml)
    assert messages_for(found, "decision_gateway") == [
        "gerbang 'decision_gateway' (Direkomendasikan?): tidak dapat dicapai dari peristiwa mulai "
        "(begitu pula 1 elemen sesudahnya)"
    ]
    # Only the first element of the cut-off part is named, and its condition is not blamed for the cut.
    assert messages_for(found, "end_rejected") == [] and messages_for(found, "flow_approved") == []


def test_a_typo_in_a_cut_off_part_is_still_found() -> None:
    xml = broken('sourceRef="registration_pdf" targetRef="recommend"', 'sourceRef="ghost" targetRef="recommend"')
    found = problems(broken('recommendation["decision"]', 'recomendation["decision"]', xml))
    assert [p.element_id for p in found] == ["flow_to_recommend", "registration_pdf", "recommend", "flow_approved"]
    assert found[2].message.endswith("tidak punya alur masuk, sehingga tidak akan pernah dijalankan")
    assert "memakai data 'recomendation'" in found[3].message


def test_a_loop_of_two_is_named_once() -> None:
    xml = broken('targetRef="end_approved">', 'targetRef="recheck">')
    xml = broken(
        '<bpmn:endEvent id="end_approved" name="Disetujui" />',
        '<bpmn:manualTask id="recheck" name="Periksa ulang" /><bpmn:manualTask id="again" name="Lagi" />'
        '<bpmn:sequenceFlow id="flow_again" sourceRef="recheck" targetRef="again" />'
        '<bpmn:sequenceFlow id="flow_recheck" sourceRef="again" targetRef="recheck" />',
        xml,
    )
    found = problems(xml)
    assert [(p.element_id, p.message) for p in found] == [
        (
            "recheck",
            "tugas manual 'recheck' (Periksa ulang): berputar tanpa jalan keluar ke peristiwa akhir "
            "(bersama 1 elemen lain di putaran ini)",
        )
    ]


def test_gateway_default_flow_must_exist_and_leave_the_gateway() -> None:
    missing = problems(broken('default="flow_rejected"', 'default="flow_rejectd"'))
    assert "gerbang 'decision_gateway' (Direkomendasikan?): alur default 'flow_rejectd' tidak ada" in messages_for(
        missing, "decision_gateway"
    )
    elsewhere = problems(broken('default="flow_rejected"', 'default="flow_start"'))
    assert (
        "gerbang 'decision_gateway' (Direkomendasikan?): alur default 'flow_start' tidak keluar dari elemen ini"
        in messages_for(elsewhere, "decision_gateway")
    )


def test_an_unconditional_flow_out_of_a_gateway_must_be_its_default() -> None:
    found = problems(broken(' default="flow_rejected"', ""))
    assert messages_for(found, "flow_rejected") == [
        "alur 'flow_rejected' (Tidak): keluar dari gerbang 'decision_gateway' tanpa kondisi dan bukan alur default"
    ]


# ---------------------------------------------------------------- data flow, sandbox


def test_data_produced_only_downstream_is_not_yet_there() -> None:
    found = problems(
        broken(
            '<sertel:input name="document" value="document" />',
            '<sertel:input name="document" value="recommendation" />',
        )
    )
    assert messages_for(found, "recommend") == [
        "tugas pengguna 'recommend' (Rekomendasi atasan): masukan formulir 'document' 'recommendation' memakai data "
        "'recommendation' yang belum ada pada titik ini"
    ]


def test_a_timer_sees_the_data_before_its_task_not_the_task_output() -> None:
    found = problems(broken('value="started_by" />', "value=\"recommendation['note']\" />"))
    assert [p.element_id for p in found] == ["notify_reminder"]


def test_a_script_assignment_and_the_start_form_are_known_downstream() -> None:
    xml = broken('value="started_by" />', 'value="document + old_serial" />')
    assert [p.element_id for p in problems(xml)] == ["notify_reminder"]
    with_start_form = broken(
        "<bpmn:extensionElements>\n      <sertel:properties>",
        '<bpmn:extensionElements>\n      <sertel:form name="renewal_start" />\n      <sertel:properties>',
        xml,
    )
    assert problems(with_start_form) == []


def test_without_a_start_form_its_fields_are_unknown() -> None:
    xml = broken('value="started_by" />', 'value="certificate_serial" />')
    assert [p.element_id for p in problems(xml)] == ["notify_reminder"]


def test_a_condition_the_sandbox_refuses_is_refused() -> None:
    found = problems(broken('recommendation["decision"] == "approve"', 'recommendation.__class__ == "approve"'))
    assert messages_for(found, "flow_approved") == [
        "alur 'flow_approved' (Ya): kondisi 'recommendation.__class__ == \"approve\"': atribut '.__class__' tidak diizinkan"
    ]


def test_a_call_activity_hands_back_the_data_of_the_called_process() -> None:
    called = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://sertel.test">
  <bpmn:process id="common_check" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:scriptTask id="decide"><bpmn:script>verdict = "ok"</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="decide" /><bpmn:sequenceFlow id="b" sourceRef="decide" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""
    xml = broken(
        '<bpmn:sequenceFlow id="flow_to_gateway" sourceRef="recommend" targetRef="decision_gateway" />',
        '<bpmn:callActivity id="check" name="Periksa" calledElement="common_check" />'
        '<bpmn:sequenceFlow id="flow_to_check" sourceRef="recommend" targetRef="check" />'
        '<bpmn:sequenceFlow id="flow_to_gateway" sourceRef="check" targetRef="decision_gateway" />',
    )
    xml = broken('recommendation["decision"] == "approve"', 'verdict == "ok"', xml)
    assert problems(xml, dependencies={"common_check.bpmn": called}) == []
    assert messages_for(problems(xml), "check") == [
        "aktivitas panggilan 'check' (Periksa): memanggil proses 'common_check' yang tidak ada (tersedia: approval)"
    ]


# ---------------------------------------------------------------- forms, lanes, operators


def test_unknown_form_is_refused() -> None:
    found = problems(
        broken(
            '<sertel:form name="recommendation" output="recommendation">',
            '<sertel:form name="recomendation" output="recommendation">',
        )
    )
    assert messages_for(found, "recommend") == [
        "tugas pengguna 'recommend' (Rekomendasi atasan): formulir 'recomendation' tidak ada di katalog formulir (maksudnya 'recommendation'?)"
    ]


def test_one_form_may_serve_two_tasks() -> None:
    xml = broken(
        '<sertel:form name="registration" output="registration_form" />',
        '<sertel:form name="recommendation" output="registration_form" />',
    )
    assert problems(xml) == []


def test_user_task_outside_a_lane_with_a_role_is_refused() -> None:
    found = problems(broken('name="Atasan"', 'name="Kepala"'))
    assert messages_for(found, "recommend") == [
        "tugas pengguna 'recommend' (Rekomendasi atasan): lane 'Kepala' tidak dipetakan ke peran (lane yang dikenal: Atasan, Pemohon)"
    ]
    found = problems(broken("<bpmn:flowNodeRef>recommend</bpmn:flowNodeRef>", ""))
    assert messages_for(found, "recommend") == [
        "tugas pengguna 'recommend' (Rekomendasi atasan): tugas pengguna harus berada di dalam lane yang dipetakan ke peran"
    ]


def test_a_user_task_must_name_its_form_and_the_form_its_template() -> None:
    xml = broken(
        '\n      <bpmn:extensionElements>\n        <sertel:form name="registration" output="registration_form" />\n      </bpmn:extensionElements>\n    ',
        "",
    )
    assert messages_for(problems(xml), "register")[0].endswith(
        "tidak menyebut formulir: pilih formulir dari katalog (<sertel:form name=...>)"
    )
    no_template = Catalogue(**{**CATALOGUE.__dict__, "template_exists": lambda name: name != "registration"})
    assert messages_for(problems(broken('name="Isi pendaftaran"', 'name="Isi pendaftaran"'), no_template), "register") == [
        "tugas pengguna 'register' (Isi pendaftaran): formulir 'registration': templat webforms/registration.html tidak ada"
    ]


def test_unknown_operator_and_unknown_pinned_version_are_refused() -> None:
    found = problems(broken('id="common.notify"', 'id="common.notfy"'))
    assert messages_for(found, "notify_reminder") == [
        "tugas layanan 'notify_reminder' (Ingatkan atasan): operator 'common.notfy' tidak terdaftar (maksudnya 'common.notify'?)"
    ]
    found = problems(broken('id="common.form_pdf@1"', 'id="common.form_pdf@3"'))
    assert messages_for(found, "registration_pdf") == [
        "tugas layanan 'registration_pdf' (Buat PDF pendaftaran): operator 'common.form_pdf' tidak punya versi '3' (versi yang ada: 1, 2)"
    ]


def test_an_unpinned_operator_is_checked_against_its_newest_version() -> None:
    found = problems(broken('id="common.form_pdf@1"', 'id="common.form_pdf"'))
    assert messages_for(found, "registration_pdf") == [
        "tugas layanan 'registration_pdf' (Buat PDF pendaftaran): parameter wajib 'copies' untuk operator 'common.form_pdf' tidak diisi"
    ]


def test_the_registry_parameter_check_is_used_when_there_is_one() -> None:
    calls: list[tuple[str, int, dict[str, str]]] = []

    def parameter_problems(name: str, version: int, values: object) -> list[str]:
        calls.append((name, version, dict(values)))  # type: ignore[call-overload]
        return ["ditolak oleh registri"] if name == "common.notify" else []

    catalogue = Catalogue(**{**CATALOGUE.__dict__, "parameter_problems": parameter_problems})
    found = problems(VALID, catalogue)
    assert [(p.element_id, p.message) for p in found] == [
        ("notify_reminder", "tugas layanan 'notify_reminder' (Ingatkan atasan): ditolak oleh registri")
    ]
    assert ("common.form_pdf", 1, {"form": "'registration'", "submission": "registration_form"}) in calls


def test_malformed_xml_is_one_problem_not_a_crash() -> None:
    assert [p.element_id for p in problems(VALID[:-40])] == ["approval"]


# ---------------------------------------------------------------- today's registry, deploy and the CLI


def test_the_catalogue_of_todays_registry() -> None:
    registry.discover("handlers")
    catalogue = build_catalogue(LANE_ROLES, load_settings({"ENV": "testing"}), deploy.form_exists)
    assert "common.form_pdf" in catalogue.operators
    assert "sla_verification_reminder" in catalogue.setting_names
    assert "secret_key" not in catalogue.setting_names and "database_url" not in catalogue.setting_names
    assert catalogue.setting_defaults["sla_verification_reminder"] == "P2D"
    assert "started_by" in catalogue.start_names
    assert catalogue.template_exists is deploy.form_exists


def issuance_xml() -> str:
    return (deploy.PROCESSES_DIR / "issuance_ams.bpmn").read_text(encoding="utf-8")


def with_ghost_target(xml: str) -> tuple[str, str]:
    """The document with its first sequence flow pointing at a missing element; and that flow's id."""
    root = etree.fromstring(xml.encode("utf-8"))
    flow = next(root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}sequenceFlow"))
    flow.set("targetRef", "ghost")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8"), flow.get("id", "")


def test_deploy_refuses_a_flow_to_a_missing_target_naming_the_flow(app: Flask) -> None:
    xml, flow_id = with_ghost_target(issuance_xml())
    with app.app_context():
        with pytest.raises(Invalid) as caught:
            deploy.deploy(xml, "issuance_ams", "test")
        assert f"alur '{flow_id}': tujuan 'ghost' tidak ada di diagram" in caught.value.fields[flow_id]
        assert "found two items" not in str(caught.value.fields)


def test_cli_deploy_refuses_all_files_if_one_is_broken_and_changes_nothing(app: Flask, tmp_path: Path) -> None:
    good = tmp_path / "renewal_rekey.bpmn"
    renewal = (deploy.PROCESSES_DIR / "renewal_rekey.bpmn").read_text(encoding="utf-8")
    good.write_text(
        broken('<bpmn:process id="renewal_rekey" name="', '<bpmn:process id="renewal_rekey" name="Diubah: ', renewal),
        encoding="utf-8",
    )
    bad = tmp_path / "issuance_ams.bpmn"
    xml, flow_id = with_ghost_target(issuance_xml())
    bad.write_text(xml, encoding="utf-8")
    with app.app_context():
        before = db.session.execute(select(ProcessDeployment.key, ProcessDeployment.version)).all()
    result = app.test_cli_runner().invoke(deploy_command, [str(good), str(bad)])
    assert result.exit_code == 1
    assert "Gagal: issuance_ams.bpmn: Diagram issuance_ams tidak lolos pemeriksaan" in result.stderr
    assert f"  {flow_id}: alur '{flow_id}': tujuan 'ghost' tidak ada di diagram" in result.stderr
    with app.app_context():
        assert db.session.execute(select(ProcessDeployment.key, ProcessDeployment.version)).all() == before


def test_an_empty_pool_of_an_outside_party_is_not_checked_but_a_second_executable_process_is() -> None:
    pool = '<bpmn:process id="psre_pool" name="PSrE" isExecutable="false" />\n</bpmn:definitions>'
    assert problems(broken("</bpmn:definitions>", pool)) == []
    executable = broken("</bpmn:definitions>", pool.replace('isExecutable="false"', 'isExecutable="true"'))
    assert messages_for(problems(executable), "psre_pool") == [
        "proses 'psre_pool' (PSrE): tidak punya peristiwa mulai",
        "proses 'psre_pool' (PSrE): tidak punya peristiwa akhir",
    ]


# ---------------------------------------------------------------- the issue's broken kinds on a real diagram, through deploy

BPMN_TAG = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def first_of(root: etree._Element, tag: str) -> etree._Element:
    element = next(root.iter(BPMN_TAG + tag), None)
    assert element is not None, f"no {tag} in the diagram"
    return element


def ghost_source(root: etree._Element) -> str:
    flow = first_of(root, "sequenceFlow")
    flow.set("sourceRef", "ghost")
    return str(flow.get("id", ""))


def ghost_target(root: etree._Element) -> str:
    flow = first_of(root, "sequenceFlow")
    flow.set("targetRef", "ghost")
    return str(flow.get("id", ""))


def dead_end(root: etree._Element) -> str:
    task = first_of(root, "serviceTask")
    for flow in list(root.iter(BPMN_TAG + "sequenceFlow")):
        if flow.get("sourceRef") == task.get("id"):
            flow.getparent().remove(flow)
    return str(task.get("id", ""))


def condition_typo(root: etree._Element) -> str:
    condition = first_of(root, "conditionExpression")
    text = str(condition.text)
    name = text.split("[")[0].strip()
    condition.text = text.replace(name, name[:-1], 1)
    return str(condition.getparent().get("id", ""))


def unknown_setting(root: etree._Element) -> str:
    first_of(root, "timeDuration").text = "setting('sla_unknown')"
    return str(first_of(root, "boundaryEvent").get("id", ""))


def bad_duration(root: etree._Element) -> str:
    first_of(root, "timeDuration").text = "'P1X'"
    return str(first_of(root, "boundaryEvent").get("id", ""))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (ghost_source, "sumber 'ghost' tidak ada di diagram"),
        (ghost_target, "tujuan 'ghost' tidak ada di diagram"),
        (dead_end, "buntu: tidak punya alur keluar"),
        (condition_typo, "yang belum ada pada titik ini"),
        (unknown_setting, "pengaturan 'sla_unknown' tidak dikenal"),
        (bad_duration, "'P1X' bukan durasi ISO 8601 yang valid"),
    ],
    ids=[
        "flow-from-missing-source",
        "flow-to-missing-target",
        "dead-end",
        "unknown-variable",
        "unknown-setting",
        "P1X",
    ],
)
def test_deploy_refuses_the_issues_broken_kinds_naming_the_element(
    app: Flask, change: Callable[[etree._Element], str], expected: str
) -> None:
    root = etree.fromstring((deploy.PROCESSES_DIR / "issuance_esign.bpmn").read_bytes())
    element_id = change(root)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")
    with app.app_context():
        before = deploy.latest("issuance_esign").version  # type: ignore[union-attr]
        with pytest.raises(Invalid) as caught:
            deploy.deploy(xml, "issuance_esign", "test")
        messages = caught.value.fields.get(element_id, [])
        assert any(expected in m and f"'{element_id}'" in m for m in messages), caught.value.fields
        assert deploy.latest("issuance_esign").version == before  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["registration-form", "_hidden", "setting", "class"])
def test_an_output_name_must_be_usable_in_expressions(name: str) -> None:
    found = problems(broken('output="registration_form"', f'output="{name}"'))
    assert any(
        m.startswith("tugas pengguna 'register' (Isi pendaftaran): output formulir")
        for m in messages_for(found, "register")
    )


def test_an_expression_too_deep_for_the_parser_is_a_problem_not_a_crash() -> None:
    found = problems(broken('recommendation["decision"] == "approve"', "-" * 100_000 + "1"))
    assert messages_for(found, "flow_approved") == [
        f"alur 'flow_approved' (Ya): kondisi '{'-' * 117}...': ekspresi terlalu panjang atau terlalu dalam bersarang"
    ]


CALLED_WITH_IO = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://sertel.test">
  <bpmn:process id="common_check" isExecutable="true">
    <bpmn:ioSpecification id="io">
      <bpmn:dataInput id="applicant_note" /><bpmn:dataOutput id="verdict" />
      <bpmn:inputSet id="inputs" /><bpmn:outputSet id="outputs" />
    </bpmn:ioSpecification>
    <bpmn:startEvent id="start" />
    <bpmn:scriptTask id="decide"><bpmn:script>verdict = applicant_note
scratch = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="decide" /><bpmn:sequenceFlow id="b" sourceRef="decide" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_a_called_process_with_data_inputs_and_outputs_passes_only_those() -> None:
    assert check_diagram(CALLED_WITH_IO, "common_check", CATALOGUE, {}) == []
    xml = broken(
        '<bpmn:sequenceFlow id="flow_to_gateway" sourceRef="recommend" targetRef="decision_gateway" />',
        '<bpmn:callActivity id="check" name="Periksa" calledElement="common_check" />'
        '<bpmn:sequenceFlow id="flow_to_check" sourceRef="recommend" targetRef="check" />'
        '<bpmn:sequenceFlow id="flow_to_gateway" sourceRef="check" targetRef="decision_gateway" />',
    )
    found = problems(
        broken('recommendation["decision"] == "approve"', "verdict == scratch", xml),
        dependencies={"c.bpmn": CALLED_WITH_IO},
    )
    assert [p.message for p in found] == [
        "aktivitas panggilan 'check' (Periksa): data masukan 'applicant_note' untuk proses 'common_check' belum ada pada titik ini",
        "alur 'flow_approved' (Ya): kondisi 'verdict == scratch' memakai data 'scratch' yang belum ada pada titik ini",
    ]


CALLED_READING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://sertel.test">
  <bpmn:process id="common_check" name="Pemeriksaan bersama" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:scriptTask id="decide" name="Putuskan"><bpmn:script>verdict = recommendation["decision"]</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="decide" /><bpmn:sequenceFlow id="b" sourceRef="decide" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def calling(xml: str = VALID, before: str = "recommend") -> str:
    """The valid diagram calling common_check after `before` (the recommendation, or the registration)."""
    xml = broken(
        '<bpmn:sequenceFlow id="flow_to_gateway" sourceRef="recommend" targetRef="decision_gateway" />',
        '<bpmn:sequenceFlow id="flow_to_gateway" sourceRef="check" targetRef="decision_gateway" />'
        '<bpmn:callActivity id="check" name="Periksa" calledElement="common_check" />'
        '<bpmn:sequenceFlow id="flow_to_check" sourceRef="recommend" targetRef="check" />',
        xml,
    )
    if before == "register":  # check between registration and the PDF, before any recommendation exists
        xml = broken(
            '<bpmn:sequenceFlow id="flow_to_check" sourceRef="recommend" targetRef="check" />',
            '<bpmn:sequenceFlow id="flow_to_check" sourceRef="recommend" targetRef="decision_gateway" />',
            xml,
        )
        xml = broken(
            '<bpmn:sequenceFlow id="flow_to_gateway" sourceRef="check" targetRef="decision_gateway" />', "", xml
        )
        xml = broken(
            '<bpmn:sequenceFlow id="flow_to_pdf" sourceRef="register" targetRef="registration_pdf" />',
            '<bpmn:sequenceFlow id="flow_to_pdf" sourceRef="check" targetRef="registration_pdf" /><bpmn:sequenceFlow id="flow_to_the_check" sourceRef="register" targetRef="check" />',
            xml,
        )
    return xml


def test_the_names_a_called_process_reads_are_checked_at_the_call() -> None:
    dependencies = {"common_check.bpmn": CALLED_READING}
    assert problems(calling(), dependencies=dependencies) == []
    found = problems(calling(before="register"), dependencies=dependencies)
    assert [(p.element_id, p.message) for p in found] == [
        (
            "check",
            "aktivitas panggilan 'check' (Periksa): di proses 'common_check', tugas skrip 'decide' (Putuskan): "
            "skrip 'verdict = recommendation[\"decision\"]' memakai data 'recommendation' yang belum ada pada titik ini",
        )
    ]


def test_a_shared_process_on_its_own_is_checked_for_everything_but_the_names_its_callers_give_it() -> None:
    assert check_diagram(CALLED_READING, "common_check", CATALOGUE, {}, shared=True) == []
    assert [p.element_id for p in check_diagram(CALLED_READING, "common_check", CATALOGUE, {})] == ["decide"]
    typo = CALLED_READING.replace("verdict = recommendation", "verdict = setting('sla_nope') + recommendation")
    assert [p.element_id for p in check_diagram(typo, "common_check", CATALOGUE, {}, shared=True)] == ["decide"]


def test_an_end_events_granted_property_is_checked() -> None:
    def with_property(name: str, value: str) -> str:
        return broken(
            '<bpmn:endEvent id="end_rejected" name="Ditolak" />',
            '<bpmn:endEvent id="end_rejected" name="Ditolak"><bpmn:extensionElements><sertel:properties>'
            f'<sertel:property name="{name}" value="{value}" /></sertel:properties></bpmn:extensionElements>'
            "</bpmn:endEvent>",
        )

    assert messages_for(problems(with_property("granted", "false")), "end_rejected") == []
    assert messages_for(problems(with_property("granted", "tidak")), "end_rejected") == [
        "peristiwa akhir 'end_rejected' (Ditolak): properti 'granted' harus 'true' atau 'false', bukan 'tidak'"
    ]
    assert messages_for(problems(with_property("dikabulkan", "false")), "end_rejected") == [
        "peristiwa akhir 'end_rejected' (Ditolak): properti peristiwa akhir 'dikabulkan' tidak dikenal "
        "(yang ada: 'granted')"
    ]
