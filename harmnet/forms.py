"""Form base class and the fields every area shares."""

from __future__ import annotations

import unicodedata

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import ValidationError

from .i18n import lazy_gettext as _l

# Characters that have no business in a form value and that PostgreSQL may refuse (NUL).
_CONTROL = {c for c in map(chr, range(32)) if c not in "\t\n\r"} | {"\x7f"}


def clean_text(value: object) -> object:
    """Normalise to NFC, drop control characters and trim: one filter for every text field."""
    if not isinstance(value, str):
        return value
    value = unicodedata.normalize("NFC", value)
    value = "".join(c for c in value if c not in _CONTROL and unicodedata.category(c) != "Cs")
    return value.strip()


class BaseForm(FlaskForm):
    """Every form: CSRF via Flask-WTF and the text filter on every text field."""

    class Meta:
        def bind_field(self, form, unbound_field, options):  # type: ignore[no-untyped-def]
            if issubclass(unbound_field.field_class, StringField | TextAreaField):
                filters = list(options.get("filters", unbound_field.kwargs.get("filters", ())))
                options["filters"] = [clean_text, *filters]
            return unbound_field.bind(form=form, **options)


class LanguageForm(BaseForm):
    """The language switch at the foot of every page."""

    lang = HiddenField()
    next = HiddenField()


def no_html(form: object, field: object) -> None:
    """Refuse angle brackets in names (they are escaped anyway; they are never wanted)."""
    data = getattr(field, "data", "") or ""
    if "<" in data or ">" in data:
        raise ValidationError(_l("Please do not use < or > here."))
