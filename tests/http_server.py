"""A real HTTP server on 127.0.0.1 that serves queued replies per path, for tests that talk HTTP."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# Environment that keeps a proxy from standing between a client and the local server. Both
# spellings: urllib (so requests) reads the lowercase one first where both are set.
NO_PROXY = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


@dataclass(frozen=True)
class Reply:
    """One answer. ``cut`` sends only that many bytes of the body, then closes the connection;
    ``drop`` closes it without any answer."""

    status: int = 200
    body: str | bytes = ""
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)
    cut: int | None = None
    drop: bool = False


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class LocalServer:
    """Serves, for each path, its queued replies in order; the last one repeats.

    Unknown paths get a 404 page. Every request is recorded in ``requests``.
    """

    def __init__(self):
        self._routes: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        self.requests: list[Request] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def serve(self, path: str, *replies: Reply) -> None:
        """Answer ``path`` with ``replies`` in order, repeating the last one."""
        with self._lock:
            self._routes[path] = deque(replies)

    def _next(self, path: str) -> Reply:
        with self._lock:
            queue = self._routes.get(path)
            if not queue:
                return Reply(404, "<html><body>404 Not Found</body></html>", "text/html")
            return queue.popleft() if len(queue) > 1 else queue[0]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (the name http.server calls)
                parts = urlsplit(self.path)
                query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
                with server._lock:
                    server.requests.append(Request(parts.path, query, dict(self.headers)))
                reply = server._next(parts.path)
                if reply.drop:
                    self.close_connection = True
                    return
                body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.cut is not None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body if reply.cut is None else body[: reply.cut])

            def log_message(self, *args):
                # The default writes every URL, API keys included, to stderr.
                pass

        return Handler

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
