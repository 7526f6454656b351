"""flask commands: seed-demo, create-department, create-group, create-user, grant, db-app-role,
db-reports-role."""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import create_engine, select, text

from .extensions import db
from .models import Department, PeerGroup, User
from .security import password_problem
from .services import accounts, org


def _fail(message: str) -> None:
    raise click.ClickException(message)


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--password", default="demo-pass-2024", show_default=True,
                  help="Password of every demo login.")
    def seed_demo(password: str) -> None:
        """Create the demo departments, groups, logins and data (idempotent)."""
        from .seed import run_all

        run_all(password)
        db.session.commit()
        click.echo("Demo data ready.")

    @app.cli.command("create-department")
    @click.argument("code")
    @click.argument("name")
    @click.option("--parent", default=None, help="Code of the parent department.")
    def create_department(code: str, name: str, parent: str | None) -> None:
        """Create a department."""
        try:
            org.create_department(code, name, parent)
        except org.OrgError as exc:
            _fail(exc.code)
        db.session.commit()
        click.echo(f"Department {code} created.")

    @app.cli.command("create-group")
    @click.argument("slug")
    @click.argument("name")
    @click.option("--department", required=True, help="Code of the supervising department.")
    @click.option("--kind", type=click.Choice(["peer_group", "self_help_group", "club"]),
                  default="peer_group", show_default=True)
    @click.option("--area", default="")
    @click.option("--year-starts", type=click.IntRange(1, 12), default=None,
                  help="First month of the group's reporting year (default: its department's).")
    def create_group(slug: str, name: str, department: str, kind: str, area: str,
                     year_starts: int | None) -> None:
        """Create a group."""
        try:
            org.create_group(slug, name, kind, department, area, year_starts)
        except org.OrgError as exc:
            _fail(exc.code)
        db.session.commit()
        click.echo(f"Group {slug} created.")

    @app.cli.command("create-user")
    @click.argument("login")
    @click.option("--name", "display_name", default=None)
    @click.option("--admin", is_flag=True, help="Make a platform admin.")
    @click.password_option()
    def create_user(login: str, display_name: str | None, admin: bool, password: str) -> None:
        """Create a login (prompts for the password)."""
        problem = password_problem(password, login)
        if problem:
            _fail(f"password rejected: {problem}")
        try:
            accounts.create_user(login, display_name or login, password, is_admin=admin)
        except accounts.AccountError as exc:
            _fail(exc.code)
        db.session.commit()
        click.echo(f"User {login} created.")

    @app.cli.command("grant")
    @click.argument("login")
    @click.argument("role", type=click.Choice(["coordinator", "peer_educator", "viewer",
                                                "manager"]))
    @click.option("--group", "group_slug", default=None)
    @click.option("--department", "department_code", default=None)
    def grant(login: str, role: str, group_slug: str | None, department_code: str | None) -> None:
        """Give LOGIN a ROLE in a group (--group) or a department (--department)."""
        user = accounts.find_user(login)
        if user is None:
            _fail("unknown login")
        if role in ("coordinator", "peer_educator"):
            group = db.session.scalar(select(PeerGroup).where(PeerGroup.slug == group_slug))
            if group is None:
                _fail("name an existing group with --group")
            org.grant_group_role(group, user, role)
        else:
            department = db.session.scalar(
                select(Department).where(Department.code == department_code)
            )
            if department is None:
                _fail("name an existing department with --department")
            org.grant_department_role(department, user, role)
        db.session.commit()
        click.echo(f"{login} is now {role}.")

    @app.cli.command("db-app-role")
    @click.argument("role")
    def db_app_role(role: str) -> None:
        """(PostgreSQL) Create ROLE if needed and grant it the app's rights, nothing more.

        Runs as the owner (MIGRATION_DATABASE_URL). The app role is neither owner nor
        superuser, so forced row-level security applies to it.
        """
        url = current_app.config.get("MIGRATION_DATABASE_URL") or str(
            db.engine.url.render_as_string(hide_password=False)
        )
        grant_app_role(url, role)
        click.echo(f"Role {role} ready.")

    @app.cli.command("db-reports-role")
    @click.argument("role")
    def db_reports_role(role: str) -> None:
        """(PostgreSQL) Create ROLE for the monthly reports job: LOGIN, BYPASSRLS, SELECT on
        the tables the indicators read and nothing else. Set REPORTS_DATABASE_URL (worker
        only) to a URL logging in as it. Needs a superuser (BYPASSRLS)."""
        url = current_app.config.get("MIGRATION_DATABASE_URL") or str(
            db.engine.url.render_as_string(hide_password=False)
        )
        grant_reports_role(url, role)
        click.echo(f"Role {role} ready.")

    @app.cli.command("db-reminders-role")
    @click.argument("role")
    def db_reminders_role(role: str) -> None:
        """(PostgreSQL) Create ROLE for the reminder dispatcher's sweep: LOGIN, BYPASSRLS,
        SELECT on the reminders' group id, status and due times (and the groups' ids and
        active flag) only. Set REMINDERS_DATABASE_URL (worker only) to a URL logging in
        as it. Needs a superuser (BYPASSRLS)."""
        url = current_app.config.get("MIGRATION_DATABASE_URL") or str(
            db.engine.url.render_as_string(hide_password=False)
        )
        grant_reminders_role(url, role)
        click.echo(f"Role {role} ready.")

    @app.cli.command("purge-invitations")
    def purge_invitations() -> None:
        """Delete expired, unused invitations."""
        removed = accounts.purge_expired_invitations()
        db.session.commit()
        click.echo(f"{removed} expired invitations removed.")

    @app.cli.command("check-keys")
    @click.option("--renew-sample", is_flag=True,
                  help="After a key rotation: re-encrypt the check sample under the newest key.")
    def check_keys(renew_sample: bool) -> None:
        """Verify the encryption and pseudonym keys against the database (exit 1 if wrong)."""
        from .keys import check

        problems = check(renew_sample=renew_sample)
        if problems:
            db.session.rollback()
            raise click.ClickException(" ".join(problems))
        db.session.commit()
        click.echo("Keys match this database.")

    @app.cli.command("is-empty")
    def is_empty() -> None:
        """Exit 0 when no user exists yet (used by `make run` to seed once)."""
        raise SystemExit(0 if db.session.scalar(select(User.id).limit(1)) is None else 1)


