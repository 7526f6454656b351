"""Members of a group: list, profiles, status, phones, import and export (coordinators)."""

from ..access import group_blueprint

bp = group_blueprint("members", __name__, "/members")

from . import routes  # noqa: E402,F401


@bp.cli.command("rotate-phones")
def rotate_phones() -> None:
    """Re-encrypt every member phone under the first key of HARMNET_ENCRYPTION_KEYS."""
    import click
    from sqlalchemy import select

    from .. import tenancy
    from ..extensions import db
    from ..models import PeerGroup
    from ..services.members import rotate_phone_keys

    total = 0
    for group_id in db.session.scalars(select(PeerGroup.id)).all():
        with tenancy.group_context(group_id):
            total += rotate_phone_keys()
            db.session.commit()
    click.echo(f"{total} phone numbers re-encrypted.")
