"""Asking once before an action that is hard to take back (issue #20, item 3).

The button of such an action posts as before; without `confirmed=yes` the route answers
with a page that says what will happen and offers the same POST again with that field
(and a way back). It needs no JavaScript, keeps GET safe, and the CSRF token of the first
POST is checked before anything is asked.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import render_template, request

FIELD, YES = "confirmed", "yes"


def confirmed() -> bool:
    """True when the POST comes from the confirmation page's button."""
    return request.form.get(FIELD) == YES


def ask(*, title: str, question: str, confirm_label: str, back_url: str,
        keep_label: str, hidden: Mapping[str, str] | None = None):  # type: ignore[no-untyped-def]
    """The "are you sure?" page: one danger button that posts the same action again with
    `confirmed=yes` (and `hidden`), and a link back that changes nothing."""
    return render_template(
        "confirm.html", title=title, question=question, confirm_label=confirm_label,
        back_url=back_url, keep_label=keep_label, action=request.path,
        hidden={k: v for k, v in (hidden or {}).items() if v}, field=FIELD, yes=YES,
    )
