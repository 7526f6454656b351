"""Departments, groups and the roles that open them (platform admin and CLI)."""

from __future__ import annotations

from sqlalchemy import select

from .. import tenancy
from ..extensions import db
from ..models import Department, DepartmentRole, GroupMembership, PeerGroup, User
from . import audit


class OrgError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def create_department(code: str, name: str, parent_code: str | None = None) -> Department:
    code = code.strip().lower()
    if db.session.scalar(select(Department).where(Department.code == code)):
        raise OrgError("code_taken")
    parent = None
    if parent_code:
        parent = db.session.scalar(select(Department).where(Department.code == parent_code))
        if parent is None:
            raise OrgError("unknown_parent")
    department = Department(code=code, name=name.strip(), parent_id=parent.id if parent else None)
    db.session.add(department)
    db.session.flush()
    audit.record("department.created", "department", department.id, department_id=department.id)
    return department


def create_group(
    slug: str, name: str, kind: str, department_code: str, area: str = "",
    fiscal_year_start_month: int | None = None,
) -> PeerGroup:
    slug = slug.strip().lower()
    if db.session.scalar(select(PeerGroup).where(PeerGroup.slug == slug)):
        raise OrgError("slug_taken")
    department = db.session.scalar(select(Department).where(Department.code == department_code))
    if department is None:
        raise OrgError("unknown_department")
    if fiscal_year_start_month is not None and not 1 <= fiscal_year_start_month <= 12:
        raise OrgError("bad_year_start")
    group = PeerGroup(slug=slug, name=name.strip(), kind=kind, department_id=department.id,
                      area=area.strip(), fiscal_year_start_month=fiscal_year_start_month)
    db.session.add(group)
    db.session.flush()
    from .stock import ensure_core_commodities  # stock imports the org tree's helpers

    ensure_core_commodities()
    audit.record("group.created", "peer_group", group.id, group_id=group.id)
    return group


def grant_group_role(group: PeerGroup, user: User, role: str) -> GroupMembership:
    """Give a user a role in a group (creating or updating the membership)."""
    with tenancy.group_context(group.id):
        membership = db.session.scalar(
            select(GroupMembership).where(GroupMembership.user_id == user.id)
        )
        if membership is None:
            membership = GroupMembership(group_id=group.id, user_id=user.id, role=role)
            db.session.add(membership)
        else:
            membership.role = role
            membership.is_active = True
        db.session.flush()
        audit.record("membership.granted", "group_membership", membership.id,
                     group_id=group.id, role=role)
    return membership


def grant_department_role(department: Department, user: User, role: str) -> DepartmentRole:
    grant = db.session.scalar(
        select(DepartmentRole).where(
            DepartmentRole.department_id == department.id, DepartmentRole.user_id == user.id
        )
    )
    if grant is None:
        grant = DepartmentRole(department_id=department.id, user_id=user.id, role=role)
        db.session.add(grant)
    else:
        grant.role = role
    db.session.flush()
    audit.record("department_role.granted", "department_role", grant.id,
                 department_id=department.id, role=role)
    return grant


def child_departments(department_id: int) -> list[Department]:
    return list(
        db.session.scalars(
            select(Department)
            .where(Department.parent_id == department_id)
            .order_by(Department.name)
        )
    )


def all_departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.code)))


def all_groups() -> list[PeerGroup]:
    return list(db.session.scalars(select(PeerGroup).order_by(PeerGroup.slug)))
