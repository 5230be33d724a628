"""The shape of the code, checked: the import rules of the design card (pyproject.toml's
import-linter contracts), no function over 80 lines, a docstring at the top of every module."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("schemas", "crawlers", "warehouse", "flows", "mirror", "bench", "tests")
MAX_LINES = 80


def _modules(packages=PACKAGES):
    for pkg in packages:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if "sites" not in path.relative_to(ROOT).parts:
                yield path


def test_import_contracts_hold():
    exe = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "BROKEN" not in proc.stdout and "0 broken" in proc.stdout, proc.stdout[-3000:]


def test_no_function_is_over_80_lines():
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, "split these into named steps:\n" + "\n".join(long)


def test_every_module_says_what_it_owns():
    bare = [str(p.relative_to(ROOT)) for p in _modules(("schemas", "crawlers", "warehouse", "flows", "mirror"))
            if p.stat().st_size and ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None]
    assert not bare, "modules without a docstring:\n" + "\n".join(bare)
