"""Regression fixtures stored per process: saved from finished cases, re-executed before every publish.

A process owner saves a finished case as a named fixture of its process (`save`); the fixture is the one
`replay_regression.fixture_of` builds (the case's recorded inputs, its recorded path and its end). Every
publish of a new version of that process (modeler, API, `sertel deploy`) re-executes each stored fixture
on the new definition (`run_stored`, no handler, no PSrE) and is refused when a path or an end differs
(`refusal`). Saving and deleting are audit events in the `system` stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine import runtime
from engine.models import ProcessInstance, RegressionFixture, db
from engine.services import audit, transactions
from engine.services.errors import Conflict, Invalid, NotFound
from engine.services.replay import Difference, ReplayError
from engine.services.replay_regression import RegressionFinding, check, fixture_of

STREAM = "system"
NAME_MAX = 120


@dataclass(frozen=True)
class FixtureResult:
    """One stored fixture re-executed on a new definition."""

    fixture_id: int
    name: str
    case_id: int
    finding: RegressionFinding

    @property
    def passed(self) -> bool:
        """True when the path and the end are the recorded ones."""
        return self.finding.difference is None

    @property
    def element_id(self) -> str | None:
        """The element of the first differing step (for the modeler's markers)."""
        return self.finding.element_id

    @property
    def message(self) -> str:
        """In Indonesian, naming the fixture and, when it differs, the first differing step."""
        head = f"Uji regresi '{self.name}' (kasus #{self.case_id})"
        if self.passed:
            return f"{head}: jalur sama ({self.finding.steps_checked} langkah)."
        return f"{head}: jalur berubah mulai {self.finding.step}. {self.finding.difference}"

    def as_dict(self) -> dict[str, Any]:
        """JSON for the API and the modeler's check panel."""
        return {
            "id": self.fixture_id,
            "name": self.name,
            "case_id": self.case_id,
            "passed": self.passed,
            "element_id": self.element_id,
            "step": self.finding.step if not self.passed else None,
            "steps_checked": self.finding.steps_checked,
            "message": self.message,
        }


def _fixtures(key: str) -> list[RegressionFixture]:
    return list(
        db.session.execute(
            select(RegressionFixture).where(RegressionFixture.key == key).order_by(RegressionFixture.id)
        ).scalars()
    )


def has_fixtures(key: str) -> bool:
    """Whether a publish of `key` has fixtures to re-execute (so the definition need not be built otherwise)."""
    found = db.session.execute(select(RegressionFixture.id).where(RegressionFixture.key == key).limit(1)).scalar()
    return found is not None


def listing(key: str) -> list[dict[str, Any]]:
    """The stored fixtures of a process, oldest first (without their recorded entries)."""
    rows = []
    for fixture in _fixtures(key):
        recorded = json.loads(fixture.fixture_json)
        rows.append(
            {
                "id": fixture.id,
                "name": fixture.name,
                "case_id": fixture.case_id,
                "version": fixture.version,
                "steps": sum(1 for e in recorded.get("entries", []) if e.get("kind") == "step_completed"),
                "outcome": (recorded.get("expected") or {}).get("outcome"),
                "saved_by": fixture.saved_by,
                "saved_at": fixture.saved_at.isoformat(timespec="seconds"),
            }
        )
    return rows


def _valid_name(name: str | None, case_id: int) -> str:
    name = (name or "").strip() or f"kasus-{case_id}"
    if len(name) > NAME_MAX or any(ord(c) < 32 for c in name):
        raise Invalid("Nama uji regresi tidak valid.", {"name": [f"Maks. {NAME_MAX} karakter, tanpa baris baru."]})
    return name


def save(case_id: int, name: str | None, actor: str, key: str | None = None) -> RegressionFixture:
    """Store a finished case as a named regression fixture of its process; `key`, when given, must be its process."""
    transactions.begin_write()
    case = db.session.get(ProcessInstance, case_id)
    if case is None or (key is not None and case.sop_key != key):
        raise NotFound("Kasus tidak ditemukan" + (f" pada proses '{key}'." if key else "."))
    fixture = fixture_of(case_id)
    name = _valid_name(name, case_id)
    taken = db.session.execute(
        select(RegressionFixture.id).where(RegressionFixture.key == case.sop_key, RegressionFixture.name == name)
    ).scalar()
    if taken is not None:
        raise Conflict(f"Uji regresi bernama '{name}' sudah ada pada proses '{case.sop_key}'.")
    row = RegressionFixture(
        key=case.sop_key,
        name=name,
        case_id=case_id,
        version=int(fixture["version"]),
        fixture_json=json.dumps(fixture, ensure_ascii=False),
        saved_by=actor,
    )
    db.session.add(row)
    db.session.flush()
    audit.append(
        STREAM,
        "regression_fixture_saved",
        actor,
        {"key": row.key, "name": name, "fixture_id": row.id, "case_id": case_id, "version": row.version},
    )
    db.session.commit()
    return row


def delete(key: str, fixture_id: int, actor: str) -> None:
    """Delete a stored fixture of a process (the publish check no longer runs it)."""
    transactions.begin_write()
    row = db.session.get(RegressionFixture, fixture_id)
    if row is None or row.key != key:
        raise NotFound(f"Uji regresi #{fixture_id} tidak ditemukan pada proses '{key}'.")
    payload = {"key": key, "name": row.name, "fixture_id": row.id, "case_id": row.case_id}
    db.session.delete(row)
    db.session.flush()
    audit.append(STREAM, "regression_fixture_deleted", actor, payload)
    db.session.commit()


def run_stored(key: str, definition: str) -> list[FixtureResult]:
    """Re-execute every stored fixture of `key` on a definition (spec JSON); nothing is written."""
    results = []
    for row in _fixtures(key):
        try:
            [finding] = check(key, definition, [json.loads(row.fixture_json)])
        except (ReplayError, runtime.EngineError, runtime.ProcessError, Invalid) as exc:
            message = exc.message if isinstance(exc, Invalid) else str(exc)
            finding = RegressionFinding(row.case_id, Difference(None, message), 0)
        results.append(FixtureResult(row.id, row.name, row.case_id, finding))
    return results


def problems(key: str, results: list[FixtureResult]) -> list[runtime.Problem]:
    """The failed fixtures as publish problems, on the element where each path departs (else the process)."""
    return [runtime.Problem(r.element_id or key, r.message) for r in results if not r.passed]


def refusal(key: str, results: list[FixtureResult]) -> Invalid | None:
    """The refusal of a publish whose diagram changes a stored fixture's path (None: every fixture passes)."""
    failed = [r for r in results if not r.passed]
    if not failed:
        return None
    first = failed[0]
    more = f" (dan {len(failed) - 1} uji regresi lain)" if len(failed) > 1 else ""
    fields: dict[str, list[str]] = {}
    for problem in problems(key, results):
        fields.setdefault(problem.element_id, []).append(problem.message)
    return Invalid(
        f"Diagram {key} tidak diterbitkan: uji regresi '{first.name}' (kasus #{first.case_id}) menempuh jalur "
        f"lain mulai {first.finding.step}{more}.",
        fields,
    )
