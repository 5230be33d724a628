"""The one error table. Every exception newsflow raises on purpose derives from NewsflowError
and carries the exit code the CLI ends with; flows/cli is the only place that turns one into a
message (one line, no traceback). Library code raises the most specific class it has.

    exit 1  BadInput      the user's input or configuration is wrong (registry, taxonomy, a
                          path, a query, a page); the message names what and where
    exit 1  Failed        the command could not do its work (a crawl process died, a file
                          could not be written); nothing stored was lost
    exit 2                a usage error (click: unknown option, bad value)
    exit 3  SourcesFailed some sources failed, were blocked or came back empty; the rest loaded
    exit 4  Busy          another process holds the warehouse or its run lock
"""
from __future__ import annotations


class NewsflowError(Exception):
    """Base of every error newsflow raises on purpose."""

    exit_code = 1


class BadInput(NewsflowError):
    """Wrong input or configuration; the message says what and where."""

    exit_code = 1


class Failed(NewsflowError):
    """The work could not be done; what was stored before is intact."""

    exit_code = 1


class SourcesFailed(NewsflowError):
    """Some sources failed or yielded nothing; the others were loaded."""

    exit_code = 3


class Busy(NewsflowError):
    """Another process holds the warehouse or its run lock and did not let go in time."""

    exit_code = 4
