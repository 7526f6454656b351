"""Typed SQLAlchemy models, one module per aggregate."""

from .accounts import (
    DEPARTMENT_ROLES,
    GROUP_ROLES,
    DepartmentRole,
    GroupMembership,
    Invitation,
    User,
    UserSession,
)
from .audit import AuditEvent
from .contacts import Appointment, Client, Contact, Provider, Referral
from .credentials import PasswordReset, RecoveryCode
from .keys import KeyCheck
from .members import Attendance, Member, Training
from .org import GROUP_KINDS, Department, PeerGroup
from .reminders import OutboxMessage, Reminder
from .reports import CodeMapping, Dhis2Push, Dhis2Settings, ReportSnapshot, Target
from .results import TestResult
from .stock import Commodity, StockCard, StockLine

__all__ = [
    "DEPARTMENT_ROLES", "GROUP_KINDS", "GROUP_ROLES", "Appointment", "Attendance", "AuditEvent",
    "Client", "CodeMapping", "Commodity", "Contact", "Department", "DepartmentRole", "Dhis2Push",
    "Dhis2Settings", "GroupMembership", "Invitation", "KeyCheck", "Member", "OutboxMessage",
    "PasswordReset", "PeerGroup",
    "Provider", "RecoveryCode", "Referral", "Reminder",
    "ReportSnapshot", "StockCard", "StockLine", "Target", "TestResult", "Training",
    "User", "UserSession",
]
