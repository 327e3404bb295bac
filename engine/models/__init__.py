"""SQLAlchemy models: the tables of people, cases, tasks, documents, certificates and the event log."""

from engine.models.base import db
from engine.models.people import Agency, Person, Role, RosterEntry, User
from engine.models.reconciliation import ReconciliationFinding
from engine.models.records import AuditEvent, AuditHead, Certificate, Document, DocumentBlob, OutboxMail
from engine.models.reports import DashboardSnapshot
from engine.models.security import ApiToken, AuditKeyArchive, LoginAttempt, SecurityEvent, WebSession
from engine.models.workflow import HumanTask, ProcessDeployment, ProcessInstance, RegressionFixture

__all__ = [
    "Agency",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "AuditKeyArchive",
    "Certificate",
    "DashboardSnapshot",
    "Document",
    "DocumentBlob",
    "HumanTask",
    "LoginAttempt",
    "OutboxMail",
    "Person",
    "ProcessDeployment",
    "ProcessInstance",
    "ReconciliationFinding",
    "RegressionFixture",
    "Role",
    "RosterEntry",
    "SecurityEvent",
    "User",
    "WebSession",
    "db",
]
