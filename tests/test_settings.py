"""A flow run's warehouse and archive when its parameters leave them out (flows/settings.py):
read from the NEWSFLOW_* variables as the CLI reads them, so a deployment run on a worker of
the scale-out setup writes the lake and the bucket its machine names."""
from pathlib import Path

import pytest

from flows import settings
from flows.serve import load_specs

LAKE = "ducklake:postgres:host=db.internal dbname=lake?data_path=s3://news/lake/"
VARS = ("NEWSFLOW_WAREHOUSE", "NEWSFLOW_DB", "NEWSFLOW_ARCHIVE", "NEWSFLOW_SPOOL")


@pytest.fixture()
def env(monkeypatch):
    for name in VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_nothing_set_gives_the_embedded_defaults(env):
    assert settings.resolve(None, None, None) == ("data/newsflow.duckdb", "data/archive", None)


def test_the_lake_and_the_bucket_come_from_the_environment(env):
    env.setenv("NEWSFLOW_WAREHOUSE", LAKE)
    env.setenv("NEWSFLOW_ARCHIVE", "s3://news-archive/warc")
    # the spool sits where the CLI puts it: beside the --db file (the default one here)
    assert settings.resolve(None, None, None) == (LAKE, "data/spool", "s3://news-archive/warc")
    env.setenv("NEWSFLOW_DB", "/srv/nf/nf.duckdb")
    env.setenv("NEWSFLOW_SPOOL", "/fast/spool")
    assert settings.resolve(None, None, None) == (LAKE, "/fast/spool", "s3://news-archive/warc")


def test_a_local_archive_setting_and_the_file_setting(env):
    env.setenv("NEWSFLOW_DB", "/srv/nf/nf.duckdb")
    assert settings.resolve(None, None, None) == ("/srv/nf/nf.duckdb", str(Path("/srv/nf/archive")), None)
    env.setenv("NEWSFLOW_ARCHIVE", "/mnt/warc")
    assert settings.resolve(None, None, None) == ("/srv/nf/nf.duckdb", "/mnt/warc", None)


def test_parameters_given_are_never_overridden(env):
    env.setenv("NEWSFLOW_WAREHOUSE", LAKE)
    env.setenv("NEWSFLOW_ARCHIVE", "s3://news-archive/warc")
    # what the CLI passes (its own --db/--archive already read the variables) stays as it is
    assert settings.resolve("x/nf.duckdb", "x/archive", None) == ("x/nf.duckdb", "x/archive", None)
    assert settings.resolve("x/nf.duckdb", None, "s3://other/p") == ("x/nf.duckdb", "x/spool", "s3://other/p")
    assert settings.resolve(LAKE, "w/spool", "s3://b/p") == (LAKE, "w/spool", "s3://b/p")
    assert settings.warehouse_of("y.duckdb") == "y.duckdb"


def test_no_deployment_pins_the_warehouse_or_the_archive():
    """Otherwise a worker's NEWSFLOW_WAREHOUSE / NEWSFLOW_ARCHIVE would be masked by the file."""
    root = Path(__file__).resolve().parents[1]
    for spec in load_specs(root / "prefect.yaml"):
        assert not {"db", "archive_dir", "archive_url"} & set(spec.parameters), spec.name
