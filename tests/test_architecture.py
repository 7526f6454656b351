"""The code keeps to public library APIs, and its arrows point one way.

Read from the source, not run: a private attribute of Flask, Jinja, SQLAlchemy or an
extension can change in any release, and is how the first release came to pin SQLAlchemy
and replace parts of Flask. `_name` attributes of our own objects (a form's parsed value,
say) are fine: an attribute counts as ours when our own code defines that name.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP_DIRS = ("harmnet", "worker")
LIBRARIES = ("flask", "jinja2", "sqlalchemy", "flask_babel", "flask_limiter", "flask_wtf",
             "flask_login", "flask_sqlalchemy", "flask_compress", "werkzeug", "celery",
             "kombu", "wtforms", "babel")


def _sources() -> list[Path]:
    return sorted(p for d in APP_DIRS for p in (ROOT / d).rglob("*.py"))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _library(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in LIBRARIES


def _our_private_names(trees: list[ast.Module]) -> set[str]:
    """Every `_name` our own code defines: functions, classes, attributes it assigns,
    parameters, and module globals."""
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "setattr" and len(node.args) > 1 \
                    and isinstance(node.args[1], ast.Constant):
                names.add(str(node.args[1].value))
    return {n for n in names if _private(n)}


def _findings() -> list[str]:
    parsed = [(path, ast.parse(path.read_text(), str(path))) for path in _sources()]
    ours = _our_private_names([tree for _path, tree in parsed])
    found = []
    for path, tree in parsed:
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and _library(node.module):
                parts = (node.module or "").split(".")
                if any(_private(p) for p in parts) or any(_private(a.name) for a in node.names):
                    found.append(f"{where}:{node.lineno}: from {node.module} import "
                                 f"{', '.join(a.name for a in node.names)}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if _library(alias.name) and any(_private(p) for p in alias.name.split(".")):
                        found.append(f"{where}:{node.lineno}: import {alias.name}")
            elif isinstance(node, ast.Attribute) and _private(node.attr) \
                    and node.attr not in ours:
                found.append(f"{where}:{node.lineno}: .{node.attr}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in ("getattr", "setattr", "hasattr") \
                    and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) \
                    and isinstance(node.args[1].value, str) and _private(node.args[1].value) \
                    and node.args[1].value not in ours:
                found.append(f"{where}:{node.lineno}: {node.func.id}(…, "
                             f"{node.args[1].value!r})")
    return found


def test_no_private_attribute_of_a_library_is_used():
    assert _findings() == []


@pytest.mark.parametrize("snippet", [
    "from jinja2.ext import _make_new_gettext\n",
    "import flask\nflask.current_app._get_current_object()\n",
    "from flask_limiter import Limiter\nLimiter()._check_request_limit\n",
    "x = getattr(obj, '_sa_instance_state')\n",
])
def test_the_check_catches_private_use(tmp_path, monkeypatch, snippet):
    """The check above must be able to fail: each of these is a finding."""
    module = tmp_path / "harmnet" / "bad.py"
    module.parent.mkdir()
    module.write_text(snippet)
    (tmp_path / "worker").mkdir()
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _findings()


def test_the_web_side_never_imports_the_worker():
    """Routes enqueue by task name (harmnet/jobs.py): arrows point web -> services ->
    models, and worker -> services, never web -> worker."""
    found = []
    for path in (ROOT / "harmnet").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(ROOT)}:{node.lineno}" for m in modules
                      if m == "worker" or m.startswith("worker.")]
    assert found == []


def test_the_removed_per_process_caches_stay_removed():
    for name in ("identity_cache.py", "kept.py", "compression.py"):
        assert not (ROOT / "harmnet" / name).exists()
    text = "\n".join(p.read_text() for p in _sources())
    for marker in ("lru_cache", "functools.cache", "WeakValueDictionary", "class App(Flask)",
                   "SecureCookieSessionInterface", "jinja_environment"):
        assert marker not in text, marker
