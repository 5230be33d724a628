"""A deliberately badly behaved HTTP server for the fault suite, on 127.0.0.1 (port 0) only.

Raw sockets, so it can do what a well-behaved server library will not: reset the connection
before answering or half-way through a body, accept and never answer, dribble a body a few
bytes at a time, lie in Content-Length, answer 5xx to everything for a while. Each path has a
behaviour (a dict, as `mirror/faults/_faults.json` does for the mirror's fault host):

    {"body": b"...", "status": 200, "headers": [("Content-Type", "text/html")]}   a page
    {"reset": True}                        RST before any byte of an answer
    {"reset_after": 300, "body": b"..."}   headers (full Content-Length) + 300 body bytes, then RST
    {"hang": 5.0}                          read the request, say nothing for 5 s, close
    {"dribble": 0.05, "chunk": 64, "body": b"..."}   the body 64 bytes every 0.05 s
    {"fail": 2, "fail_status": 503, "retry_after": "1", "body": ...}  503 to the first 2 requests, then the page
    {"fail": 1, "fail_with": {"reset": True}, "body": ...}   the first request reset, then the page
    {"redirect": "/elsewhere", "status": 302}

`server.healed = True` switches every fault off: each path then answers its "body" (a page) as
a healthy server would, so a test can prove that what failed is fetched by the next run.
`server.log` keeps (path, time) per request.
"""
from __future__ import annotations

import socket
import struct
import threading
import time

REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 404: "Not Found", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
NOT_FOUND = b"<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1></body></html>"


class FaultServer:
    def __init__(self, routes: dict[str, dict]):
        self.routes = routes
        self.healed = False
        self.log: list[dict] = []
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True, name="fault-server")
        self._thread.start()

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> "FaultServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def requests(self, path: str) -> list[dict]:
        return [r for r in list(self.log) if r["path"] == path]

    # ------------------------------------------------------------------ serving
    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            line = data.split(b"\r\n", 1)[0].decode("latin-1")
            method, target = line.split(" ")[:2]
            path = target.split("?", 1)[0]
            with self._lock:
                n = self._counts[path] = self._counts.get(path, 0) + 1
                self.log.append({"path": path, "method": method, "time": time.monotonic(), "n": n})
            self._answer(conn, path, n, method == "HEAD")
        except (OSError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _answer(self, conn, path, n, head) -> None:
        spec = self.routes.get(path)
        if spec is None:
            return self._send(conn, 404, NOT_FOUND, [("Content-Type", "text/html")], head)
        body = spec.get("body", b"")
        headers = list(spec.get("headers") or [("Content-Type", "text/html; charset=utf-8")])
        if self.healed:
            return self._send(conn, 200, body, headers, head)
        if spec.get("fail") and n <= spec["fail"]:
            if spec.get("fail_with"):
                spec = {"body": body, **spec["fail_with"]}
            else:
                extra = [("Retry-After", spec["retry_after"])] if spec.get("retry_after") else []
                return self._send(conn, spec.get("fail_status", 503), b"<html><body>busy</body></html>",
                                  [("Content-Type", "text/html")] + extra, head)
        elif spec.get("fail"):
            return self._send(conn, 200, body, headers, head)
        if spec.get("reset"):
            return self._reset(conn)
        if spec.get("hang"):
            time.sleep(spec["hang"])
            return None
        if spec.get("redirect"):
            return self._send(conn, spec.get("status", 302), b"", [("Location", spec["redirect"])], head)
        if spec.get("reset_after") is not None:
            conn.sendall(self._head(200, len(body), headers) + body[:spec["reset_after"]])
            time.sleep(0.05)
            return self._reset(conn)
        if spec.get("dribble"):
            conn.sendall(self._head(200, len(body), headers))
            step = spec.get("chunk", 64)
            for i in range(0, len(body), step):
                time.sleep(spec["dribble"])
                conn.sendall(body[i:i + step])
            return None
        return self._send(conn, spec.get("status", 200), body, headers, head)

    @staticmethod
    def _head(status, length, headers) -> bytes:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}", "Server: faulty", "Connection: close",
                 f"Content-Length: {length}"] + [f"{k}: {v}" for k, v in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(self, conn, status, body, headers, head) -> None:
        conn.sendall(self._head(status, len(body), headers) + (b"" if head else body))

    @staticmethod
    def _reset(conn) -> None:
        # SO_LINGER with a zero timeout: close() sends RST instead of FIN
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
