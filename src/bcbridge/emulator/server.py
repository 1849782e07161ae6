"""Serve an :class:`~bcbridge.emulator.app.Emulator` on a real loopback port.

The server is waitress (a production WSGI server): HTTP/1.1 keep-alive like BC's front
end, so a client's connection reuse is real and measurable, and a pool of worker threads
so the emulator's own per-user concurrency limits (5 processed, 95 queued) decide who
waits, not the server. :class:`EmulatorServer` runs it in a background thread (tests, the
demo); :func:`serve` blocks (the CLI). Both set ``emulator.config.base_url`` to the bound
URL, so token issuers, discovery documents and ``@odata.nextLink`` point at the real port.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import WSGITask

if TYPE_CHECKING:
    from types import TracebackType

    from bcbridge.emulator.app import Emulator

__all__ = ["DEFAULT_THREADS", "EmulatorServer", "serve", "shutdown_waitress"]

#: Worker threads: enough for BC's 5 concurrent + queued requests of a few users.
DEFAULT_THREADS = 24

# waitress reports every dropped connection (our "reset" fault) as an error; the
# emulator keeps its own request log.
logging.getLogger("waitress").setLevel(logging.CRITICAL)


def shutdown_waitress(server: Any) -> None:
    """Stop a waitress server running in another thread: close the listening socket and
    every kept-alive connection (so its loop ends), then stop the worker threads."""
    while server._map:
        for dispatcher in list(server._map.values()):
            dispatcher.handle_close()
    server.task_dispatcher.shutdown()


class _Task(WSGITask):  # type: ignore[misc]
    def get_environment(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environment()
        # lets the "reset" fault drop the TCP connection (faults.DisconnectResponse)
        environ["bcbridge.emulator.socket"] = self.channel.socket
        return environ


class _Channel(HTTPChannel):  # type: ignore[misc]
    task_class = _Task


class _Server(TcpWSGIServer):  # type: ignore[misc]
    channel_class = _Channel

    def shutdown(self) -> None:
        shutdown_waitress(self)


def _bind(emulator: Emulator, host: str, port: int, threads: int) -> tuple[_Server, str]:
    adjustments = Adjustments(
        host=host,
        port=port,
        threads=threads,
        ident="bcbridge-emulator",
        channel_timeout=120,
        connection_limit=1000,
        expose_tracebacks=False,
        clear_untrusted_proxy_headers=True,
    )
    server = _Server(emulator, adj=adjustments, sockinfo=adjustments.listen[0])
    bound_host = f"[{host}]" if ":" in host else host
    url = f"http://{bound_host}:{server.effective_port}"
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
        connections_accepted: TCP connections accepted so far (keep-alive shows as few).
    """

    def __init__(
        self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0, threads: int = DEFAULT_THREADS
    ) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self.threads = threads
        self.url = ""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def connections_accepted(self) -> int:
        server = self._server
        return int(server.accepted) if server is not None else 0

    def start(self) -> EmulatorServer:
        """Bind the socket and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        self._server, self.url = _bind(self.emulator, self.host, self.port, self.threads)
        _count_accepts(self._server)
        self.port = self._server.effective_port
        self._thread = threading.Thread(target=self._server.run, name=f"bcbridge-emulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and the socket (waits for the thread)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
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


def _count_accepts(server: _Server) -> None:
    server.accepted = 0
    accept = server.handle_accept

    def counting() -> None:
        server.accepted += 1
        accept()

    server.handle_accept = counting


def serve(
    emulator: Emulator, host: str = "127.0.0.1", port: int = 0, ready: Any = None, threads: int = DEFAULT_THREADS
) -> None:
    """Serve until interrupted (``KeyboardInterrupt``/``SystemExit`` end it cleanly).

    Args:
        emulator: What to serve.
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
        ready: Called with the URL once the socket is bound, before serving.
        threads: Worker threads.
    """
    server, url = _bind(emulator, host, port, threads)
    try:
        if ready is not None:
            ready(url)
        server.run()
    finally:
        server.shutdown()
