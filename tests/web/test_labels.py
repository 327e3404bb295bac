"""The labels people read: payloads as labelled fields, durations in words, one vocabulary for codes."""

from __future__ import annotations

from datetime import timedelta

from engine import registry, vocabulary
from engine.vocabulary import FIELD_LABELS
from engine.web import labels
from handlers.revocation import REASONS


def test_a_check_list_becomes_one_labelled_line_per_check() -> None:
    payload = {"checks": {"all_ok": False, "errors": 1, "warnings": 0, "items": [
        {"code": "nip_format", "label": "Struktur NIP", "ok": False, "severity": "error", "message": "Bulan 14 tidak ada."},
        {"code": "email_domain", "label": "E-mail dinas", "ok": True, "severity": "error", "message": "Sesuai."},
    ]}}
    assert list(labels.payload_rows(payload)) == [
        ("Struktur NIP", "tidak sesuai: Bulan 14 tidak ada."),
        ("E-mail dinas", "sesuai: Sesuai."),
    ]


def test_a_submission_shows_labels_and_words_never_a_python_dict() -> None:
    payload = {"verification": {"decision": "approve", "checked_identity": True, "notes": None,
                                "agency_code": "dinkes", "psre": {"status": "good", "at": "2026-12-03T01:00:00"}}}
    rows = dict(labels.payload_rows(payload, {"dinkes": "Dinas Kesehatan"}))
    assert rows["Keputusan"] == "Disetujui" and rows["Identitas diperiksa"] == "Ya" and rows["Catatan"] == "—"
    assert rows["Perangkat daerah"] == "Dinas Kesehatan"
    assert rows["Psre"] == "Status: Berlaku (tidak dicabut); Waktu: 03-12-2026 08:00 WIB"
    assert not any("{" in text for text in rows.values())


def test_a_status_is_labelled_with_the_diagrams_end_event_name() -> None:
    assert labels.status_label("completed", "Sertifikat diserahkan") == "Selesai (Sertifikat diserahkan)"
    assert labels.status_label("running") == "Berjalan"


def test_waiting_times_read_as_words() -> None:
    assert labels.duration(timedelta(seconds=20)) == "kurang dari 1 menit"
    assert labels.duration(timedelta(minutes=45)) == "45 menit"
    assert labels.duration(timedelta(hours=5, minutes=10)) == "5 jam 10 menit"
    assert labels.duration(timedelta(days=2, hours=3)) == "2 hari 3 jam"


def test_handlers_and_pages_share_one_vocabulary() -> None:
    assert REASONS == vocabulary.REVOCATION_REASONS
    assert labels.DECISION_LABELS is vocabulary.DECISIONS
    assert vocabulary.code_label("psre_status", "ISSUE") == "Sertifikat aktif di PSrE"
    assert vocabulary.code_label("sub_indication", "REVOKED_NO_POE", ).startswith("Sertifikat dicabut")
    assert vocabulary.code_label("notes", "ISSUE") is None  # free text is never translated
    assert vocabulary.code_label("notes", "ISSUE") is None  # free text is never translated


def test_every_operator_result_and_form_field_has_an_indonesian_label() -> None:
    """The timeline and the dossier print field names by their labels: none may fall back to its code name."""
    registry.discover()
    missing = {
        f"{op.pinned_id}: {name}" for op in registry.operators() for name in op.results if name not in FIELD_LABELS
    }
    missing |= {
        f"form {form.name}: {name}"
        for form in registry.forms()
        for name, spec in form.schema().fields.items()
        if not spec.metadata.get("label") and not spec.metadata.get("secret") and name not in FIELD_LABELS
    }
    assert not missing, sorted(missing)
