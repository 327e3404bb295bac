"""SQLAlchemy models: the tables of people, cases, tasks, documents, certificates and the event log."""

from engine.models.base import db
from engine.models.people import Agency, RosterEntry, Role, User
from engine.models.workflow import HumanTask, ProcessDeployment, ProcessInstance
from engine.models.records import AuditEvent, AuditHead, Certificate, Document, OutboxMail

__all__ = [
    "Agency",
    "AuditEvent",
    "AuditHead",
    "Certificate",
    "Document",
    "HumanTask",
    "OutboxMail",
    "ProcessDeployment",
    "ProcessInstance",
    "Role",
    "RosterEntry",
    "User",
    "db",
]
