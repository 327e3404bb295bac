"""Deploying BPMN files as immutable, versioned process definitions."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select

from engine import diagram_checks, runtime
from engine.config import ROOT
from engine.models import ProcessDeployment, db
from engine.services import audit, runtime_context
from engine.services.access import LANE_ROLES
from engine.services.errors import Invalid

PROCESSES_DIR = ROOT / "processes"
WEBFORMS_DIR = ROOT / "webforms"


def form_exists(name: str) -> bool:
    """Tell whether a catalogue form has its webform template (webforms/<name>.html)."""
    return (WEBFORMS_DIR / f"{name}.html").is_file()


def common_processes() -> dict[str, str]:
    """The shared call activities of processes/common/, by file name."""
    folder = PROCESSES_DIR / "common"
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.bpmn"))} if folder.is_dir() else {}


def parse_and_check(xml: str, key: str) -> runtime.ParsedProcess:
    """Parse a diagram and run every deploy check; raise Invalid listing the problems per element."""
    try:
        ids = runtime.process_ids(xml) if xml.strip() else []
    except runtime.ProcessError as exc:
        raise Invalid(str(exc)) from exc
    if key not in ids:
        raise Invalid(f"Diagram harus memuat proses dengan id '{key}' (ditemukan: {', '.join(ids) or 'tidak ada'}).")
    # Our own checks first: a structural fault gets a message naming its element, not SpiffWorkflow's.
    catalogue = diagram_checks.build_catalogue(LANE_ROLES, runtime_context.settings(), form_exists)
    problems = diagram_checks.check_diagram(xml, key, catalogue, common_processes())
    if problems:
        raise refusal(key, problems)
    try:
        parsed = runtime.parse(xml, key, common_processes())
    except runtime.ProcessError as exc:
        raise Invalid(str(exc)) from exc
    problems = runtime.check(parsed, LANE_ROLES, form_exists)
    if problems:
        raise refusal(key, problems)
    return parsed


def refusal(key: str, problems: list[runtime.Problem]) -> Invalid:
    """The error refusing a diagram, its problems listed per element."""
    fields: dict[str, list[str]] = {}
    for problem in problems:
        fields.setdefault(problem.element_id, []).append(problem.message)
    return Invalid(f"Diagram {key} tidak lolos pemeriksaan ({len(problems)} masalah).", fields)


def definition_digest(xml: str, parsed: runtime.ParsedProcess) -> str:
    """sha256 of the diagram and of the shared call activities it uses: a change to either is a new version."""
    used = set(parsed.subprocess_specs)
    digest = hashlib.sha256(xml.encode("utf-8"))
    for name, text in common_processes().items():
        if used.intersection(runtime.process_ids(text)):
            digest.update(b"\0" + name.encode("utf-8") + b"\0" + text.encode("utf-8"))
    return digest.hexdigest()


def deploy(xml: str, key: str, actor: str) -> tuple[ProcessDeployment, bool]:
    """Deploy a diagram; return (deployment, created). An unchanged definition is not re-versioned."""
    parsed = parse_and_check(xml, key)
    digest = definition_digest(xml, parsed)
    existing = db.session.execute(
        select(ProcessDeployment).where(ProcessDeployment.key == key, ProcessDeployment.sha256 == digest)
    ).scalar_one_or_none()
    if existing:
        return existing, False
    latest = db.session.execute(
        select(func.max(ProcessDeployment.version)).where(ProcessDeployment.key == key)
    ).scalar()
    deployment = ProcessDeployment(
        key=key,
        version=(latest or 0) + 1,
        sha256=digest,
        title=parsed.title,
        xml=xml,
        spec_json=runtime.spec_json(parsed),
        deployed_by=actor,
    )
    db.session.add(deployment)
    db.session.flush()
    audit.append("system", "process_deployed", actor, {"key": key, "version": deployment.version, "sha256": digest})
    db.session.commit()
    return deployment, True


def deploy_files(paths: list[Path], actor: str) -> list[tuple[ProcessDeployment, bool]]:
    """Deploy BPMN files, each under the key named by its file name."""
    return [deploy(path.read_text(encoding="utf-8"), path.stem, actor) for path in paths]


def latest(key: str) -> ProcessDeployment | None:
    """The newest deployed version of a process."""
    return db.session.execute(
        select(ProcessDeployment)
        .where(ProcessDeployment.key == key)
        .order_by(ProcessDeployment.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def latest_all() -> list[ProcessDeployment]:
    """The newest version of every deployed process."""
    keys = db.session.execute(select(ProcessDeployment.key).distinct().order_by(ProcessDeployment.key)).scalars()
    return [d for d in (latest(k) for k in keys) if d]