def grant_app_role(owner_url: str, role: str) -> None:
    """Create the application role and grant it DML on every table and sequence."""
    if not role.replace("_", "").isalnum():
        raise click.ClickException("role names are letters, digits and underscores")
    engine = create_engine(owner_url.replace("postgresql://", "postgresql+psycopg://", 1)
                           if owner_url.startswith("postgresql://") else owner_url)
    with engine.begin() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if not exists:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS'))
        db_name = conn.scalar(text("SELECT current_database()"))
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{db_name}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        conn.execute(text(
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
        # The migration bookkeeping table is the owner's alone.
        conn.execute(text(f'REVOKE ALL ON alembic_version FROM "{role}"'))
    engine.dispose()


def _grant_bypassrls_reader(owner_url: str, role: str, grants: list[str]) -> None:
    """Create a login role that reads past row-level security and nothing else, and give
    it only `grants` (GRANT SELECT ... clauses, each ending before "TO")."""
    if not role.replace("_", "").isalnum():
        raise click.ClickException("role names are letters, digits and underscores")
    engine = create_engine(owner_url.replace("postgresql://", "postgresql+psycopg://", 1)
                           if owner_url.startswith("postgresql://") else owner_url)
    with engine.begin() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if not exists:
            # Roles are cluster-wide: another database's setup may create it at the same time.
            conn.execute(text(
                "DO $$ BEGIN "
                f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS; '
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"))
        db_name = conn.scalar(text("SELECT current_database()"))
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{db_name}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        conn.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"'))
        for grant in grants:
            conn.execute(text(f'{grant} TO "{role}"'))
    engine.dispose()


def grant_reports_role(owner_url: str, role: str) -> None:
    """Create the reports role (read-only, past row-level security) and grant it SELECT on
    the indicator tables only (harmnet.services.report_batch.REPORTS_ROLE_TABLES)."""
    from .services.report_batch import REPORTS_ROLE_TABLES

    _grant_bypassrls_reader(owner_url, role,
                            [f"GRANT SELECT ON {', '.join(REPORTS_ROLE_TABLES)}"])


#: What the dispatcher's sweep may read: which groups have due or stale reminders. No
#: recipient, text, key or target of any reminder (services/reminders.py, `sweep_stmt`).
REMINDERS_ROLE_COLUMNS = {
    "reminders": ("id", "group_id", "status", "send_at", "claimed_at"),
    "peer_groups": ("id", "is_active"),
}


def grant_reminders_role(owner_url: str, role: str) -> None:
    """Create the reminders sweep role (read-only, past row-level security) and grant it
    SELECT on REMINDERS_ROLE_COLUMNS only."""
    _grant_bypassrls_reader(owner_url, role, [
        f'GRANT SELECT ({", ".join(columns)}) ON {table}'
        for table, columns in REMINDERS_ROLE_COLUMNS.items()])
