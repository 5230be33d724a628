"""The explorer as a WSGI application: routes, the headers every answer carries, errors.

GET (and HEAD) only. Routes: `/` (search), `/attention.csv`, `/download.<csv|parquet|jsonl>`,
`/story/<id>`, `/article/<id>`, `/raw/<id>` (the archived page, for the sandboxed frame),
`/sources`, `/static/<file>`. Every page carries a Content Security Policy allowing nothing
but this server's own stylesheet, script and frames, and a `Server-Timing` header with the
server's time (the benchmark reads it).
"""
from __future__ import annotations

import mimetypes
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import unquote

from flows.web.state import BadRequest
from schemas.errors import BadInput, Failed

STATIC = Path(__file__).with_name("static")
TEMPLATES = Path(__file__).with_name("templates")
PAGE_CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 503: "Service Unavailable"}


class NotFound(BadInput, LookupError):
    """Nothing at this address (HTTP 404)."""


class WebError(Failed):
    """The explorer cannot start (the port is taken, the address cannot be bound)."""


@dataclass
class Response:
    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    csp: str = PAGE_CSP


class Explorer:
    """`Explorer(db, archive)` is a WSGI callable; see flows/web/pages.py for what it shows."""

    def __init__(self, db: str | Path, archive: str | Path | None = None, registry=None,
                 say: Callable[[str], None] | None = None, engine: str = "auto"):
        from flows.web.pages import Pages
        self.db = Path(db)
        self.archive = Path(archive) if archive else self.db.parent / "archive"
        self.pages = Pages(self.db, self.archive, registry=registry, templates=TEMPLATES, say=say, engine=engine)
        self.routes: dict[str, Callable] = {
            "": self.pages.search, "attention.csv": self.pages.attention_csv, "sources": self.pages.sources,
            "story": self.pages.story, "article": self.pages.article, "raw": self.pages.raw,
            "download.csv": self.pages.download, "download.parquet": self.pages.download,
            "download.jsonl": self.pages.download, "static": self.static}

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            resp = Response(b"only GET and HEAD\n", 405, "text/plain; charset=utf-8", [("Allow", "GET, HEAD")])
        else:
            resp = self.respond(environ.get("PATH_INFO", "/"), environ.get("QUERY_STRING", ""))
        headers = [("Content-Type", resp.content_type), ("Content-Length", str(len(resp.body))),
                   ("Content-Security-Policy", resp.csp), ("X-Content-Type-Options", "nosniff"),
                   ("Referrer-Policy", "no-referrer"), ("Cross-Origin-Resource-Policy", "same-origin"),
                   ("Server-Timing", f"app;dur={(time.perf_counter() - started) * 1000:.1f}"), *resp.headers]
        if not any(k == "Cache-Control" for k, _ in resp.headers):
            headers.append(("Cache-Control", "no-store"))
        start_response(f"{resp.status} {_REASONS.get(resp.status, 'OK')}", headers)
        return [b""] if method == "HEAD" else [resp.body]

    def respond(self, path: str, query: str) -> Response:
        from warehouse.errors import WarehouseBusy, WarehouseError
        parts = [unquote(p) for p in path.strip("/").split("/")]
        head, rest = parts[0], parts[1:]
        handler = self.routes.get(head)
        try:
            if handler is None or (head in ("story", "article", "raw", "static") and len(rest) != 1) \
                    or (head not in ("story", "article", "raw", "static") and rest):
                raise NotFound(f"no page at {path}")
            if head.startswith("download."):
                return handler(query, head.split(".", 1)[1])
            return handler(query, *rest)
        except BadRequest as exc:
            return self.pages.error(400, str(exc))
        except NotFound as exc:
            return self.pages.error(404, str(exc))
        except WarehouseBusy as exc:
            return self.pages.error(503, str(exc))
        except WarehouseError as exc:
            return self.pages.error(500, str(exc))
        except Exception:               # a bug: its traceback on stderr, a plain page to the browser
            traceback.print_exc()
            return self.pages.error(500, "the explorer failed on this request (see its console)")

    def static(self, query: str, name: str) -> Response:
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise NotFound(f"no file {name}")
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype == "application/javascript":
            ctype += "; charset=utf-8"
        return Response(path.read_bytes(), content_type=ctype, headers=[("Cache-Control", "max-age=3600")])
