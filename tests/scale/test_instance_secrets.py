"""Workers that boot at once on a fresh instance folder share one set of secrets."""

from __future__ import annotations

import json
import multiprocessing
import stat


def _read(path: str, start, queue) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from config import _instance_secrets

    start.wait()
    try:
        queue.put(json.dumps(_instance_secrets(Path(path))))
    except Exception as exc:  # noqa: BLE001 - the parent reports it
        queue.put(f"error: {exc!r}")


def test_concurrent_first_start_never_reads_a_half_written_file(tmp_path) -> None:
    """gunicorn's workers each load the config; before, all but one could crash on an
    empty secrets.json ("Worker failed to boot") when the folder was new."""
    ctx = multiprocessing.get_context("fork")
    for attempt in range(5):
        folder = tmp_path / f"instance-{attempt}"
        start, queue = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_read, args=(str(folder), start, queue)) for _ in range(8)]
        for p in procs:
            p.start()
        start.set()
        answers = [queue.get(timeout=30) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        assert not [a for a in answers if a.startswith("error")], answers
        assert len(set(answers)) == 1  # every worker got the same keys
        secrets_file = folder / "secrets.json"
        assert json.loads(secrets_file.read_text()) == json.loads(answers[0])
        assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
        assert [p.name for p in folder.iterdir()] == ["secrets.json"]  # no leftovers
