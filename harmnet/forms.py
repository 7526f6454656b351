"""Form base class and the fields every area shares."""

from __future__ import annotations

import unicodedata

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import InputRequired, ValidationError

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


BLANK = ("", "—")  #: the first option of a choice that must be made: nothing chosen yet


def chosen() -> InputRequired:
    """A choice that must be made (its first option is BLANK): refused while left blank."""
    return InputRequired(message=_l("Please choose one of the options."))


def no_html(form: object, field: object) -> None:
    """Refuse angle brackets in names (they are escaped anyway; they are never wanted)."""
    data = getattr(field, "data", "") or ""
    if "<" in data or ">" in data:
        raise ValidationError(_l("Please do not use < or > here."))


# --- what the shared form macros (templates/_macros.html) need --------------------------


def field_attrs(field: object, hint: bool = False, **extra: object) -> dict:
    """The attributes that tie a field to its hint and its errors: aria-describedby names
    them, and a refused field is aria-invalid (so a screen reader says so at the field)."""
    ids = []
    if hint:
        ids.append(f"{field.id}-hint")  # type: ignore[attr-defined]
    errors = getattr(field, "errors", None)
    if errors:
        ids.append(f"{field.id}-err")  # type: ignore[attr-defined]
    attrs: dict = dict(extra)
    if ids:
        attrs["aria-describedby"] = " ".join(ids)
    if errors:
        attrs["aria-invalid"] = "true"
    return attrs


def _anchor(field: object) -> str:
    """Where a link to a field lands: a group of options is reached at its first option."""
    from wtforms import RadioField, SelectMultipleField
    from wtforms.widgets import ListWidget

    if isinstance(field, RadioField) or (isinstance(field, SelectMultipleField)
                                         and isinstance(field.widget, ListWidget)):
        return f"{field.id}-0"
    return str(field.id)  # type: ignore[attr-defined]


def error_items(form: object) -> list[tuple[str | None, str, str]]:
    """Every refused field of a form, nested forms included, in page order:
    (the id to link to or None, the field's label, the message)."""
    from wtforms import FieldList, FormField

    out: list[tuple[str | None, str, str]] = []

    def walk(fields) -> None:  # type: ignore[no-untyped-def]
        for field in fields:
            if isinstance(field, FieldList):
                for entry in field.entries:
                    walk([entry])
            elif isinstance(field, FormField):
                walk(field.form)
            elif field.errors:
                messages = field.errors if isinstance(field.errors, list) else [field.errors]
                if field.type == "CSRFTokenField":
                    continue  # said once, by the summary itself
                for message in messages:
                    out.append((_anchor(field), str(field.label.text), str(message)))

    walk(form)
    return out


def csrf_refused(form: object) -> bool:
    token = getattr(form, "csrf_token", None)
    return bool(token is not None and getattr(token, "errors", None))
