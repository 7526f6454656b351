"""Forms of the stock pages: a receipt, a physical count, an adjustment, the low-stock
setting. Values are checked here for shape (a whole number, a date); the service checks
the rules (not in the future, not negative, not absurd, expiry after receipt)."""

from __future__ import annotations

from wtforms import DecimalField, IntegerField, StringField, SubmitField
from wtforms.validators import Optional

from ..contacts.forms import CodeSelectField, LenientDateField, maxlen
from ..forms import BaseForm, no_html
from ..i18n import lazy_gettext as _l

REASON_NAMES = {
    "lost": _l("Lost"),
    "expired": _l("Expired"),
    "damaged": _l("Damaged"),
}


class WholeNumberField(IntegerField):
    """A whole number, possibly negative (the service says what is allowed); what was typed
    stays in the field when it is not a number."""

    def process_formdata(self, valuelist):  # type: ignore[no-untyped-def]
        raw = (valuelist[0] if valuelist else "").strip().replace(".", "").replace(",", "")
        self.raw_data = valuelist
        if raw == "":
            self.data = None
            return
        try:
            self.data = int(raw)
        except ValueError:
            self.data = None
            raise ValueError(_l("Please enter a whole number.")) from None
        if abs(self.data) > 10**9:
            self.data = None
            raise ValueError(_l("This number is far too large."))


class ReceiptForm(BaseForm):
    occurred_on = LenientDateField(_l("Date received"))
    quantity = WholeNumberField(_l("Quantity received"))
    source = StringField(_l("Received from"), validators=[maxlen(200), no_html])
    batch = StringField(_l("Batch (lot) number"), validators=[Optional(), maxlen(60), no_html])
    expires_on = LenientDateField(_l("Expiry date"), validators=[Optional()])
    submit = SubmitField(_l("Record receipt"))


class CountForm(BaseForm):
    occurred_on = LenientDateField(_l("Date of the count"))
    counted = WholeNumberField(_l("Quantity on the shelf"))
    note = StringField(_l("Note (optional)"), validators=[Optional(), maxlen(200), no_html])
    submit = SubmitField(_l("Record count"))


class AdjustmentForm(BaseForm):
    occurred_on = LenientDateField(_l("Date"))
    reason = CodeSelectField(_l("Reason"), choices=list(REASON_NAMES.items()))
    quantity = WholeNumberField(_l("Quantity taken off"))
    note = StringField(_l("Note (optional)"), validators=[Optional(), maxlen(200), no_html])
    submit = SubmitField(_l("Record adjustment"))


class SettingForm(BaseForm):
    months = DecimalField(_l("Warn when less than this many months of stock are left"),
                          places=1, validators=[Optional()])
    submit = SubmitField(_l("Save"))


class CommodityForm(BaseForm):
    """A department adds a commodity for the groups of its subtree."""

    code = StringField(_l("Code (lower-case letters, digits, _)"), validators=[maxlen(30)])
    name_vi = StringField(_l("Name in Vietnamese"), validators=[maxlen(120), no_html])
    name_en = StringField(_l("Name in English"), validators=[Optional(), maxlen(120), no_html])
    tracks_expiry = CodeSelectField(_l("Batches have an expiry date"),
                                    choices=[("no", _l("No")), ("yes", _l("Yes"))])
    submit = SubmitField(_l("Add commodity"))
