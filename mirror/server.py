"""Serve the bundled mirror over HTTP on 127.0.0.1, one server per real host.

    from mirror.server import serve
    with serve() as m:
        m.base_urls["http://www.gxzf.gov.cn"]          # -> "http://127.0.0.1:<port>"
        m.to_local("http://www.gxzf.gov.cn/gxyw/")     # -> "http://127.0.0.1:<port>/gxyw/"

``python -m mirror.server [--sites DIR]`` runs it in the foreground and prints the mapping
(Ctrl-C stops). Standard library only.

Behaviour, per host directory ``sites/<host>/``:
- a path ending in "/" serves its ``index.shtml``, ``index.html`` or ``index.htm``; a directory
  requested without the slash gets a 301 to the slashed path, as Apache/nginx do;
- ``.shtml/.html/.htm`` are ``text/html`` (``; charset=<encoding>`` only when the host's
  ``_site.json`` says ``content_type_charset: true``), ``.xml`` is ``application/xml``, other
  files by extension;
- 404 with a small HTML body for anything missing; files whose name starts with "_" (the
  ``_site.json`` metadata) and dot-files are never served; the query string is ignored;
- ``Last-Modified`` is a fixed date and ``ETag`` a hash of the bytes; ``If-None-Match`` /
  ``If-Modified-Since`` get a 304;
- any path with a ``..`` segment (raw or %-encoded), a backslash or a NUL gets a 400 and can
  never leave the host directory (resolved paths are checked against it too);
- GET and HEAD; HTTP/1.1 keep-alive; request logging is silenced (``MirrorServer.log`` keeps
  every request for tests instead: host, method, path, status, time);
- Hanweb: ``/module/web/jpage/dataproxy.jsp`` (POST or GET) answers the records of a column
  from the host's ``_dataproxy.json``, by ``startrecord``/``endrecord`` (query or form), as XML;
- fault hosts (``serve(faults=True)``, from ``mirror/faults/``) add behaviours per path from
  their ``_faults.json``: a status/headers/body of choice (412 challenges, login walls, soft
  404s, non-HTML), ``fail`` N times with a status before answering, ``delay`` seconds,
  ``redirect`` (chains, other domains), ``big`` generated bodies (20 MB) with or without a
  Content-Length. Fault hosts are never served by default, so the demo never meets them.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import json
import mimetypes
import signal
import sys
import threading
import time
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DEFAULT_SITES = Path(__file__).resolve().parent / "sites"
FAULT_SITES = Path(__file__).resolve().parent / "faults"
DATAPROXY = "/module/web/jpage/dataproxy.jsp"
LAST_MODIFIED_TS = 1752537600  # 2025-07-15 00:00:00 GMT, the same for every file
LAST_MODIFIED = email.utils.formatdate(LAST_MODIFIED_TS, usegmt=True)
INDEX_NAMES = ("index.shtml", "index.html", "index.htm")
HTML_EXT = {".shtml", ".html", ".htm"}
TYPES = {".xml": "application/xml", ".txt": "text/plain", ".png": "image/png", ".jpg": "image/jpeg",
         ".pdf": "application/pdf", ".css": "text/css", ".js": "application/javascript",
         ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
NOT_FOUND_BODY = (b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
                  b"<body><h1>404 Not Found</h1><p>The requested URL was not found on this server.</p>"
                  b"</body></html>\n")
BAD_REQUEST_BODY = b"<!DOCTYPE html>\n<html><head><title>400 Bad Request</title></head><body><h1>400 Bad Request</h1></body></html>\n"


class HostState:
    """What one host's handler knows: its directory, charset, fault behaviours, Hanweb records,
    per-path failure counters, and the shared request log."""

    def __init__(self, root: Path, site: dict, log: list, host: str, delay: float = 0.0):
        self.root, self.log, self.host, self.delay = root.resolve(), log, host, delay
        self.charset = site.get("encoding") if site.get("content_type_charset") else None
        self.faults = _read_json(self.root / "_faults.json") or {}
        self.proxy = _read_json(self.root / "_dataproxy.json")
        self.counters: dict[str, int] = {}
        self.lock = threading.Lock()

    def count(self, path: str) -> int:
        """How many times ``path`` was asked for, this time included."""
        with self.lock:
            n = self.counters[path] = self.counters.get(path, 0) + 1
        return n

    def resolve(self, raw_path: str):
        """URL path -> (file Path | None, redirect location | None); None on bad input."""
        path = urllib.parse.unquote(raw_path, errors="strict")
        if "\\" in path or "\x00" in path or not path.startswith("/"):
            return None
        parts = path.split("/")
        if any(p in ("..", ".") for p in parts):
            return None
        rel = [p for p in parts if p]
        if any(p.startswith((".", "_")) for p in rel):
            return (None, None)
        target = self.root.joinpath(*rel) if rel else self.root
        try:
            resolved = target.resolve()
        except OSError:
            return (None, None)
        if resolved != self.root and self.root not in resolved.parents:
            return None
        if resolved.is_dir():
            if not path.endswith("/"):
                return (None, raw_path + "/")
            index = next((resolved / n for n in INDEX_NAMES if (resolved / n).is_file()), None)
            return (index, None)
        if path.endswith("/") or not resolved.is_file():
            return (None, None)
        return (resolved, None)

    def content_type(self, fpath: Path) -> str:
        ext = fpath.suffix.lower()
        if ext in HTML_EXT:
            return "text/html" + ("; charset=%s" % self.charset if self.charset else "")
        return TYPES.get(ext) or mimetypes.guess_type(fpath.name)[0] or "application/octet-stream"

    def dataproxy_body(self, params: dict) -> bytes | int:
        """The XML of records startrecord..endrecord of the column, or the HTTP status of a bad ask."""
        col = self.proxy["columns"].get(params.get("columnid", ""))
        if col is None:
            return HTTPStatus.NOT_FOUND
        records = col["records"]
        try:
            start = max(1, int(params.get("startrecord", 1)))
            end = int(params.get("endrecord", start + 44))
            perpage = max(1, int(params.get("perpage", 15)))
        except ValueError:
            return HTTPStatus.BAD_REQUEST
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n<totalrecord>%d</totalrecord>\n'
                "<totalpage>%d</totalpage>\n<recordset>\n%s\n</recordset>\n</datastore>\n"
                % (len(records), -(-len(records) // perpage),
                   "\n".join("<record><![CDATA[\n%s\n]]></record>" % r for r in records[start - 1:end]))).encode("utf-8")


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def not_modified(headers, etag: str) -> bool:
    """If-None-Match (which takes precedence, RFC 9110 13.2.2) or If-Modified-Since says the
    client's copy is current."""
    inm = headers.get("If-None-Match")
    if inm is not None:
        tags = [t.strip() for t in inm.split(",")]
        return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)
    ims = headers.get("If-Modified-Since")
    if ims:
        try:
            when = email.utils.parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        return when >= LAST_MODIFIED_TS
    return False


