"""Bench: how fast and in how much memory a hostile workbook is refused (target: < 2 s,
< 300 MB). Prints the seconds and the peak resident memory of a fresh process per file.

Usage: .venv/bin/python bench/zip_bomb.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.members.bombs import billion_laughs_xlsx, inflating_xlsx, lying_xlsx  # noqa: E402

SCRIPT = """
import sys, time
from harmnet.services import member_import as m
data = open(sys.argv[1], 'rb').read()
start = time.perf_counter()
try:
    m.read_table(data, 'members.xlsx')
    code = 'accepted'
except m.FileProblem as exc:
    code = exc.problem.code
seconds = time.perf_counter() - start
peak_kb = next(int(line.split()[1]) for line in open('/proc/self/status')
               if line.startswith('VmHWM:'))
print(code, f"{seconds:.4f}", peak_kb // 1024)
"""


def main() -> None:
    cases = {
        "1 GB inflating sheet": inflating_xlsx,
        "200 MB sheet declaring 1 KB": lying_xlsx,
        "billion laughs (entities)": billion_laughs_xlsx,
    }
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'file':32} {'size':>9} {'answer':>16} {'seconds':>8} {'peak MB':>8}")
        for name, make in cases.items():
            path = Path(tmp) / "bomb.xlsx"
            path.write_bytes(make())
            out = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], cwd=ROOT,  # noqa: S603
                                 capture_output=True, text=True, check=True).stdout.split()
            print(f"{name:32} {path.stat().st_size:>9} {out[0]:>16} {out[1]:>8} {out[2]:>8}")


if __name__ == "__main__":
    main()
