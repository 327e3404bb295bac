"""Click benchmark: how long a person waits for `POST /api/v1/tasks/N/complete`, background steps off and on.

    .venv/bin/python bench/click_bench.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/bench_click]
                                          [--runs 3] [--clicks 8]

The click is SOP 088.9's recommendation by the agency head, with every real handler: the recommendation
PDF rendered and sealed by the RA, the automated checks, the verification call activity. With
SERTEL_BACKGROUND_STEPS off, all of it runs in the request. On, the service tasks the shipped diagram marks
`background=true` (the form PDFs) run after the answer; the benchmark then runs them itself, untimed, with
the scheduler's own function, so the next click starts from the same state. The two modes alternate click
by click on the same database (two apps, one setting apart). Each run reports the median and p95 of both;
the summary gives the range of the medians over runs.

The database at --url is DESTROYED (its public schema, or the SQLite file, is recreated). Without --url a
temporary SQLite file is used.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.datagen import bench_settings, build_base  # noqa: E402
from engine.app import create_app  # noqa: E402
from engine.models import db  # noqa: E402
from engine.services import accounts, setup, timers  # noqa: E402

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
RECOMMEND = {
    "decision": "approve",
    "head_name": "Dr. Agus Prasetyo, M.Kom.",
    "head_nip": "197501102000031003",
    "head_position": "Kepala Dinas Komunikasi dan Informatika",
}


class Client:
    """The JSON API as one demo user."""

    def __init__(self, app: Any, username: str) -> None:
        self.client = app.test_client()
        answer = self.client.post("/api/v1/auth/token", json={"username": username, "password": setup.DEMO_PASSWORD})
        assert answer.status_code == 200, answer.get_json()
        self.headers = {"Authorization": f"Bearer {answer.get_json()['token']}"}

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(f"/api/v1{path}", headers=self.headers, **kwargs)


def task_of(user: Client, case_id: int, name: str) -> int:
    listing = user.get("/tasks").get_json()
    [task] = [t for t in listing["mine"] + listing["claimable"] if t["case_id"] == case_id and t["task_name"] == name]
    return int(task["id"])


def drain(app: Any) -> None:
    """Run what the click left to the background (the scheduler's function), untimed."""
    with app.app_context():
        while timers.fire_due_timers():
            pass


def applicant(app: Any, number: int) -> Client:
    """A fresh applicant of the agency head's agency (one running 088.9 case per person is allowed)."""
    with app.app_context():
        accounts.create_user(
            f"klik{number}",
            setup.DEMO_PASSWORD,
            f"Pemohon Uji {number}",
            f"klik{number}@pekalongankota.go.id",
            ["Pemohon"],
            "diskominfo",
            nip=f"198501012010011{number:03d}",
            nik=f"337501010185{number:04d}",
            actor="bench",
            position="Pranata Komputer",
        )
    return Client(app, f"klik{number}")


def registered_case(app: Any, pemohon: Client) -> int:
    case_id = int(pemohon.post("/cases", json={"process_key": "issuance_ams"}).get_json()["case"]["id"])
    body = {
        "phone": "0812-3456-7890",
        "statement_true": "true",
        "ktp_scan": (io.BytesIO(PNG), "ktp.png"),
        "asn_proof": (io.BytesIO(PDF), "sk.pdf"),
    }
    answer = pemohon.post(
        f"/tasks/{task_of(pemohon, case_id, 'registration_form')}/complete",
        data=body,
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200, answer.get_json()
    drain(app)
    return case_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clicks", type=int, default=8, help="clicks per mode per run")
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="sertel-click-bench-"))
    url = args.url or f"sqlite:///{instance / 'click.sqlite3'}"
    build_base(url, instance)
    apps = {
        mode: create_app({**bench_settings(url, instance), "BACKGROUND_STEPS": mode == "on", "BACKGROUND_KICK": False})
        for mode in ("off", "on")
    }
    heads = {mode: Client(app, "atasan") for mode, app in apps.items()}
    number = 0
    medians: dict[str, list[float]] = {"off": [], "on": []}
    print("| run | off: median | off: p95 | on: median | on: p95 |")
    print("|---:|---:|---:|---:|---:|")
    for run in range(1, args.runs + 1):
        spent: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(args.clicks):
            for mode, app in apps.items():
                number += 1
                atasan = heads[mode]
                case_id = registered_case(app, applicant(app, number))
                task_id = task_of(atasan, case_id, "recommendation")
                began = time.perf_counter()
                answer = atasan.post(f"/tasks/{task_id}/complete", json=RECOMMEND)
                spent[mode].append((time.perf_counter() - began) * 1000)
                assert answer.status_code == 200, answer.get_json()
                drain(app)
        row = []
        for mode in ("off", "on"):
            ordered = sorted(spent[mode])
            medians[mode].append(statistics.median(ordered))
            row += [f"{statistics.median(ordered):.0f} ms", f"{ordered[round(0.95 * (len(ordered) - 1))]:.0f} ms"]
        print(f"| {run} | " + " | ".join(row) + " |", flush=True)
    for mode in ("off", "on"):
        print(f"background {mode}: median {min(medians[mode]):.0f}–{max(medians[mode]):.0f} ms over {args.runs} runs")
    with apps["off"].app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
