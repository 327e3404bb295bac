"""Versions of a process as its owner sees them: drafts, checks, publishing and rolling back."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from engine import runtime
from engine.models import ProcessDeployment, ProcessInstance, db
from engine.models.base import utcnow
from engine.models.workflow import ProcessDraft
from engine.services import audit, deploy, transactions
from engine.services.errors import Conflict, Invalid, NotFound

STREAM = "system"


def _iso(moment: Any) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def draft_of(key: str) -> ProcessDraft | None:
    """The saved draft of a process, if any."""
    return db.session.execute(select(ProcessDraft).where(ProcessDraft.key == key)).scalar_one_or_none()


def _keys() -> list[str]:
    published = set(db.session.execute(select(ProcessDeployment.key).distinct()).scalars())
    drafted = set(db.session.execute(select(ProcessDraft.key)).scalars())
    return sorted(published | drafted)


def overview() -> list[dict[str, Any]]:
    """Every process with its current version and whether a draft waits."""
    rows = []
    for key in _keys():
        current = deploy.latest(key)
        draft = draft_of(key)
        rows.append(
            {
                "key": key,
                "title": current.title if current else key,
                "current_version": current.version if current else None,
                "draft": {"saved_by": draft.saved_by, "saved_at": _iso(draft.saved_at)} if draft else None,
            }
        )
    return rows


def _require_known(key: str) -> ProcessDeployment | None:
    current = deploy.latest(key)
    if current is None and draft_of(key) is None:
        raise NotFound(f"Proses '{key}' tidak dikenal.")
    return current


def detail(key: str) -> dict[str, Any]:
    """A process: its current version and its draft (with the draft's XML)."""
    current = _require_known(key)
    draft = draft_of(key)
    return {
        "key": key,
        "title": current.title if current else key,
        "current": {
            "version": current.version,
            "sha256": current.sha256,
            "published_by": current.published_by,
            "published_at": _iso(current.published_at),
        }
        if current
        else None,
        "draft": {
            "xml": draft.xml,
            "saved_by": draft.saved_by,
            "saved_at": _iso(draft.saved_at),
            "base_version": draft.base_version,
        }
        if draft
        else None,
    }


def version_list(key: str) -> list[dict[str, Any]]:
    """Every published version of a process, newest first, with how many cases still run on it."""
    _require_known(key)
    rows = list(
        db.session.execute(
            select(ProcessDeployment).where(ProcessDeployment.key == key).order_by(ProcessDeployment.version.desc())
        ).scalars()
    )
    running = dict(
        db.session.execute(
            select(ProcessInstance.deployment_id, func.count())
            .where(ProcessInstance.sop_key == key, ProcessInstance.status == "running")
            .group_by(ProcessInstance.deployment_id)
        ).all()
    )
    return [
        {
            "version": d.version,
            "sha256": d.sha256,
            "published_by": d.published_by,
            "published_at": _iso(d.published_at),
            "rolled_back_from": d.rolled_back_from,
            "is_current": i == 0,
            "running_cases": int(running.get(d.id, 0)),
        }
        for i, d in enumerate(rows)
    ]


def version(key: str, number: int) -> ProcessDeployment:
    """One published version of a process."""
    found = db.session.execute(
        select(ProcessDeployment).where(ProcessDeployment.key == key, ProcessDeployment.version == number)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"Proses '{key}' tidak memiliki versi {number}.")
    return found


KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,79}")


def _valid_key(key: str) -> None:
    if not KEY_PATTERN.fullmatch(key):
        raise Invalid(f"Kunci proses '{key[:80]}' tidak valid.", {"key": ["Huruf, angka, _ . - (maks. 80)."]})


def _well_formed(xml: str) -> None:
    deploy.refuse_doctype(xml)
    try:
        runtime.process_ids(xml)
    except runtime.ProcessError as exc:
        raise Invalid(str(exc), {"xml": [str(exc)]}) from exc


def check(key: str, xml: str) -> list[runtime.Problem]:
    """Every publish check of a diagram; nothing is saved."""
    return deploy.check_problems(xml, key)


def check_report(key: str, xml: str) -> tuple[list[runtime.Problem], list[dict[str, Any]]]:
    """Every publish check of a diagram and each stored regression fixture re-executed on it; nothing is saved."""
    found, results = deploy.check_report(xml, key)
    return found, [r.as_dict() for r in results]


def save_draft(key: str, xml: str, actor: str) -> tuple[ProcessDraft, list[runtime.Problem]]:
    """Save the draft of a process (well-formed XML only); return it and what publishing would refuse."""
    _valid_key(key)
    if not xml.strip():
        raise Invalid("Diagram kosong.", {"xml": ["Wajib diisi."]})
    _well_formed(xml)
    found = check(key, xml)
    transactions.begin_write()
    current = deploy.latest(key)
    draft = draft_of(key)
    if draft is None:
        draft = ProcessDraft(key=key, xml=xml, saved_by=actor, base_version=current.version if current else None)
        db.session.add(draft)
    else:
        draft.xml, draft.saved_by, draft.saved_at = xml, actor, utcnow()
    db.session.flush()
    audit.append(
        STREAM,
        "process_draft_saved",
        actor,
        {"key": key, "base_version": draft.base_version, "problems": len(found)},
    )
    db.session.commit()
    return draft, found


def publish(key: str, xml: str | None, actor: str) -> tuple[ProcessDeployment, bool]:
    """Publish a diagram (default: the saved draft) after every check; return (version, created).

    A refusal raises Invalid whose fields are the problems per element. Publishing the draft removes it.
    """
    transactions.begin_write()
    draft = draft_of(key)
    if xml is None:
        if draft is None:
            raise Invalid(f"Proses '{key}' tidak memiliki draf untuk diterbitkan.")
        xml = draft.xml
    deployment, created = deploy.deploy(xml, key, actor, commit=False)
    if draft is not None and draft.xml == xml:
        db.session.delete(draft)
    if not created:
        audit.append(STREAM, "process_publish_unchanged", actor, {"key": key, "version": deployment.version})
    db.session.commit()
    return deployment, created


def rollback(key: str, number: int, actor: str) -> ProcessDeployment:
    """Publish an earlier version's definition again as a new version number; new cases start on it.

    The stored definition is reused as it was published (its shared call activities and pinned operators
    included), so the old path comes back exactly.
    """
    transactions.begin_write()
    earlier = version(key, number)
    current = deploy.latest(key)
    if current is not None and current.sha256 == earlier.sha256:
        raise Conflict(
            f"Versi {number} sama dengan versi aktif (versi {current.version}); tidak ada yang dikembalikan."
        )
    deployment = deploy.add_version(
        key, earlier.xml, earlier.sha256, earlier.title, earlier.spec_json, actor, rolled_back_from=number
    )
    db.session.commit()
    return deployment
