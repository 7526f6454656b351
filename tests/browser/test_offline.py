"""Offline outreach on a phone: the contact form opens with no network, contacts saved offline
wait encrypted on the phone and reach the server exactly once, a refused one comes back to be
fixed, and another person on the same phone sees none of them."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from . import checks
from .stack import Stack, wait_for
from .ui import UI

FORM = "/g/hoa-sen/contacts/new"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")

DUMP_QUEUE = """async () => {
  const db = await new Promise((ok, no) => {
    const r = indexedDB.open('harmnet-queue', 1);
    r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error);
  });
  const get = (store) => new Promise((ok) => {
    const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result);
  });
  const rows = await get('entries');
  const keys = await get('keys');
  db.close();
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
  return {
    keys: keys.map((k) => ({ owner: k.owner, type: k.key.type, extractable: k.key.extractable,
                             algorithm: k.key.algorithm.name })),
    entries: rows.map((x) => ({ id: x.id, owner: x.owner, key: x.key, created: x.created,
      status: x.status, iv: b64(x.iv), data: b64(x.data),
      // every byte as text, to search for anything typed into the form
      raw: JSON.stringify(x) + new TextDecoder('latin1').decode(x.data) })),
  };
}"""

RESTORE = """async (rows) => {
  const db = await new Promise((ok, no) => {
    const r = indexedDB.open('harmnet-queue', 1);
    r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error);
  });
  const bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  await new Promise((ok) => {
    const t = db.transaction('entries', 'readwrite');
    rows.forEach((x) => t.objectStore('entries').put({ id: x.id, owner: x.owner, key: x.key,
      created: x.created, status: 'waiting', iv: bytes(x.iv), data: bytes(x.data).buffer }));
    t.oncomplete = ok;
  });
  db.close();
}"""

SYNC = """() => new Promise((ok) => {
  const ch = new MessageChannel();
  ch.port1.onmessage = (e) => ok(e.data);
  navigator.serviceWorker.controller.postMessage({ type: 'sync' }, [ch.port2]);
})"""

KEPT = """async () => {
  for (const name of await caches.keys()) {
    if (name.startsWith('pages-') && await (await caches.open(name)).match(location.pathname)) {
      return true;
    }
  }
  return false;
}"""


def names() -> tuple[str, str, str]:
    rng = random.SystemRandom()
    letters = "BCGKLMNPQRSTVX"
    return ("".join(rng.choice(letters) for _ in range(2)) + "a",
            "".join(rng.choice(letters) for _ in range(2)) + "o", str(rng.randint(1960, 2004)))


def fill_contact(ui: UI, mother: str, father: str, year: str, note: str) -> None:
    notes = ui.page.locator("main details.notes")  # folded until it holds a note
    if not notes.evaluate("d => d.open"):
        notes.locator("summary").click()
    ui.fill({"Mother's given name": mother, "Father's given name": father,
             "Year of birth": year, "Notes": note})
    ui.field("Female").check()
    ui.page.get_by_label(ui.t("Condoms"), exact=True).fill("4")


def book(ui: UI, day: str, at: str) -> None:
    referrals = ui.page.locator("main details.referrals")
    if not referrals.evaluate("d => d.open"):
        referrals.locator("summary").first.click()
    ui.page.get_by_label(ui.t("Service"), exact=True).first.select_option(
        label=ui.t("HIV testing"))
    details = referrals.locator(".ref details").first
    if not details.evaluate("d => d.open"):
        details.locator("summary").click()
    ui.page.get_by_label(ui.t("Appointment date"), exact=True).first.fill(day)
    ui.page.get_by_label(ui.t("Time"), exact=True).first.fill(at)
    consent = ui.page.get_by_label(ui.t("The client agrees to a reminder"), exact=True).first
    consent.check()
    ui.page.get_by_label(ui.t("Reminder by"), exact=True).first.select_option("outbox")


def save_offline(ui: UI, waiting: int) -> None:
    with ui.page.expect_navigation():
        ui.page.locator("main form.entry").get_by_role(
            "button", name=ui.t("Save contact"), exact=True).last.click()
    assert ui.page.url.endswith(f"{FORM}?queued={waiting}")
    message = ui.t("Saved on this phone, will be sent when online (%(n)s waiting).", n=waiting)
    ui.page.locator("#queue p").filter(has_text=message).wait_for()
    assert ui.heading() == ui.t("New contact")  # a fresh form, for the next person met


def audit_now(ui: UI) -> None:
    """The page's checks on a state ui.audit() would count as seen (the queue's notices
    use no .flash or .error class): axe, 360 px layout and 44 px targets, keyboard."""
    serious = checks.blocking(checks.run_axe(ui.page))
    assert not serious, [(v["id"], v["nodes"][:2]) for v in serious]
    assert not checks.phone_layout_problems(ui.page)
    assert not checks.keyboard_problems(ui.page)


def compressed_size(e2e: Stack, path: str) -> int:
    """Bytes on the wire for `path`: body as sent (compressed) plus headers."""
    import http.client
    from urllib.parse import urlsplit

    conn = http.client.HTTPConnection(urlsplit(e2e.base_url).netloc, timeout=30)
    conn.request("GET", path, headers={"Accept-Encoding": "br, gzip"})
    response = conn.getresponse()
    body = response.read()
    headers = sum(len(k) + len(v) + 4 for k, v in response.getheaders())
    conn.close()
    return len(body) + headers


def contact_rows(e2e: Stack, key: str) -> list:
    return e2e.sql("SELECT id, client_id FROM contacts WHERE idempotency_key = :k", k=key)


def contact_parts(e2e: Stack, contact_id: int) -> tuple[int, int, int]:
    referrals = e2e.sql("SELECT count(*) FROM referrals WHERE contact_id = :c", c=contact_id)
    appointments = e2e.sql("SELECT count(*) FROM appointments a JOIN referrals r ON "
                           "r.id = a.referral_id WHERE r.contact_id = :c", c=contact_id)
    reminders = e2e.sql("SELECT count(*) FROM reminders m JOIN appointments a ON "
                        "a.id = m.appointment_id JOIN referrals r ON r.id = a.referral_id "
                        "WHERE r.contact_id = :c", c=contact_id)
    return referrals[0][0], appointments[0][0], reminders[0][0]


COUNTS = ("SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM referrals), "
          "(SELECT count(*) FROM appointments), (SELECT count(*) FROM reminders)")


def totals(e2e: Stack) -> tuple[int, int, int, int]:
    return tuple(e2e.sql(COUNTS)[0])  # type: ignore[return-value]


@pytest.mark.parametrize(("lang", "viewport"), [("vi", "phone"), ("en", "phone")])
def test_contacts_saved_offline_reach_the_server_exactly_once(ui, e2e):
    e2e.worker()  # the whole stack, as production runs it: Celery worker and beat too
    page = ui.page
    ui.sign_in("peer_educator")
    # The worker registered on the pages just seen; a page controls it only if it was
    # loaded after the worker turned active (a navigation already under way when it claims
    # its clients stays uncontrolled), so wait for the active worker before opening the form.
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    ui.goto(FORM)  # online: audited (axe, 44 px, weight)
    page.wait_for_function("() => !!navigator.serviceWorker.controller")
    wait_for(lambda: page.evaluate(KEPT), what="the form to be kept for offline use")
    # Installable: Chromium's own check (Lighthouse 12 no longer has a PWA category).
    cdp = ui.context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # A Playwright context is incognito, which Chromium always reports; nothing else.
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []
    manifest = cdp.send("Page.getAppManifest")
    assert not manifest.get("errors"), manifest.get("errors")
    cdp.detach()
    # First load with the worker's install: the page's own first load (audited above) plus
    # what installing adds (the worker, the manifest, the icon; the shell's CSS and JS are
    # the page's own files, already in the HTTP cache), all compressed.
    install = sum(compressed_size(e2e, path) for path in (
        "/sw.js", "/manifest.webmanifest", "/static/icons/icon-192.png"))
    first = ui.log.weights[(FORM, ui.lang)].first
    print(f"first load of {FORM} ({ui.lang}): page {first} B + worker install {install} B")
    assert first + install <= 30 * 1024

    # No network: the form still opens, and says what cannot work offline.
    ui.context.set_offline(True)
    page.reload()
    assert ui.heading() == ui.t("New contact")
    assert page.evaluate("() => document.body.classList.contains('offline')")
    assert page.get_by_text(ui.t(
        "With no network the returning-client check cannot run: save the contact, and once "
        "it is sent this phone shows whether the client was returning.")).is_visible()
    assert not page.get_by_role("button", name=ui.t("Check client"), exact=True).is_visible()

    today = datetime.now(TZ).date()
    people = [names() for _ in range(4)]
    notes = [f"note-{random.randrange(10**9)}" for _ in range(4)]
    fill_contact(ui, *people[0], notes[0])
    book(ui, (today + timedelta(days=3)).isoformat(), "10:30")
    save_offline(ui, 1)
    fill_contact(ui, *people[1], notes[1])
    save_offline(ui, 2)
    fill_contact(ui, *people[2], notes[2])
    save_offline(ui, 3)
    # The fourth has an appointment that will have passed when it is sent: refused then.
    fill_contact(ui, *people[3], notes[3])
    book(ui, (today - timedelta(days=1)).isoformat(), "09:00")
    save_offline(ui, 4)

    # What the phone keeps: ciphertext under a key that cannot be exported; no code, no note.
    stored = page.evaluate(DUMP_QUEUE)
    assert [k["extractable"] for k in stored["keys"]] == [False]
    assert stored["keys"][0]["algorithm"] == "AES-GCM"
    entries = stored["entries"]
    assert len(entries) == 4 and len({e["key"] for e in entries}) == 4
    for (mother, father, year), note in zip(people, notes, strict=True):
        code = (mother[:2] + father[:2]).upper() + "F" + year
        for entry in entries:
            for secret in (mother, father, code, note, year):
                assert secret not in entry["raw"]
    keys = [e["key"] for e in sorted(entries, key=lambda e: e["created"])]
    before = totals(e2e)

    # The page is closed and opened again, then the network returns.
    page.close()
    ui.page = page = ui.context.new_page()
    page.goto(FORM)
    assert ui.heading() == ui.t("New contact")
    ui.context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_for(lambda: all(contact_rows(e2e, k) for k in keys[:3]), timeout=30,
             what="the three contacts to reach the server")
    sent = ui.t("%(n)s saved on this phone reached the server.", n=3)
    page.locator("#queue p").filter(has_text=sent).wait_for()
    # Each sent contact links to itself and says whether the client was returning (new here).
    items = page.locator("#queue li").all_inner_texts()
    assert len(items) == 4  # three sent, one to fix
    assert all(ui.t("New client") in item for item in items[:3])
    fix = ui.t("%(n)s saved on this phone need a fix before they can be sent.", n=1)
    page.locator("#queue p").filter(has_text=fix).wait_for()
    assert not contact_rows(e2e, keys[3])
    audit_now(ui)  # the queue's notice and its links

    first = contact_rows(e2e, keys[0])
    assert len(first) == 1 and contact_parts(e2e, first[0][0]) == (1, 1, 2)
    after = totals(e2e)
    assert after[0] - before[0] == 3 and after[1] - before[1] == 1
    assert after[2] - before[2] == 1 and after[3] - before[3] == 2

    # Replaying the same queue twice more changes nothing.
    for _ in range(2):
        page.evaluate(RESTORE, [e for e in entries if e["key"] in keys[:3]])
        page.evaluate(SYNC)
        assert totals(e2e) == after
    left = page.evaluate(DUMP_QUEUE)["entries"]
    assert [(e["key"], e["status"]) for e in left] == [(keys[3], "fix")]

    # Signing out with an unsent entry warns; "Sign out anyway" keeps it on the phone.
    page.locator("footer").get_by_role("button", name=ui.t("Sign out"), exact=True).click()
    warning = page.locator("#signout-warn")
    warning.wait_for()
    assert ui.t("Contacts saved on this phone are not sent yet. Send them before you "
                "sign out?") in warning.inner_text()
    audit_now(ui)
    with page.expect_navigation():
        warning.get_by_role("button", name=ui.t("Sign out anyway"), exact=True).click()
    assert "/login" in page.url

    # Another person on the same phone: nothing of the first is shown or sent.
    ui.sign_in("coordinator")
    ui.goto(FORM)
    page.wait_for_function("() => !!navigator.serviceWorker.controller")
    page.evaluate(SYNC)
    assert page.locator("#queue").is_hidden()
    assert not contact_rows(e2e, keys[3])
    assert len(page.evaluate(DUMP_QUEUE)["entries"]) == 1
    ui.sign_out()

    # The first person again: the refused entry opens with the server's words, is fixed, sent.
    ui.sign_in("peer_educator")
    ui.goto(FORM)
    page.locator("#queue p").filter(has_text=fix).wait_for()
    with page.expect_navigation():
        page.locator("#queue").get_by_role("link", name=ui.t("Fix and send")).click()
    page.locator("main .has-error .error").first.wait_for()
    assert ui.t("The appointment must be in the future.") in page.locator("main").inner_text()
    assert ui.field("Mother's given name").input_value() == people[3][0]
    page.get_by_label(ui.t("Appointment date"), exact=True).first.fill(
        (today + timedelta(days=2)).isoformat())
    ui.button("Save contact", within="main form.entry")
    assert any(f.startswith(ui.t("Contact saved.")) for f in ui.flashes())
    fixed = contact_rows(e2e, keys[3])
    assert len(fixed) == 1 and contact_parts(e2e, fixed[0][0]) == (1, 1, 2)
    wait_for(lambda: not page.evaluate(DUMP_QUEUE)["entries"], what="the fixed entry to go")
    assert totals(e2e)[0] == after[0] + 1
    ui.sign_out()


def test_chromium_finds_the_app_installable(browser, e2e, tmp_path):
    """Outside incognito (a Playwright context is one, where Chromium checks nothing else),
    on the peer educator's group page: manifest, icons, a worker that answers offline."""
    from .stack import CHROMIUM_ARGS, DEMO_PASSWORD

    context = browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=stack_chromium(), args=CHROMIUM_ARGS,
        base_url=e2e.base_url, viewport={"width": 360, "height": 740})
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto("/login")
        page.locator("input[name=login]").fill("peer-hoasen")
        page.locator("input[name=password]").fill(DEMO_PASSWORD)
        with page.expect_navigation():
            page.locator("main form button").last.click()
        page.goto(FORM)
        assert page.url.endswith(FORM), page.url
        page.evaluate("() => navigator.serviceWorker.ready")
        page.reload()
        page.wait_for_function("() => !!navigator.serviceWorker.controller")
        cdp = context.new_cdp_session(page)
        wait_for(lambda: not _errors(cdp), what="Chromium to find the app installable")
    finally:
        context.close()


def _errors(cdp) -> list:  # type: ignore[no-untyped-def]
    return cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]


def stack_chromium() -> str:
    from .stack import find_chromium

    path = find_chromium()
    assert path
    return path
