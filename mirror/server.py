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
- GET and HEAD; HTTP/1.1 keep-alive; request logging is silenced.
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


def _make_handler(root: Path, site: dict):
    root = root.resolve()
    charset = site.get("encoding") if site.get("content_type_charset") else None

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def version_string(self):
            return "Apache"

        def log_message(self, format, *args):  # noqa: A002 - silence request logging
            pass

        def do_HEAD(self):
            self._serve(head=True)

        def do_GET(self):
            self._serve(head=False)

        # ---------------------------------------------------------------------------------
        def _send(self, status, body=b"", headers=(), head=False):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            if status != HTTPStatus.NOT_MODIFIED:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and not head:
                self.wfile.write(body)

        def _error(self, status, body, head):
            self._send(status, body, [("Content-Type", "text/html")], head)

        def _resolve(self, raw_path):
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
            target = root.joinpath(*rel) if rel else root
            try:
                resolved = target.resolve()
            except OSError:
                return (None, None)
            if resolved != root and root not in resolved.parents:
                return None
            if resolved.is_dir():
                if not path.endswith("/"):
                    return (None, raw_path + "/")
                for name in INDEX_NAMES:
                    if (resolved / name).is_file():
                        return (resolved / name, None)
                return (None, None)
            if path.endswith("/") or not resolved.is_file():
                return (None, None)
            return (resolved, None)

        def _serve(self, head):
            raw_path = urllib.parse.urlsplit(self.path).path
            try:
                res = self._resolve(raw_path)
            except (UnicodeDecodeError, ValueError):
                res = None
            if res is None:
                return self._error(HTTPStatus.BAD_REQUEST, BAD_REQUEST_BODY, head)
            fpath, redirect = res
            if redirect:
                return self._send(HTTPStatus.MOVED_PERMANENTLY, b"", [("Location", redirect)], head)
            if fpath is None:
                return self._error(HTTPStatus.NOT_FOUND, NOT_FOUND_BODY, head)
            data = fpath.read_bytes()
            etag = '"%s"' % hashlib.sha1(data).hexdigest()[:20]
            ext = fpath.suffix.lower()
            if ext in HTML_EXT:
                ctype = "text/html" + ("; charset=%s" % charset if charset else "")
            else:
                ctype = TYPES.get(ext) or mimetypes.guess_type(fpath.name)[0] or "application/octet-stream"
            headers = [("Content-Type", ctype), ("Last-Modified", LAST_MODIFIED), ("ETag", etag),
                       ("Accept-Ranges", "none")]
            if self._not_modified(etag):
                return self._send(HTTPStatus.NOT_MODIFIED, b"", [("Last-Modified", LAST_MODIFIED), ("ETag", etag)], head)
            self._send(HTTPStatus.OK, data, headers, head)

        def _not_modified(self, etag):
            inm = self.headers.get("If-None-Match")
            if inm is not None:  # takes precedence over If-Modified-Since (RFC 9110 13.2.2)
                tags = [t.strip() for t in inm.split(",")]
                return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)
            ims = self.headers.get("If-Modified-Since")
            if ims:
                try:
                    when = email.utils.parsedate_to_datetime(ims).timestamp()
                except (TypeError, ValueError, IndexError, OverflowError):
                    return False
                return when >= LAST_MODIFIED_TS
            return False

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class MirrorServer:
    """One ThreadingHTTPServer per host directory, each on 127.0.0.1:<free port>."""

    def __init__(self, sites_dir: Path | str | None = None):
        self.sites_dir = Path(sites_dir) if sites_dir else DEFAULT_SITES
        self.base_urls: dict[str, str] = {}
        self._servers: list[tuple[_Server, threading.Thread]] = []
        hosts = sorted(p for p in self.sites_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not hosts:
            raise FileNotFoundError("no host directories under %s (run python -m mirror.build)" % self.sites_dir)
        try:
            for hdir in hosts:
                meta_file = hdir / "_site.json"
                site = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
                srv = _Server(("127.0.0.1", 0), _make_handler(hdir, site))
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


def serve(sites_dir: Path | str | None = None) -> MirrorServer:
    """Start the mirror; returns a MirrorServer (also a context manager)."""
    return MirrorServer(sites_dir)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Serve the local mirror on 127.0.0.1 (one port per host).")
    ap.add_argument("--sites", type=Path, default=None, help="sites directory (default: mirror/sites)")
    ap.add_argument("--json", action="store_true", help="print the mapping as one JSON object")
    args = ap.parse_args(argv)
    m = serve(args.sites)

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
