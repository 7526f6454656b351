"""The provider form."""

from __future__ import annotations

from wtforms import BooleanField, StringField, SubmitField

from ..contacts import labels
from ..contacts.forms import PHONE_RE, MultiCheckboxField, add_error, maxlen
from ..forms import BaseForm, no_html
from ..i18n import lazy_gettext as _l


class ProviderForm(BaseForm):
    name = StringField(_l("Name"), validators=[maxlen(200), no_html])
    services = MultiCheckboxField(_l("Services offered"),
                                  choices=labels.choices(labels.SERVICE_NAMES))
    address = StringField(_l("Address"), validators=[maxlen(300), no_html])
    opening_hours = StringField(_l("Opening hours"), validators=[maxlen(200), no_html])
    phone = StringField(_l("Phone"), validators=[maxlen(40)])
    is_active = BooleanField(_l("Show in the referral list"), default=True)
    submit = SubmitField(_l("Save provider"))

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        ok = super().validate(extra_validators)
        if not self.name.data:
            add_error(self.name, _l("Please give the provider's name."))
            ok = False
        if self.phone.data and not PHONE_RE.match(self.phone.data):
            add_error(self.phone, _l("Enter a phone number like 024 3825 3531."))
            ok = False
        return ok

    def values(self) -> dict:
        return {
            "name": self.name.data,
            "services": list(self.services.data or []),
            "address": self.address.data or "",
            "opening_hours": self.opening_hours.data or "",
            "phone": self.phone.data or "",
            "is_active": bool(self.is_active.data),
        }
