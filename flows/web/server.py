"""A threaded stdlib WSGI server for the explorer: bound to 127.0.0.1 unless told otherwise,
one thread per request, stopped by `close()` (tests) or Ctrl-C (`newsflow web`)."""
from __future__ import annotations

import socketserver
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr (the CLI prints the address once; tests stay quiet)."""

    def log_message(self, format, *args):       # noqa: A002 (the stdlib's signature)
        pass


class Running:
    """A server serving in a background thread: `url`, `close()`."""

    def __init__(self, httpd: _Server):
        self.httpd = httpd
        host, port = httpd.server_address[:2]
        self.host, self.port = host, port
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


def make_server(app, host: str = "127.0.0.1", port: int = 0) -> _Server:
    httpd = _Server((host, port), _QuietHandler)
    httpd.set_app(app)
    return httpd


def serve(app, host: str = "127.0.0.1", port: int = 0) -> Running:
    """Serve `app` in a background thread (port 0: the kernel picks a free one)."""
    return Running(make_server(app, host, port))
