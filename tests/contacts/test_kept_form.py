"""The blank entry form's kept lower part (contacts/routes.py `_blank_rest`): it is the very
HTML the form renders, and follows the group, the language and the group's providers."""

from __future__ import annotations

import re

from tests.contacts.conftest import contact_form
from tests.support import in_group, login, post_form


def _provider_names(html: str, slot: int = 0) -> list[str]:
    select = re.search(rf'<select[^>]*name="referrals-{slot}-provider".*?</select>', html, re.S)
    assert select is not None
    return re.findall(r"<option[^>]*>([^<]*)</option>", select.group(0))[1:]  # less "—"


def test_the_kept_part_is_what_the_form_renders(app, db, group_setup):
    from flask import g, render_template
    from flask_babel import force_locale

    from harmnet.contacts import routes
    from harmnet.contacts.forms import ContactForm
    from harmnet.models import PeerGroup
    from harmnet.models._types import utcnow

    a, _b, _users, _providers = group_setup
    with app.test_request_context(), in_group(a.id):
        g.group = db.session.get(PeerGroup, a.id)
        pages = []
        for language in ("en", "vi"):
            with force_locale(language):
                form = ContactForm()
                form.setup(today=routes._today(), now=utcnow(), tz=g.group.timezone)
                kept = routes._blank_rest(form)
                assert routes._blank_rest(form) == kept  # now from the kept copy
                with_kept = render_template("contacts/new.html", form=form, blank_rest=kept)
                live = render_template("contacts/new.html", form=form)
            assert with_kept == live
            assert 'name="referrals-2-contact_value"' in live and 'name="notes"' in live
            pages.append(live)
        assert "Tên của mẹ" in pages[1] and "Tên của mẹ" not in pages[0]


def test_a_blank_form_follows_the_group_language_and_providers(app, client, db,
                                                                group_setup):
    from harmnet.models import Provider
    from harmnet.services import providers as provider_service

    a, _b, _users, providers = group_setup
    login(client, "a-peer")
    page = client.get("/g/group-a/contacts/new").get_data(as_text=True)
    assert _provider_names(page) == ["Clinic group-a", "Legal aid group-a"]

    # Another group's form is never the kept copy of this one's.
    other = app.test_client()
    login(other, "b-peer")
    page = other.get("/g/group-b/contacts/new").get_data(as_text=True)
    assert _provider_names(page, 2) == ["Clinic group-b", "Legal aid group-b"]

    # A renamed, an added and a closed provider show on the next blank form.
    with in_group(a.id):
        clinic = db.session.get(Provider, providers["group-a"][0])
        provider_service.update_provider(clinic, name="Clinic Hồng Hà")
        db.session.get(Provider, providers["group-a"][1]).is_active = False
        provider_service.create_provider(a.id, name="Drop-in centre", services=["pep"])
    db.session.commit()
    page = client.get("/g/group-a/contacts/new").get_data(as_text=True)
    assert _provider_names(page, 1) == ["Clinic Hồng Hà", "Drop-in centre"]

    # The labels are in the language of each page, back and forth.
    for language, label in (("vi", "Tên của mẹ"), ("en", "Mother's given name"),
                            ("vi", "Tên của mẹ")):
        post_form(client, "/lang", {"lang": language, "next": "/g/group-a/contacts/new"},
                  page="/g/group-a/contacts/new")
        page = client.get("/g/group-a/contacts/new").get_data(as_text=True)
        assert label in page
        assert ("Mother's given name" in page) == (language == "en")


def test_a_refused_form_keeps_what_was_typed_below_the_channel(client, db, group_setup):
    login(client, "a-peer")
    client.get("/g/group-a/contacts/new")  # the blank form's part is kept now
    page = client.get("/g/group-a/contacts/new").get_data(as_text=True)
    data = contact_form(page, mother="Hương", father="", sex="", birth_year="19x6",
                        condoms="12", notes="gave the leaflet")
    refused = client.post("/g/group-a/contacts/new", data=data)
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'value="Hương"' in html and 'value="19x6"' in html and 'value="12"' in html
    assert "gave the leaflet</textarea>" in html
    assert "Enter a year of birth like 1996" in html
