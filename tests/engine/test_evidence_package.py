"""The evidence package: built for an auditor, verified offline, and any changed or missing byte is found."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.cli import audit_group
from engine.models import AuditEvent, db
from engine.services import access_log
from engine.services.package_verify import verify_package
from engine.services.runtime_context import psre
from tests.sops.test_issuance_ams import recommend, start_and_register, verify
from tests.web_login import login


def _members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def package(app: Flask, client: FlaskClient, api: Any) -> tuple[int, bytes, bytes]:
    """(case id, the package an auditor downloaded, the CA root as a trusted party holds it)."""
    _pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    assert verify(api, case_id, {"decision": "reject", "reasons": "Bukan ASN."}).status_code == 200
    login(client, "auditor")
    response = client.get(f"/audit/kasus/{case_id}/paket")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/zip"
    with app.app_context():
        chain = psre().ca_chain_pem().encode("ascii")
    root = [c for c in chain.split(b"-----END CERTIFICATE-----") if c.strip()][-1] + b"-----END CERTIFICATE-----\n"
    return case_id, response.data, root.lstrip()


def test_a_package_holds_the_case_and_verifies_offline(app: Flask, package: tuple[int, bytes, bytes]) -> None:
    case_id, content, root = package
    members = _members(content)
    manifest = json.loads(members["manifest.json"])
    assert manifest["case_id"] == case_id and manifest["outcome"] == "end_rejected"
    assert manifest["retention_years"] == 10  # SERTEL_DOSSIER_RETENTION_YEARS
    assert set(manifest["files"]) == set(members) - {"manifest.json", "manifest.sig"}
    assert {"timeline.json", "timeline.pdf", "audit/events.json", "audit/anchor.json"} <= set(members)
    assert members["timeline.pdf"].startswith(b"%PDF")
    assert any(name.startswith("diagram/issuance_ams-v") for name in members)
    assert "common_archive" in json.loads(members["diagram/definition.json"])["subprocess_specs"]
    assert any(name.startswith("documents/") and name.endswith(".pdf") for name in members)
    events = json.loads(members["audit/events.json"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["kind"] == "case_completed"
    anchor = json.loads(members["audit/anchor.json"])
    assert [f"case:{case_id}", len(events), events[-1]["hash"]] in anchor["payload"]["heads"]

    report = verify_package(content, root)
    assert report.ok, report.problems
    assert report.warnings == [] and report.events == len(events)
    with app.app_context():
        logged = db.session.execute(
            select(AuditEvent).where(
                AuditEvent.stream == access_log.ACCESS_STREAM, AuditEvent.kind == "evidence_package_exported"
            )
        ).scalar_one()
        assert json.loads(logged.payload_json)["case_id"] == case_id and logged.actor == "auditor"


def test_without_a_trust_anchor_the_package_root_is_used_with_a_warning(package: tuple[int, bytes, bytes]) -> None:
    report = verify_package(package[1])
    assert report.ok and any("jangkar kepercayaan diambil dari paket" in w for w in report.warnings)


def test_every_single_changed_byte_or_removed_member_fails(package: tuple[int, bytes, bytes]) -> None:
    _case_id, content, root = package
    members = _members(content)
    assert verify_package(_zip(members), root).ok  # re-zipping alone changes nothing that is checked
    for name, data in members.items():
        for position in {0, len(data) // 2, len(data) - 1}:
            changed = bytearray(data)
            changed[position] ^= 0x01
            report = verify_package(_zip({**members, name: bytes(changed)}), root)
            assert not report.ok, f"{name} byte {position} changed, yet verified"
        removed = verify_package(_zip({k: v for k, v in members.items() if k != name}), root)
        assert not removed.ok, f"{name} removed, yet verified"
    report = verify_package(_zip({**members, "documents/extra.txt": b"x"}), root)
    assert report.problems == ["berkas documents/extra.txt tidak tercantum di manifes"]
    changed = bytearray(members["timeline.json"])
    changed[5] ^= 0x01
    report = verify_package(_zip({**members, "timeline.json": bytes(changed)}), root)
    assert report.problems == ["berkas timeline.json diubah: SHA-256 tidak sama dengan manifes"]
    # And the raw ZIP: one byte flipped anywhere in a member's data fails (CRC or hash).
    flipped = bytearray(content)
    flipped[len(content) // 3] ^= 0x01
    assert not verify_package(bytes(flipped), root).ok


def test_a_reordered_or_rechained_event_list_with_a_fresh_manifest_still_fails_the_seal(
    package: tuple[int, bytes, bytes],
) -> None:
    _case_id, content, root = package
    members = _members(content)
    events = json.loads(members["audit/events.json"])
    events[1], events[2] = events[2], events[1]
    members["audit/events.json"] = json.dumps(events).encode()
    report = verify_package(_zip(members), root)
    assert "berkas audit/events.json diubah: SHA-256 tidak sama dengan manifes" in report.problems
    assert any("urutan terputus" in p for p in report.problems)


def test_a_foreign_trust_anchor_refuses_the_seal(package: tuple[int, bytes, bytes], tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "Lain")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    report = verify_package(package[1], cert.public_bytes(serialization.Encoding.PEM))
    assert any("tidak sampai ke jangkar kepercayaan" in p for p in report.problems)


def test_cli_exports_and_verifies_a_package(app: Flask, package: tuple[int, bytes, bytes], tmp_path: Path) -> None:
    case_id, _content, root = package
    out, anchor = tmp_path / "paket.zip", tmp_path / "root.pem"
    anchor.write_bytes(root)
    result = app.test_cli_runner().invoke(audit_group, ["export", str(case_id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    runner = CliRunner()  # verification needs no app: only the package and the root
    result = runner.invoke(audit_group, ["verify-package", str(out), "--ra-cert", str(anchor)])
    assert result.exit_code == 0, result.output
    assert f"Paket bukti kasus {case_id} utuh" in result.output
    data = bytearray(out.read_bytes())
    members = _members(bytes(data))
    members["manifest.json"] = members["manifest.json"].replace(b'"status"', b'"statuz"')
    out.write_bytes(_zip(members))
    result = runner.invoke(audit_group, ["verify-package", str(out), "--ra-cert", str(anchor)])
    assert result.exit_code == 1 and "segel Otoritas Pendaftaran atas manifest.json tidak sah" in result.output


def test_only_the_auditor_downloads_packages(client: FlaskClient) -> None:
    login(client, "admin")
    assert client.get("/audit/kasus/1/paket").status_code == 403
