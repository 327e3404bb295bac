"""Storage measure: the bytes one completed SOP 088.9 case keeps in database rows (files not counted).

    .venv/bin/python bench/storage_bench.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/bench_storage]

Drives one 088.9 case end to end through the JSON API (Flask test client, real handlers: form PDFs, the
RA seal, issuance): the applicant registers, the agency head recommends, the verifikator approves, the
applicant activates with a CSR and confirms delivery. Then it sums the size of every row the case owns:
the case row, its inbox rows, its audit events (and the registry entry opening its stream), its document
and certificate rows. A row's size is the sum of its
values' lengths as text (UTF-8), the same on both databases; page and index overhead are not counted.

The database at --url is DESTROYED. Without --url a temporary SQLite file is used.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from sqlalchemy import event, select, text  # noqa: E402
from sqlalchemy import inspect as sa_inspect  # noqa: E402

from bench.datagen import bench_settings, ensure_database  # noqa: E402
from engine.app import create_app  # noqa: E402
from engine.models import AuditEvent, Certificate, Document, HumanTask, ProcessInstance, db  # noqa: E402
from engine.services import deploy, setup  # noqa: E402

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
RECOMMEND = {
    "decision": "approve",
    "head_name": "Dr. Agus Prasetyo, M.Kom.",
    "head_nip": "197501102000031003",
    "head_position": "Kepala Dinas Komunikasi dan Informatika",
}
APPROVE = {"decision": "approve", "checked_identity": True, "checked_asn": True, "checked_recommendation": True}


class Api:
    def __init__(self, client: Any, username: str) -> None:
        self.client = client
        answer = client.post("/api/v1/auth/token", json={"username": username, "password": setup.DEMO_PASSWORD})
        assert answer.status_code == 200, answer.get_json()
        self.headers = {"Authorization": f"Bearer {answer.get_json()['token']}"}

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers)

    def post(self, path: str, **kwargs: Any) -> Any:
        answer = self.client.post(f"/api/v1{path}", headers=self.headers, **kwargs)
        assert answer.status_code in (200, 201), (path, answer.status_code, answer.get_json())
        return answer

    def task(self, case_id: int, name: str) -> int:
        listing = self.get("/tasks").get_json()
        found = [
            t for t in listing["mine"] + listing["claimable"] if t["case_id"] == case_id and t["task_name"] == name
        ]
        assert len(found) == 1, listing
        return int(found[0]["id"])


def csr_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Budi Santoso")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def drive_case(client: Any) -> int:
    """One 088.9 case from start to delivery; returns its id."""
    pemohon, atasan, verifikator = Api(client, "pemohon"), Api(client, "atasan"), Api(client, "verifikator")
    case_id = int(pemohon.post("/cases", json={"process_key": "issuance_ams"}).get_json()["case"]["id"])
    registration = {
        "phone": "0812-3456-7890",
        "statement_true": "true",
        "ktp_scan": (io.BytesIO(PNG), "ktp.png"),
        "asn_proof": (io.BytesIO(PDF), "sk-cpns.pdf"),
    }
    task = pemohon.task(case_id, "registration_form")
    pemohon.post(f"/tasks/{task}/complete", data=registration, content_type="multipart/form-data")
    atasan.post(f"/tasks/{atasan.task(case_id, 'recommendation')}/complete", json=RECOMMEND)
    task = verifikator.task(case_id, "verification")
    verifikator.post(f"/tasks/{task}/claim")
    verifikator.post(f"/tasks/{task}/complete", json=APPROVE)
    task = pemohon.task(case_id, "activation")
    pemohon.post(f"/tasks/{task}/complete", json={"accept_obligations": True, "csr_pem": csr_pem()})
    pemohon.post(f"/tasks/{pemohon.task(case_id, 'delivery')}/complete", json={"received": True})
    status = pemohon.get(f"/cases/{case_id}").get_json()["case"]["status"]
    assert status == "completed", status
    return case_id


def row_bytes(row: Any) -> int:
    """The size of a row: its values as text, UTF-8."""
    total = 0
    for column in sa_inspect(row).mapper.column_attrs:
        value = getattr(row, column.key)
        if value is not None:
            total += len(str(value).encode("utf-8"))
    return total


def measure(case_id: int) -> dict[str, Any]:
    """Bytes per kind of row the case owns, and the audit events by kind."""
    case = db.session.get(ProcessInstance, case_id)
    assert case is not None
    stream = f"case:{case_id}"
    events = list(db.session.execute(select(AuditEvent).where(AuditEvent.stream == stream)).scalars())
    opened = [
        e
        for e in db.session.execute(select(AuditEvent).where(AuditEvent.stream == "registry")).scalars()
        if json.loads(e.payload_json).get("stream") == stream
    ]
    tasks = list(db.session.execute(select(HumanTask).where(HumanTask.instance_id == case_id)).scalars())
    docs = list(db.session.execute(select(Document).where(Document.instance_id == case_id)).scalars())
    certs = list(db.session.execute(select(Certificate).where(Certificate.instance_id == case_id)).scalars())
    by_kind: Counter[str] = Counter()
    count: Counter[str] = Counter()
    for e in events:
        by_kind[e.kind] += row_bytes(e)
        count[e.kind] += 1
    parts = {
        "case row": row_bytes(case),
        "  of which state_json": len(case.state_json.encode("utf-8")),
        f"audit events ({len(events) + len(opened)})": sum(row_bytes(e) for e in [*events, *opened]),
        f"inbox rows ({len(tasks)})": sum(row_bytes(t) for t in tasks),
        f"document rows ({len(docs)})": sum(row_bytes(d) for d in docs),
        f"certificate rows ({len(certs)})": sum(row_bytes(c) for c in certs),
    }
    total = sum(v for k, v in parts.items() if not k.startswith("  "))
    return {"parts": parts, "total": total, "events": {k: (count[k], by_kind[k]) for k in by_kind}}


def page_costs(app: Any, case_id: int, requests: int) -> dict[str, tuple[float, float, int]]:
    """The case page and the case API of the finished case: median and max ms, statements per request."""
    counter = {"n": 0}
    with app.app_context():

        @event.listens_for(db.engine, "before_cursor_execute")
        def _count(*_args: Any) -> None:
            counter["n"] += 1

    client = app.test_client()
    page = client.get("/masuk").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    answer = client.post(
        "/masuk",
        data={"username": "verifikator", "password": setup.DEMO_PASSWORD, "csrf_token": token.group(1)},
    )
    assert answer.status_code == 302, answer.status_code
    api = Api(app.test_client(), "verifikator")
    found: dict[str, tuple[float, float, int]] = {}
    for name, call in (
        (f"/kasus/{case_id}", lambda: client.get(f"/kasus/{case_id}")),
        (f"GET /api/v1/cases/{case_id}", lambda: api.get(f"/cases/{case_id}")),
    ):
        assert call().status_code == 200  # warm: templates, the definition cache
        times: list[float] = []
        for _ in range(requests):
            counter["n"] = 0
            start = time.perf_counter()
            assert call().status_code == 200
            times.append((time.perf_counter() - start) * 1000)
        found[name] = (statistics.median(times), max(times), counter["n"])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="", help="database (DESTROYED); default: a temporary SQLite file")
    parser.add_argument("--pages", type=int, default=0, help="also time the case page and case API N times")
    args = parser.parse_args()
    instance = Path(tempfile.mkdtemp(prefix="sertel-storage-bench-"))
    url = args.url or f"sqlite:///{instance / 'bench.sqlite3'}"
    ensure_database(url)
    app = create_app(bench_settings(url, instance))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        setup.create_schema()
        setup.initialise_psre()
        setup.load_demo()
        deploy.deploy_files(sorted(deploy.PROCESSES_DIR.glob("*.bpmn")), "bench")
    case_id = drive_case(app.test_client())
    with app.app_context():
        result = measure(case_id)
    print(f"088.9 case #{case_id}, completed, {url.split('://')[0]}: rows of the case, bytes")
    for name, size in result["parts"].items():
        print(f"  {name:<32} {size:>8,}")
    print(f"  {'total':<32} {result['total']:>8,}")
    if args.pages:
        for name, (median, worst, statements) in page_costs(app, case_id, args.pages).items():
            print(f"  {name:<32} median {median:6.1f} ms, max {worst:6.1f} ms, {statements} statements")
    print("audit events by kind (count, bytes):")
    for kind, (n, size) in sorted(result["events"].items(), key=lambda kv: -kv[1][1]):
        print(f"  {kind:<32} {n:>3} {size:>8,}")


if __name__ == "__main__":
    main()
