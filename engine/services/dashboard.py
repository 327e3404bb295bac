"""The admin dashboard: counts the database computes with GROUP BY (cases by SOP and status, open and
overdue tasks by role, cases started per month), each served by an index of migration 0004."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from engine.models import HumanTask, ProcessInstance, db
from engine.models.base import utcnow

MONTHS = 12


@dataclass
class Dashboard:
    """What the dashboard shows."""

    by_sop_status: dict[str, dict[str, int]]
    statuses: list[str]
    open_by_role: dict[str, int]
    overdue_by_role: dict[str, int]
    started_per_month: list[tuple[str, int]]


def _month(column: Any) -> Any:
    """SQL: the month of a timestamp column (UTC): date_trunc on PostgreSQL (cheaper to group than text)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("month", column)
    return func.strftime("%Y-%m", column)


def _month_label(value: Any) -> str:
    return value.strftime("%Y-%m") if isinstance(value, datetime) else str(value)


def dashboard(now: datetime | None = None) -> Dashboard:
    """Compute the dashboard's figures: four GROUP BY statements."""
    now = now or utcnow()
    by_sop: dict[str, dict[str, int]] = {}
    statuses: set[str] = set()
    rows = db.session.execute(
        select(ProcessInstance.sop_key, ProcessInstance.status, func.count())
        .group_by(ProcessInstance.sop_key, ProcessInstance.status)
        .order_by(ProcessInstance.sop_key)
    )
    for sop, status, count in rows:
        by_sop.setdefault(sop, {})[status] = int(count)
        statuses.add(status)
    open_by_role = {
        role: int(count)
        for role, count in db.session.execute(
            select(HumanTask.role, func.count()).where(HumanTask.status == "open").group_by(HumanTask.role)
        )
    }
    overdue_by_role = {
        role: int(count)
        for role, count in db.session.execute(
            select(HumanTask.role, func.count())
            .where(HumanTask.status == "open", HumanTask.due_at < now)
            .group_by(HumanTask.role)
        )
    }
    since = (now.replace(day=1) - timedelta(days=31 * (MONTHS - 1))).replace(day=1, hour=0, minute=0, second=0)
    month = _month(ProcessInstance.created_at)
    per_month = [
        (_month_label(m), int(c))
        for m, c in db.session.execute(
            select(month, func.count()).where(ProcessInstance.created_at >= since).group_by(month).order_by(month)
        )
    ]
    return Dashboard(by_sop, sorted(statuses), open_by_role, overdue_by_role, per_month)
