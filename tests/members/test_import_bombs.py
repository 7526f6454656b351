"""Upload safety: zip and XML bombs are refused before parsing, with a message, in bounded
memory (bench/zip_bomb.py prints how long the refusal takes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from tests.members.bombs import billion_laughs_xlsx, inflating_xlsx, lying_xlsx
from tests.members.test_import_export import member_count, upload

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gigabyte_bomb(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("bombs") / "bomb.xlsx"
    path.write_bytes(inflating_xlsx())
    return path


@pytest.mark.parametrize("lang, words", [
    ("en", "unpacks to far more data than a member list can hold"),
    ("vi", "giải nén ra nhiều dữ liệu hơn hẳn"),
])
def test_a_gigabyte_bomb_is_refused_with_a_message(client, db, make_group, login_as,
                                                   gigabyte_bomb, lang, words):
    group = make_group("hoa-sen")
    login_as("coordinator", group=group, locale=lang)
    response = upload(client, gigabyte_bomb.read_bytes(), "members.xlsx")
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)
    assert member_count(db, group) == 0


@pytest.mark.parametrize("make", [lying_xlsx, billion_laughs_xlsx])
def test_lying_sizes_and_entity_bombs_are_refused(client, db, make_group, login_as, make):
    group = make_group("hoa-sen")
    login_as("coordinator", group=group)
    response = upload(client, make(), "members.xlsx")
    assert response.status_code == 400
    assert "could not be read as an Excel workbook" in response.get_data(as_text=True)
    assert member_count(db, group) == 0


def test_openpyxl_parses_through_defusedxml():
    assert openpyxl.DEFUSEDXML is True


def test_refusing_the_bomb_keeps_memory_under_300_mb(gigabyte_bomb):
    # A fresh process, so the figure is this file's alone: its peak resident memory (VmHWM,
    # which starts again at exec; ru_maxrss would carry the forking pytest's over).
    script = (
        "import sys\n"
        "from harmnet.services import member_import as m\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "try:\n    m.read_table(data, 'members.xlsx')\n"
        "except m.FileProblem as exc:\n    print(exc.problem.code)\n"
        "print(next(line.split()[1] for line in open('/proc/self/status')\n"
        "           if line.startswith('VmHWM:')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(gigabyte_bomb)], cwd=ROOT,  # noqa: S603
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "zip_bomb"
    assert int(out[1]) < 300 * 1024  # kilobytes
