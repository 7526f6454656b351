"""Every key page (key_pages.py, where each area registers its own) passes every check of
checks.py in both languages at 360 px, whether or not a flow reaches it: axe, labels,
keyboard, layout, and the page-weight budgets (first load <= 30 KB, repeat visit <= 10 KB)."""

from __future__ import annotations

import pytest

from .checks import FIRST_LOAD_BUDGET, REPEAT_LOAD_BUDGET, normalise_path
from .key_pages import KEY_PAGES, resolve


@pytest.mark.parametrize("viewport", ["phone"])
@pytest.mark.parametrize("key", KEY_PAGES, ids=lambda k: k.name)
def test_key_page_passes_every_check(ui, e2e, key):
    if key.who:
        ui.resume(key.who)
    path = resolve(key, e2e)
    ui.goto(path, lang=None if key.who else "any")
    if ui.html_lang() != ui.lang:  # a visitor chooses a language at the foot of the page
        ui.choose_language(ui.lang)
    weight = ui.log.weights[(normalise_path(ui.page.url), ui.lang)]
    assert weight.first <= FIRST_LOAD_BUDGET
    assert weight.repeat <= REPEAT_LOAD_BUDGET
    assert weight.repeat < weight.first  # the stylesheet came from the cache
