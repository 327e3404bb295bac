"""Deployed process versions, running cases (process instances) and their inbox rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from engine.models.base import Model, utcnow


class ProcessDeployment(Model):
    """One immutable, published version of a BPMN file; its parsed definition is stored once, here.

    The same definition may be published more than once (a rollback re-publishes an earlier version as a
    new version number), so (key, sha256) is indexed but not unique. New cases start on the newest version.
    """

    __tablename__ = "process_deployments"
    __table_args__ = (
        UniqueConstraint("key", "version"),
        Index("ix_process_deployments_key_sha256", "key", "sha256"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200), default="")
    xml: Mapped[str] = mapped_column(Text)
    spec_json: Mapped[str] = mapped_column(Text)
    deployed_by: Mapped[str] = mapped_column(String(80))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The version whose definition a rollback published again as this one; None for an ordinary publish.
    rolled_back_from: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The process-owner API's names for who published the version and when.
    published_by = synonym("deployed_by")
    published_at = synonym("deployed_at")


class ProcessDraft(Model):
    """The unpublished draft of a process diagram: one per process key, saved by a process owner."""

    __tablename__ = "process_drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    xml: Mapped[str] = mapped_column(Text)
    saved_by: Mapped[str] = mapped_column(String(80))
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The published version the draft was started from (None when the process has none yet).
    base_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RegressionFixture(Model):
    """A regression test of a process: a finished case's recorded inputs and path, saved by a process owner.

    `fixture_json` is the fixture `replay_regression.fixture_of` builds (format sertel-regression/1); every
    publish of a new version of `key` re-executes it and is refused when the path or the end differs.
    """

    __tablename__ = "regression_fixtures"
    __table_args__ = (UniqueConstraint("key", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), index=True)
    name: Mapped[str] = mapped_column(String(120))
    case_id: Mapped[int] = mapped_column(Integer)
    # The version the case ran on (for the list; the fixture holds the inputs, not the diagram).
    version: Mapped[int] = mapped_column(Integer)
    fixture_json: Mapped[str] = mapped_column(Text)
    saved_by: Mapped[str] = mapped_column(String(80))
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessInstance(Model):
    """A case: one application by one person under one SOP, with SpiffWorkflow's instance state."""

    __tablename__ = "process_instances"
    __table_args__ = (
        # The auditor's search pages by id (keyset) under each filter; the dashboard groups by SOP and status.
        Index("ix_process_instances_sop_status_id", "sop_key", "status", "id"),
        Index("ix_process_instances_agency_id_id", "agency_id", "id"),
        Index("ix_process_instances_deployment_id_id", "deployment_id", "id"),
        Index("ix_process_instances_outcome_id", "outcome", "id"),
        Index("ix_process_instances_applicant_id_id", "applicant_id", "id"),
        Index("ix_process_instances_created_at", "created_at"),
        Index("ix_process_instances_ended_at", "ended_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("process_deployments.id"))
    # sop_key, applicant_id and agency_id are indexed by the composite indexes above that lead with them.
    sop_key: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    outcome: Mapped[str | None] = mapped_column(String(80), nullable=True)
    state_json: Mapped[str] = mapped_column(Text)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Who started the case; differs from the applicant when RA staff (or an agency head) applied on their behalf.
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    on_behalf_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), nullable=True)
    current_steps: Mapped[str] = mapped_column(String(500), default="")
    # The applicant's data as last submitted in a form of this case (name, NIK, NIP, agency…).
    applicant_json: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Totals of the latest automated checks (a step output with "items", "errors" and "warnings"), for the inbox.
    check_errors: Mapped[int | None] = mapped_column(Integer, nullable=True)
    check_warnings: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The name the diagram gives the end event the case finished on (what people read instead of its id).
    outcome_label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # When the earliest waiting timer of the case falls due; the scheduler polls on this column.
    next_timer_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Optimistic lock: a concurrent writer's UPDATE matches no row and fails instead of overwriting.
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    deployment: Mapped[ProcessDeployment] = relationship()
    __mapper_args__ = {"version_id_col": row_version}


class HumanTask(Model):
    """An inbox row: a READY user task of a case, projected after every step."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        # Inbox pages: open rows of a role in id (keyset) order; a Pemohon's own rows; an agency head's rows.
        Index("ix_human_tasks_open", "status", "role", "id"),
        Index("ix_human_tasks_owner", "owner_user_id", "status"),
        Index("ix_human_tasks_agency", "agency_id", "status"),
        Index("ix_human_tasks_claimed", "claimed_by_id", "status"),
        # The duty rules: what a person completed on a case (exclusive roles).
        Index("ix_human_tasks_completed_by", "completed_by_id", "instance_id"),
        # The dashboard's overdue tasks by role.
        Index("ix_human_tasks_status_due", "status", "due_at", "role"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    task_name: Mapped[str] = mapped_column(String(120))
    # "<process key>.<task id>": the webform template and the registered schema of this task.
    form_key: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(40))
    # For Pemohon tasks: the case's applicant; for Atasan tasks: the case's agency.
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), nullable=True)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The task's `priority` property in the diagram ("urgent" for fast tracks such as a key compromise).
    priority: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    instance: Mapped[ProcessInstance] = relationship()
