"""The one error table (schemas/errors.py): every named exception carries the exit code the
README's table gives it, and the CLI ends with that code."""
import pytest

from crawlers.errors import (ArchiveMissing, ArchiveUnavailable, ArchiveUploadFailed, CrawlBusy, CrawlFailed,
                             RegistryError, UnknownSource)
from flows.dedupe import DedupeParamsChanged
from flows.extract import ExtractError
from flows.lock import LockUnavailable, RunInProgress
from flows.preflight import PathProblem
from flows.serve import ServeError
from flows.tags import TaxonomyError
from flows.web.app import NotFound, WebError
from flows.web.state import BadRequest
from schemas.errors import NewsflowError
from warehouse.errors import OutputError, OutputRefused, QueryError, WarehouseBusy, WarehouseError

TABLE = [(RegistryError, 1), (UnknownSource, 1), (CrawlFailed, 1), (CrawlBusy, 4), (DedupeParamsChanged, 1),
         (ExtractError, 1), (LockUnavailable, 1), (RunInProgress, 4), (PathProblem, 1), (ServeError, 1),
         (TaxonomyError, 1), (WarehouseError, 1), (WarehouseBusy, 4), (QueryError, 1), (OutputError, 1),
         (OutputRefused, 1), (WebError, 1), (BadRequest, 1), (NotFound, 1),
         (ArchiveUnavailable, 1), (ArchiveMissing, 1), (ArchiveUploadFailed, 1)]


@pytest.mark.parametrize("cls,code", TABLE, ids=[c.__name__ for c, _ in TABLE])
def test_each_named_error_has_its_exit_code(cls, code):
    assert issubclass(cls, NewsflowError)
    assert cls.exit_code == code


def test_dask_lost_is_exit_1():
    from flows.fanout import DaskLost
    assert issubclass(DaskLost, NewsflowError) and DaskLost.exit_code == 1


def test_sources_failing_is_exit_3():
    from flows.ingest import SourcesFailing
    assert issubclass(SourcesFailing, NewsflowError) and SourcesFailing.exit_code == 3


def test_busy_errors_are_still_what_callers_catch():
    # a busy warehouse is a WarehouseError to code that catches those, and exit 4 to the CLI
    assert issubclass(WarehouseBusy, WarehouseError) and issubclass(CrawlBusy, CrawlFailed)
    assert issubclass(OutputRefused, OutputError) and issubclass(QueryError, WarehouseError)
