"""Serve an :class:`~bcbridge.emulator.app.Emulator` on a real loopback port.

:class:`EmulatorServer` runs werkzeug's threaded WSGI server in a background thread (for
tests and the demo); :func:`serve` blocks (for the CLI). Both set
``emulator.config.base_url`` to the bound URL, so token issuers, discovery documents and
``@odata.nextLink`` point at the real port.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from types import TracebackType

    from bcbridge.emulator.app import Emulator

__all__ = ["EmulatorServer", "serve"]


class _QuietHandler(WSGIRequestHandler):
    """No per-request access log lines (the emulator keeps its own request log)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            logging.getLogger("bcbridge.emulator.server").error(message, *args)


def _bind(emulator: Emulator, host: str, port: int) -> tuple[BaseWSGIServer, str]:
    server = make_server(host, port, emulator, threaded=True, request_handler=_QuietHandler)
    bound_host = f"[{host}]" if ":" in host else host
    url = f"http://{bound_host}:{server.server_port}"
    emulator.config.base_url = url
    return server, url


class EmulatorServer:
    """A running emulator on ``http://host:port`` (``port=0`` picks a free port).

    Use as a context manager or call :meth:`start` / :meth:`stop`::

        with EmulatorServer(Emulator()) as server:
            httpx.get(server.url + "/_emulator")

    Attributes:
        emulator: The served emulator.
        url: ``http://host:port`` once started.
    """

    def __init__(self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self.url = ""
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorServer:
        """Bind the socket and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        self._server, self.url = _bind(self.emulator, self.host, self.port)
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"bcbridge-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (waits for the serving thread)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(emulator: Emulator, host: str = "127.0.0.1", port: int = 0, ready: Any = None) -> None:
    """Serve until interrupted (``KeyboardInterrupt``/``SystemExit`` end it cleanly).

    Args:
        emulator: What to serve.
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
        ready: Called with the URL once the socket is bound, before serving.
    """
    server, url = _bind(emulator, host, port)
    try:
        if ready is not None:
            ready(url)
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