class MirrorHandler(BaseHTTPRequestHandler):
    """Answers one host's requests; ``state`` (a HostState) is set per host by _make_handler."""

    state: HostState
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
    # holds the body back until the client's delayed ACK (~40 ms per keep-alive request)
    disable_nagle_algorithm = True

    def version_string(self):
        return "Apache"

    def log_message(self, format, *args):  # noqa: A002 - silence request logging
        pass

    def do_HEAD(self):
        self._serve(head=True)

    def do_GET(self):
        self._serve(head=False)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        if urllib.parse.urlsplit(self.path).path == DATAPROXY and self.state.proxy is not None:
            return self._dataproxy(form, head=False)
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"", [("Allow", "GET, HEAD")], False)

    # --- answering --------------------------------------------------------------------
    def _log(self, status) -> None:
        self.state.log.append({"host": self.state.host, "method": self.command, "path": self.path,
                               "status": int(status), "time": time.monotonic(),
                               "if_none_match": self.headers.get("If-None-Match"),
                               "user_agent": self.headers.get("User-Agent")})

    def _send(self, status, body=b"", headers=(), head=False, length=True):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if status != HTTPStatus.NOT_MODIFIED and length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self._log(status)
        if body and not head:
            self.wfile.write(body)

    def _error(self, status, head):
        body = NOT_FOUND_BODY if status == HTTPStatus.NOT_FOUND else BAD_REQUEST_BODY
        self._send(status, body, [("Content-Type", "text/html")], head)

    def _serve(self, head):
        if self.state.delay:
            time.sleep(self.state.delay)
        raw_path = urllib.parse.urlsplit(self.path).path
        if raw_path == DATAPROXY and self.state.proxy is not None:
            return self._dataproxy("", head)
        spec = self.state.faults.get(raw_path)
        if spec is not None and self._fault(raw_path, spec, head):
            return
        self._static(raw_path, head)

    def _static(self, raw_path, head):
        """A file of the host directory, with validators and 304s; 301 for a directory without
        its slash, 404 for anything missing, 400 for a path that tries to climb out."""
        try:
            res = self.state.resolve(raw_path)
        except (UnicodeDecodeError, ValueError):
            res = None
        if res is None:
            return self._error(HTTPStatus.BAD_REQUEST, head)
        fpath, redirect = res
        if redirect:
            return self._send(HTTPStatus.MOVED_PERMANENTLY, b"", [("Location", redirect)], head)
        if fpath is None:
            return self._error(HTTPStatus.NOT_FOUND, head)
        data = fpath.read_bytes()
        etag = '"%s"' % hashlib.sha1(data).hexdigest()[:20]
        if not_modified(self.headers, etag):
            return self._send(HTTPStatus.NOT_MODIFIED, b"", [("Last-Modified", LAST_MODIFIED), ("ETag", etag)], head)
        self._send(HTTPStatus.OK, data, [("Content-Type", self.state.content_type(fpath)), ("Last-Modified", LAST_MODIFIED),
                                         ("ETag", etag), ("Accept-Ranges", "none")], head)

    def _dataproxy(self, form, head):
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        params.update(urllib.parse.parse_qsl(form))
        body = self.state.dataproxy_body(params)
        if isinstance(body, int):
            return self._error(body, head)
        self._send(HTTPStatus.OK, body, [("Content-Type", "text/xml;charset=UTF-8")], head)

    # --- the fault host's behaviours (_faults.json) -------------------------------------
    def _fault(self, path, spec, head) -> bool:
        """Serve one behaviour of _faults.json; returns True when it answered."""
        if spec.get("delay"):
            time.sleep(float(spec["delay"]))
        if spec.get("fail") and self.state.count(path) <= int(spec["fail"]):
            headers = [("Content-Type", "text/html")]
            if spec.get("retry_after") is not None:
                headers.append(("Retry-After", str(spec["retry_after"])))
            self._send(int(spec.get("fail_status", 503)), b"<html><body><h1>Service Unavailable</h1></body></html>",
                       headers, head)
            return True
        if spec.get("redirect"):
            self._send(int(spec.get("status", 302)), b"", [("Location", spec["redirect"])], head)
            return True
        if spec.get("big"):
            self._big(int(spec["big"]), spec.get("content_length", True), head)
            return True
        if "status" in spec or "file" in spec or "body" in spec:
            data = (self.state.root / spec["file"]).read_bytes() if "file" in spec else spec.get("body", "").encode("utf-8")
            headers = [("Content-Type", spec.get("content_type", "text/html"))] + [tuple(h) for h in spec.get("headers", [])]
            self._send(int(spec.get("status", 200)), data, headers, head)
            return True
        return False

    def _big(self, size: int, with_length: bool, head: bool) -> None:
        """A generated body of ``size`` bytes, with a Content-Length or ended by closing."""
        chunk = (b"<p>" + b"x" * 1017 + b"</p>\n")
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        if with_length:
            self.send_header("Content-Length", str(size))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.state.log.append({"host": self.state.host, "method": self.command, "path": self.path, "status": 200,
                               "time": time.monotonic(), "if_none_match": None,
                               "user_agent": self.headers.get("User-Agent")})
        if head:
            return
        sent = 0
        try:
            while sent < size:
                part = chunk[:size - sent]
                self.wfile.write(part)
                sent += len(part)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _make_handler(root: Path, site: dict, log: list, host: str, delay: float = 0.0):
    """A handler class for one host directory (each host has its own state)."""
    return type("Handler", (MirrorHandler,), {"state": HostState(root, site, log, host, delay)})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a crawler opening 8+ connections at once
    # overflows it, the kernel drops SYNs, and the client waits 1 s to retransmit
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # a client that gives up (timeout, size cap) closes its socket mid-answer: not an error
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class MirrorServer:
    """One ThreadingHTTPServer per host directory, each on 127.0.0.1:<free port>."""

    def __init__(self, sites_dir: Path | str | None = None, faults: bool = False, delay: float = 0.0):
        self.sites_dir = Path(sites_dir) if sites_dir else DEFAULT_SITES
        self.base_urls: dict[str, str] = {}
        self.log: list[dict] = []          # every request served: host, method, path, status, time
        self._servers: list[tuple[_Server, threading.Thread]] = []
        hosts = sorted(p for p in self.sites_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not hosts:
            raise FileNotFoundError("no host directories under %s (run python -m mirror.build)" % self.sites_dir)
        if faults:
            hosts += sorted(p for p in FAULT_SITES.iterdir() if p.is_dir() and not p.name.startswith("."))
        try:
            for hdir in hosts:
                meta_file = hdir / "_site.json"
                site = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
                srv = _Server(("127.0.0.1", 0), _make_handler(hdir, site, self.log, hdir.name, delay))
                t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                                     name="mirror-" + hdir.name, daemon=True)
                t.start()
                self._servers.append((srv, t))
                self.base_urls["http://" + hdir.name] = "http://127.0.0.1:%d" % srv.server_address[1]
        except BaseException:
            self.close()
            raise

    # mapping helpers ---------------------------------------------------------------------
    def to_local(self, url: str) -> str:
        """Real URL (http://<host>/path?q) -> the same path on the local server for that host."""
        u = urllib.parse.urlsplit(url)
        base = self.base_urls["http://" + u.netloc]
        return base + (u.path or "/") + ("?" + u.query if u.query else "")

    def to_real(self, url: str) -> str:
        """Inverse of to_local."""
        u = urllib.parse.urlsplit(url)
        local = "%s://%s" % (u.scheme, u.netloc)
        for real, loc in self.base_urls.items():
            if loc == local:
                return real + (u.path or "/") + ("?" + u.query if u.query else "")
        raise KeyError(url)

    def requests(self, host: str | None = None, method: str | None = None) -> list[dict]:
        """The requests served so far (optionally of one real host, e.g. "www.gxzf.gov.cn")."""
        return [r for r in list(self.log) if (host is None or r["host"] == host)
                and (method is None or r["method"] == method)]

    # lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        servers, self._servers = self._servers, []
        for srv, _ in servers:
            srv.shutdown()
            srv.server_close()
        for _, t in servers:
            t.join(timeout=5)

    def __enter__(self) -> "MirrorServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass


def serve(sites_dir: Path | str | None = None, faults: bool = False, delay: float = 0.0) -> MirrorServer:
    """Start the mirror; returns a MirrorServer (also a context manager). faults=True also
    serves the fault hosts of mirror/faults/ (tests only); delay makes every answer that many
    seconds slow (tests that must stop a crawl mid-way)."""
    return MirrorServer(sites_dir, faults, delay)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Serve the local mirror on 127.0.0.1 (one port per host).")
    ap.add_argument("--sites", type=Path, default=None, help="sites directory (default: mirror/sites)")
    ap.add_argument("--json", action="store_true", help="print the mapping as one JSON object")
    ap.add_argument("--faults", action="store_true", help="also serve the fault hosts (mirror/faults/)")
    args = ap.parse_args(argv)
    m = serve(args.sites, faults=args.faults)

    def _stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        if args.json:
            print(json.dumps(m.base_urls), flush=True)
        else:
            for real, local in m.base_urls.items():
                print("%-32s -> %s" % (real, local), flush=True)
            print("serving; Ctrl-C to stop", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        m.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
