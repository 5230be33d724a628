"""Shared fixtures. End-to-end tests serve the bundled mirror on 127.0.0.1 (port 0) and never
touch any other address."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture()
def broken_registry(tmp_path):
    """broken_registry(old, new): a copy of the bundled registry with `old` replaced by `new`."""
    def make(old: str, new: str) -> Path:
        from crawlers.registry import DEFAULT_REGISTRY
        text = DEFAULT_REGISTRY.read_text(encoding="utf-8")
        assert old in text
        path = tmp_path / "sources.toml"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return path
    return make


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory):
    from faults.helpers import seeded_home
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = seeded_home(home)
    return home


@pytest.fixture()
def mirror_server():
    from mirror.server import serve
    server = serve()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def newsflow_exe():
    exe = Path(sys.executable).with_name("newsflow")
    assert exe.exists(), f"console script missing at {exe}: run `make install`"
    return str(exe)
