"""A threaded HTTP server for the simulator, able to reset connections on request."""

from __future__ import annotations

import socket
import struct
import sys
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.handlers import SimpleHandler
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from vonosim.app import _ENDPOINT, ConnectionReset


class _Handler(ServerHandler):
    """wsgiref's handler, plus chunked transfer coding when the app asks for it.

    WSGI forbids hop-by-hop headers such as Transfer-Encoding from the app, so the app sets
    ``vonosim.chunked`` in the environ and the server does the framing, as a real server would.
    """

    # Set by wsgiref at run time; typeshed does not declare them on the handler.
    headers: Any
    headers_sent: bool
    environ: Any
    _chunked = False

    def _wants_chunked(self) -> bool:
        return bool(
            self.environ is not None
            and self.environ.get("vonosim.chunked")
            and self.headers is not None
            and "Content-Length" not in self.headers
        )

    def cleanup_headers(self) -> None:
        if self._wants_chunked():
            assert self.headers is not None
            self._chunked = True
            self.http_version = "1.1"
            self.headers["Transfer-Encoding"] = "chunked"
            self.headers["Connection"] = "close"  # one request per connection, as before
            return
        super().cleanup_headers()

    def write(self, data: bytes) -> None:
        if self._chunked or (not self.headers_sent and self._wants_chunked()):
            if data:
                super().write(b"%x\r\n%s\r\n" % (len(data), data))
            return
        super().write(data)

    def finish_content(self) -> None:
        if self._chunked and self.headers_sent:
            assert self.environ is not None
            if not self.environ.get("vonosim.cut"):
                self._write(b"0\r\n\r\n")
                self._flush()
            return
        super().finish_content()

    def handle_error(self) -> None:
        if isinstance(sys.exc_info()[1], ConnectionReset):
            raise
        super().handle_error()

    def close(self) -> None:
        # No response was started: skip wsgiref's access log line, which would fail.
        if getattr(self, "status", None) is None:
            SimpleHandler.close(self)
        else:
            super().close()


class _RequestHandler(WSGIRequestHandler):
    verbose = False

    def handle(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536 or not self.parse_request():
            return
        handler = _Handler(
            self.rfile,
            self.wfile,  # type: ignore[arg-type]
            self.get_stderr(),
            self.get_environ(),
            multithread=True,
        )
        handler.request_handler = self  # type: ignore[attr-defined]
        try:
            handler.run(self.server.get_app())  # type: ignore[attr-defined]
        except ConnectionReset:
            # SO_LINGER with a zero timeout turns close() into a TCP RST.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.server.reset_requested.add(self.connection)  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        if self.verbose:
            # The request line carries the API token and key: never print them.
            line = _ENDPOINT.sub("/api/recording/***/***", self.path.split("?")[0])
            sys.stderr.write(f"vonosim: {self.command} {line} {args[1] if len(args) > 1 else ''}\n")


class SimulatorServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], *, verbose: bool = False) -> None:
        self.reset_requested: set[socket.socket] = set()
        handler = type("Handler", (_RequestHandler,), {"verbose": verbose})
        super().__init__(address, handler)

    def shutdown_request(self, request: Any) -> None:
        if request in self.reset_requested:
            self.reset_requested.discard(request)
            request.close()  # no FIN first: the client must see a reset
            return
        super().shutdown_request(request)


def make_server(host: str, port: int, app: Any, *, verbose: bool = False) -> SimulatorServer:
    server = SimulatorServer((host, port), verbose=verbose)
    server.set_app(app)
    return server
