"""SIGKILL the real server right after each PSrE call of every SOP, restart, retry: the RA and the PSrE still agree.

The heavy variant runs several life cycles with every PSrE call armed (at least 50 kills); the light one
runs one life cycle with the main call of each SOP armed. Figures go to SERTEL_CRASH_REPORT (JSON) when set.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from engine.app import create_app
from engine.models import Certificate, User, db
from tests.heavy.crash_flows import Flows
from tests.heavy.crash_server import Server, sertel, sertel_env

# The call that does the SOP's work at the PSrE (the light variant kills once at each).
MAIN_CALLS = "issue_from_csr,renew,reissue,issue_with_server_key,sign_pdf,reset_subject,revoke"
HEAVY_ROUNDS = int(os.environ.get("SERTEL_CRASH_ROUNDS", "4"))


def database_url(tmp_path: Path) -> str:
    """SQLite in the instance, or the PostgreSQL database of SERTEL_DATABASE_URL (its schema is emptied)."""
    url = os.environ.get("SERTEL_DATABASE_URL", "")
    if not url:
        return f"sqlite:///{tmp_path / 'sertel.sqlite3'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def crash_server(tmp_path: Path, armed: str) -> Iterator[tuple[Server, dict[str, str]]]:
    env = sertel_env(tmp_path / "instance", database_url(tmp_path))
    demo = sertel(env, "demo")
    assert demo.returncode == 0, demo.stderr[-2000:]
    server = Server({**env, "SERTEL_CRASH_AFTER_PSRE": armed, "SERTEL_CRASH_LEDGER": str(tmp_path / "ledger.txt")})
    server.start()
    try:
        yield server, env
    finally:
        server.stop()


@pytest.fixture
def heavy(tmp_path: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    yield from crash_server(tmp_path, "all")


@pytest.fixture
def light(tmp_path: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    yield from crash_server(tmp_path, MAIN_CALLS)


def active_per_person(env: dict[str, str]) -> tuple[dict[str, int], dict[str, int]]:
    """Good certificates per PSrE subject, and active ones per subject in the RA's records."""
    app = create_app({"DATABASE_URL": env["SERTEL_DATABASE_URL"], "INSTANCE_DIR": env["SERTEL_INSTANCE_DIR"], "ENV": "testing"})
    with app.app_context():
        books = app.extensions["sertel.psre"].list_certificates()
        ra = db.session.execute(select(Certificate.subject_id).where(Certificate.status == "active")).scalars()
        ra_count = Counter(ra)
        owners = db.session.execute(select(User)).scalars().all()
        db.engine.dispose()
    assert owners
    return dict(Counter(r.subject_id for r in books if r.status == "good")), dict(ra_count)


def check_end_state(flows: Flows, server: Server, env: dict[str, str], ledger: Path) -> dict[str, object]:
    """Every case completed, the same active certificates at both ends, and a clean reconciliation."""
    for case_id in flows.cases:
        assert flows.case(case_id)["case"]["status"] == "completed", case_id
    result = sertel(env, "psre", "reconcile")
    assert result.returncode == 0 and "Catatan RA dan PSrE sama." in result.stdout, result.stdout + result.stderr
    psre_good, ra_active = active_per_person(env)
    assert psre_good == ra_active
    calls = Counter(line.split(" ", 1)[0] for line in ledger.read_text().splitlines())
    figures = {
        "database": "postgresql" if env["SERTEL_DATABASE_URL"].startswith("postgresql") else "sqlite",
        "kills": sum(server.kills.values()),
        "kills_per_sop": dict(server.kills),
        "kills_per_psre_call": dict(calls),
        "cases": len(flows.cases),
        "rounds": flows.round,
    }
    report = os.environ.get("SERTEL_CRASH_REPORT")
    if report:
        with open(report, "a") as out:
            out.write(json.dumps(figures, sort_keys=True) + "\n")
    return figures


def test_every_sop_survives_a_kill_at_each_psre_call_and_ends_in_agreement(
    heavy: tuple[Server, dict[str, str]], tmp_path: Path
) -> None:
    server, env = heavy
    flows = Flows(server)
    for _ in range(HEAVY_ROUNDS):
        flows.life_cycle()
    figures = check_end_state(flows, server, env, tmp_path / "ledger.txt")
    assert figures["kills"] >= 50, figures  # type: ignore[operator]


def test_one_kill_at_the_main_psre_call_of_each_sop_ends_in_agreement(
    light: tuple[Server, dict[str, str]], tmp_path: Path
) -> None:
    server, env = light
    flows = Flows(server)
    flows.life_cycle()
    figures = check_end_state(flows, server, env, tmp_path / "ledger.txt")
    assert set(figures["kills_per_sop"]) >= {  # type: ignore[call-overload]
        "issuance_ams", "renewal_rekey", "data_change", "issuance_esign", "sign", "passphrase_lock", "revocation",
    }
