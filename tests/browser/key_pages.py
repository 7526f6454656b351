"""The key pages of each role: bench/ weighs them, runs Lighthouse on them and screenshots
them. Each area adds its pages here as they land."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .stack import Stack


@dataclass(frozen=True)
class KeyPage:
    name: str  #: file-name-safe, e.g. for docs/screenshots/<name>.png
    who: str | None  #: a key of ui.DEMO, or None for a visitor who is not signed in
    path: str | Callable[[Stack], str]  #: or a function making the page exist first
    title: str  #: what it is, for people reading the figures
    lighthouse: bool = False  #: scored by bench/lighthouse.py (mobile, each category >= 95)


def invitation_path(stack: Stack) -> str:
    """A fresh invitation link of CLB Hoa Sen (made through the service, as the web does)."""
    from harmnet import tenancy
    from harmnet.extensions import db
    from harmnet.models import PeerGroup
    from harmnet.services import accounts

    with stack.app_context():
        group_id = db.session.scalar(db.select(PeerGroup.id).where(PeerGroup.slug == "hoa-sen"))
        with tenancy.group_context(group_id):
            created = accounts.invite(group_id, "peer_educator", "Hồng", invited_by=None)
            db.session.commit()
    return f"/invite/{created.token}"


KEY_PAGES = [
    KeyPage("login", None, "/login", "Sign in", lighthouse=True),
    KeyPage("accept-invitation", None, invitation_path, "Create your login (invitation link)",
            lighthouse=True),
    KeyPage("group-home-peer", "peer_educator", "/g/hoa-sen/", "Group home, peer educator",
            lighthouse=True),
    KeyPage("group-home-coordinator", "coordinator", "/g/hoa-sen/", "Group home, coordinator"),
    KeyPage("logins", "coordinator", "/g/hoa-sen/logins", "Logins and invitations"),
    KeyPage("invite", "coordinator", "/g/hoa-sen/logins/invite", "Invite someone",
            lighthouse=True),
    KeyPage("account", "peer_educator", "/account", "My account"),
    KeyPage("members", "coordinator", "/g/hoa-sen/members/", "Members"),
    KeyPage("trainings", "peer_educator", "/g/hoa-sen/trainings/", "Trainings, peer educator"),
    KeyPage("monthly-report", "coordinator", "/g/hoa-sen/reports/", "The group's monthly report"),
    KeyPage("department-dashboard", "department_viewer", "/d/hn/", "Department dashboard",
            lighthouse=True),
    KeyPage("department-by-group", "department_viewer", "/d/hn/groups", "Department, by group"),
    KeyPage("admin", "admin", "/admin/", "Administration"),
    KeyPage("contact-form", "peer_educator", "/g/hoa-sen/contacts/new", "New contact",
            lighthouse=True),
    KeyPage("follow-ups", "peer_educator", "/g/hoa-sen/contacts/follow-ups",
            "Follow-ups, peer educator", lighthouse=True),
    KeyPage("my-contacts", "peer_educator", "/g/hoa-sen/contacts/", "My contacts"),
    KeyPage("reminders", "coordinator", "/g/hoa-sen/reminders/",
            "Reminders needing attention"),
    KeyPage("reminders-outbox", "coordinator", "/g/hoa-sen/reminders/outbox", "Outbox"),
    KeyPage("supervision", "coordinator", "/g/hoa-sen/contacts/supervision",
            "Supervision: each peer educator's month", lighthouse=True),
    KeyPage("menu-peer", "peer_educator", "/g/hoa-sen/menu", "Menu, peer educator"),
    KeyPage("menu-coordinator", "coordinator", "/g/hoa-sen/menu", "Menu, coordinator"),
    KeyPage("menu-department", "department_viewer", "/d/hn/menu", "Menu, department"),
    KeyPage("reminder-settings", "coordinator", "/g/hoa-sen/reminders/settings",
            "Reminder settings"),
    KeyPage("stock", "coordinator", "/g/hoa-sen/stock/", "Stock, coordinator"),
    KeyPage("department-stock", "department_viewer", "/d/hn/stock", "Department, stock by group"),
]


def resolve(page: KeyPage, stack: Stack) -> str:
    return page.path(stack) if callable(page.path) else page.path
