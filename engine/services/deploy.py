"""Publishing BPMN files as immutable, versioned process definitions (drafts and rollback: versions.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select

from engine import diagram_checks, registry, runtime
from engine.config import ROOT
from engine.models import ProcessDeployment, db
from engine.services import audit, regression_fixtures, runtime_context
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


def check_problems(xml: str, key: str) -> list[runtime.Problem]:
    """Every publish check of a diagram, as problems per element (empty: it may be published)."""
    return check_report(xml, key)[0]


def check_report(xml: str, key: str) -> tuple[list[runtime.Problem], list[regression_fixtures.FixtureResult]]:
    """Every publish check of a diagram: its problems, and each stored regression fixture re-executed on it.

    The fixtures run only on a diagram that passes the other checks; a fixture whose path changes is a
    problem too (on the element where the path departs).
    """
    try:
        parsed = parse_and_check(xml, key)
    except Invalid as exc:
        return problems_of(exc, key), []
    results = regression_results(xml, key, parsed)
    return regression_fixtures.problems(key, results), results


def regression_results(
    xml: str, key: str, parsed: runtime.ParsedProcess | None = None
) -> list[regression_fixtures.FixtureResult]:
    """Re-execute the stored regression fixtures of `key` on a diagram that passed parse_and_check.

    The definition is the one publishing would store (operators pinned); no handler runs, no PSrE call.
    """
    if not regression_fixtures.has_fixtures(key):
        return []
    xml_pinned = pinned(xml)
    if parsed is None or xml_pinned != xml:
        parsed = runtime.parse(xml_pinned, key, common_processes())
    return regression_fixtures.run_stored(key, runtime.spec_json(parsed))


def fixture_definition(xml: str, key: str) -> str:
    """The definition a regression fixture file re-executes on (`sertel process check-regressions`)."""
    return runtime.spec_json(parse_and_check(pinned(xml), key))


def problems_of(exc: Invalid, key: str) -> list[runtime.Problem]:
    """The problems a refused check carries; a diagram that cannot be read is one problem of the process."""
    if not exc.fields:
        return [runtime.Problem(key, exc.message)]
    return [runtime.Problem(element, message) for element, messages in exc.fields.items() for message in messages]


def refuse_doctype(xml: str) -> None:
    """A BPMN file never needs a DTD; one could make the XML parser read local files (entities)."""
    if "<!doctype" in xml.lower():
        raise Invalid("Diagram tidak boleh memuat deklarasi DOCTYPE.", {"xml": ["DOCTYPE tidak diizinkan."]})


def parse_and_check(xml: str, key: str) -> runtime.ParsedProcess:
    """Parse a diagram and run every deploy check; raise Invalid listing the problems per element."""
    refuse_doctype(xml)
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


def pinned(xml: str) -> str:
    """The diagram with its unpinned operators pinned to their newest version (kept by the deployment)."""
    return registry.pin_operator_versions(xml)


def deploy(
    xml: str, key: str, actor: str, commit: bool = True, republish: bool = True
) -> tuple[ProcessDeployment, bool]:
    """Publish a diagram after every check; return (deployment, created).

    A definition identical to the current version is not re-versioned; one identical to an older version
    becomes a new version (an earlier definition comes back as the current one), unless `republish` is
    False: then it is left alone and the current version returned (seeding must not undo an owner's publish).
    """
    return publish_checked(xml, key, parse_and_check(xml, key), actor, commit, republish)


def publish_checked(
    xml: str, key: str, parsed: runtime.ParsedProcess, actor: str, commit: bool = True, republish: bool = True
) -> tuple[ProcessDeployment, bool]:
    """Publish a diagram that has just passed parse_and_check (`parsed`); see deploy()."""
    xml_pinned = pinned(xml)
    if xml_pinned != xml:
        # Pinning names the versions the checks just used: only the stored definition must carry them.
        parsed = runtime.parse(xml_pinned, key, common_processes())
    digest = definition_digest(xml_pinned, parsed)
    current = latest(key)
    if current is not None and current.sha256 == digest:
        return current, False
    if current is not None and not republish and _published_before(key, digest):
        return current, False
    spec_json = runtime.spec_json(parsed)
    # A new version: every stored regression fixture of the process must still take its recorded path.
    if regression_fixtures.has_fixtures(key):
        refused = regression_fixtures.refusal(key, regression_fixtures.run_stored(key, spec_json))
        if refused is not None:
            raise refused
    deployment = add_version(key, xml_pinned, digest, parsed.title, spec_json, actor, rolled_back_from=None)
    if commit:
        db.session.commit()
    return deployment, True


def _published_before(key: str, digest: str) -> bool:
    found = db.session.execute(
        select(ProcessDeployment.id).where(ProcessDeployment.key == key, ProcessDeployment.sha256 == digest).limit(1)
    ).scalar()
    return found is not None


def add_version(
    key: str, xml: str, digest: str, title: str, spec_json: str, actor: str, rolled_back_from: int | None
) -> ProcessDeployment:
    """Store a checked definition as the next version of `key` (the caller commits), with its audit event."""
    newest = db.session.execute(
        select(func.max(ProcessDeployment.version)).where(ProcessDeployment.key == key)
    ).scalar()
    deployment = ProcessDeployment(
        key=key,
        version=(newest or 0) + 1,
        sha256=digest,
        title=title,
        xml=xml,
        spec_json=spec_json,
        deployed_by=actor,
        rolled_back_from=rolled_back_from,
    )
    db.session.add(deployment)
    db.session.flush()
    payload: dict[str, object] = {"key": key, "version": deployment.version, "sha256": digest}
    if rolled_back_from is not None:
        payload["rolled_back_from"] = rolled_back_from
    audit.append("system", "process_deployed", actor, payload)
    return deployment


CheckedFile = tuple[str, str, runtime.ParsedProcess]


def check_files(paths: list[Path]) -> tuple[list[CheckedFile], dict[Path, Invalid]]:
    """Check BPMN files (each under the key named by its file name): the checked ones and the refusals."""
    checked: list[CheckedFile] = []
    refused: dict[Path, Invalid] = {}
    for path in paths:
        xml, key = path.read_text(encoding="utf-8"), path.stem
        try:
            checked.append((xml, key, parse_and_check(xml, key)))
        except Invalid as exc:
            refused[path] = exc
    return checked, refused


def publish_files(
    checked: list[CheckedFile], actor: str, republish: bool = True
) -> list[tuple[ProcessDeployment, bool]]:
    """Publish files that check_files passed, in one transaction (their checks are not run again)."""
    results = [
        publish_checked(xml, key, parsed, actor, commit=False, republish=republish) for xml, key, parsed in checked
    ]
    db.session.commit()
    return results


def deploy_files(paths: list[Path], actor: str, republish: bool = True) -> list[tuple[ProcessDeployment, bool]]:
    """Publish BPMN files, each under the key named by its file name: all of them, or none.

    Every file is checked first; any refusal raises Invalid with the problems of every refused file
    (fields keyed "<key>: <element id>") and nothing is published. `republish`: see deploy().
    """
    checked, refused = check_files(paths)
    if refused:
        fields: dict[str, list[str]] = {}
        for path, exc in refused.items():
            for problem in problems_of(exc, path.stem):
                fields.setdefault(f"{path.stem}: {problem.element_id}", []).append(problem.message)
        raise Invalid(f"{len(fields)} elemen tidak lolos pemeriksaan; tidak ada yang di-deploy.", fields)
    return publish_files(checked, actor, republish)


def latest(key: str) -> ProcessDeployment | None:
    """The current version of a process: the newest published one (a rollback publishes a newer one)."""
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
