"""Hypothesis over the members and trainings forms and the import: never a 500."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import get_csrf

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

text = st.text(max_size=300)
numberish = st.one_of(text, st.integers(-10**30, 10**30).map(str),
                      st.floats(allow_nan=True).map(str))
dateish = st.one_of(text, st.dates().map(str), st.from_regex(r"\d{1,6}-\d{1,3}-\d{1,3}"))


def _post(client, url, data, page):  # type: ignore[no-untyped-def]
    data = {k: v for k, v in data.items() if v is not None}
    response = client.post(url, data={"csrf_token": get_csrf(client, page), **data})
    assert response.status_code < 500
    return response


@SETTINGS
@given(alias=text, role=text, status=text, joined=dateish, gender=text, year=numberish,
       phone=text, consent=st.sampled_from([None, "y", "", "no"]), notes=st.text(max_size=3000))
def test_member_form(client, coordinator, alias, role, status, joined, gender, year, phone,
                     consent, notes):
    _post(client, "/g/hoa-sen/members/new",
          {"alias": alias, "role_in_group": role, "status": status, "joined_on": joined,
           "gender": gender, "birth_year": year, "phone": phone, "reminder_consent": consent,
           "notes": notes}, "/g/hoa-sen/members/new")


@SETTINGS
@given(status=text, on=dateish)
def test_status_form(client, coordinator, add_member, status, on):
    group, _ = coordinator
    mid = add_member(group, "Hoa")
    _post(client, f"/g/hoa-sen/members/{mid}/status", {"status": status, "on": on},
          f"/g/hoa-sen/members/{mid}")


@SETTINGS
@given(topic=text, title=text, day=dateish, at=text, duration=numberish, capacity=numberish,
       location=text, facilitator=text)
def test_training_form(client, coordinator, topic, title, day, at, duration, capacity,
                       location, facilitator):
    _post(client, "/g/hoa-sen/trainings/new",
          {"topic": topic, "title": title, "day": day, "at": at, "duration_minutes": duration,
           "capacity": capacity, "location": location, "facilitator": facilitator},
          "/g/hoa-sen/trainings/new")


@SETTINGS
@given(marks=st.dictionaries(st.text(max_size=25), st.text(max_size=12), max_size=6),
       picks=st.lists(st.text(max_size=25), max_size=6))
def test_roll_call_and_pick(client, coordinator, add_member, add_training, marks, picks):
    group, _ = coordinator
    tid = add_training(group, days=-0.01)
    _post(client, f"/g/hoa-sen/trainings/{tid}/roll-call", marks,
          f"/g/hoa-sen/trainings/{tid}/roll-call")
    _post(client, f"/g/hoa-sen/trainings/{tid}/invite/pick", {"member_id": picks},
          f"/g/hoa-sen/trainings/{tid}/invite")


@SETTINGS
@given(body=st.one_of(st.binary(max_size=2000),
                      st.lists(st.lists(st.text(max_size=30), max_size=10), max_size=20).map(
                          lambda rows: "\n".join(",".join(r) for r in rows).encode())),
       name=st.sampled_from(["a.csv", "a.xlsx", "a.xls", "a", "a.txt"]))
def test_import_upload(client, coordinator, body, name):
    token = get_csrf(client, "/g/hoa-sen/members/import")
    response = client.post("/g/hoa-sen/members/import",
                           data={"csrf_token": token, "file": (io.BytesIO(body), name)},
                           content_type="multipart/form-data")
    assert response.status_code < 500
