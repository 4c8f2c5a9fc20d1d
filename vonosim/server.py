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
