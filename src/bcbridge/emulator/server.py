"""Serve an :class:`~bcbridge.emulator.app.Emulator` on a real loopback port.

The server is waitress (a production WSGI server): HTTP/1.1 keep-alive like BC's front
end, so a client's connection reuse is real and measurable, and a pool of worker threads
so the emulator's own per-user concurrency limits (5 processed, 95 queued) decide who
waits, not the server. :class:`EmulatorServer` runs it in a background thread (tests, the
demo); :func:`serve` blocks (the CLI). Both set ``emulator.config.base_url`` to the bound
URL, so token issuers, discovery documents and ``@odata.nextLink`` point at the real port.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import WSGITask

from bcbridge.emulator._tls_front import TLSFront

if TYPE_CHECKING:
    from types import TracebackType

    from bcbridge.emulator.app import Emulator
    from bcbridge.emulator.tls import TLSFiles

__all__ = ["DEFAULT_THREADS", "EmulatorServer", "serve", "shutdown_waitress"]

#: Worker threads: enough for BC's 5 concurrent + queued requests of a few users.
DEFAULT_THREADS = 24

# waitress reports every dropped connection (our "reset" fault) as an error; the
# emulator keeps its own request log.
logging.getLogger("waitress").setLevel(logging.CRITICAL)


def shutdown_waitress(server: Any, thread: threading.Thread | None = None, timeout: float = 5.0) -> None:
    """Stop a waitress server cleanly, from any thread.

    waitress's loop owns its sockets: closing them from another thread while it sits in
    ``select`` races it (``EBADF`` in the loop, worker threads writing to a closed trigger).
    So the sockets are closed *by the loop thread* through waitress's own trigger, in
    this order: stop accepting; let the worker threads finish their current request
    (``task_dispatcher.shutdown``, pending ones are cancelled) while the loop still sends
    their output; close every connection and the trigger, which ends the loop; join it.

    Args:
        server: A waitress ``TcpWSGIServer`` (``waitress.create_server``).
        thread: The thread running ``server.run()``; ``None`` (or the current thread) means
            the loop is not running, so the sockets are closed here.
        timeout: Seconds to wait for the worker threads and for the loop thread.
    """
    trigger = server.trigger
    pull = trigger._physical_pull

    def guarded_pull() -> None:  # a worker still finishing after the trigger closed
        if not trigger._closed:
            with contextlib.suppress(OSError):
                pull()

    trigger._physical_pull = guarded_pull
    looping = thread is not None and thread is not threading.current_thread() and thread.is_alive()
    stopped_accepting = threading.Event()

    def stop_accepting() -> None:
        server.accepting = False
        wasyncore.dispatcher.close(server)  # the listening socket only (server.close() also closes the trigger)
        stopped_accepting.set()

    def close_all() -> None:
        for dispatcher in list(server._map.values()):
            if dispatcher is not trigger:
                dispatcher.handle_close()
        trigger.close()
        server._map.clear()

    if looping:
        trigger.pull_trigger(stop_accepting)
        stopped_accepting.wait(timeout)
        server.task_dispatcher.shutdown(timeout=timeout)
        trigger.pull_trigger(close_all)
        assert thread is not None
        thread.join(timeout)
    else:
        stop_accepting()
        server.task_dispatcher.shutdown(timeout=timeout)
        close_all()


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


def _bind(emulator: Emulator, host: str, port: int, threads: int, tls: TLSFiles | None) -> tuple[_Server, str]:
    adjustments = Adjustments(
        # with TLS, waitress listens on a private loopback port behind the TLS front
        host="127.0.0.1" if tls is not None else host,
        port=0 if tls is not None else port,
        threads=threads,
        ident="bcbridge-emulator",
        channel_timeout=120,
        connection_limit=1000,
        expose_tracebacks=False,
        clear_untrusted_proxy_headers=True,
        url_scheme="https" if tls is not None else "http",
    )
    server = _Server(emulator, adj=adjustments, sockinfo=adjustments.listen[0])
    bound_host = f"[{host}]" if ":" in host else host
    url = f"http://{bound_host}:{server.effective_port}"
    return server, url


def _front(server: _Server, tls: TLSFiles, host: str, port: int) -> tuple[TLSFront, str]:
    front = TLSFront(server.effective_port, tls.server_context(), host, port)
    try:
        front.start()
    except BaseException:
        shutdown_waitress(server)
        raise
    bound_host = f"[{host}]" if ":" in host else host
    return front, f"https://{bound_host}:{front.port}"


class EmulatorServer:
    """A running emulator on ``http://host:port`` (``port=0`` picks a free port), or on
    ``https://host:port`` with ``tls``.

    Use as a context manager or call :meth:`start` / :meth:`stop`::

        with EmulatorServer(Emulator()) as server:
            httpx.get(server.url + "/_emulator")

    Args:
        emulator: What to serve; its ``config.base_url`` is set to :attr:`url`.
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
        threads: waitress worker threads.
        tls: Certificate files (:func:`bcbridge.emulator.tls.ensure_certificates`) to serve
            https with; ``None`` serves plain http.

    Attributes:
        emulator: The served emulator.
        url: ``http(s)://host:port`` once started.
        connections_accepted: TCP connections accepted so far (keep-alive shows as few).
    """

    def __init__(
        self,
        emulator: Emulator,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = DEFAULT_THREADS,
        tls: TLSFiles | None = None,
    ) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self.threads = threads
        self.tls = tls
        self.url = ""
        self._server: _Server | None = None
        self._front: TLSFront | None = None
        self._thread: threading.Thread | None = None

    @property
    def connections_accepted(self) -> int:
        server = self._server
        return int(server.accepted) if server is not None else 0

    def start(self) -> EmulatorServer:
        """Bind the socket and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        server, self.url = _bind(self.emulator, self.host, self.port, self.threads, self.tls)
        _count_accepts(server)
        if self.tls is not None:
            self._front, self.url = _front(server, self.tls, self.host, self.port)
            self.port = self._front.port
        else:
            self.port = server.effective_port
        self._server = server
        self.emulator.config.base_url = self.url
        self._thread = threading.Thread(target=server.run, name=f"bcbridge-emulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and the socket (waits for the threads).

        Callable from any thread.
        """
        server, self._server = self._server, None
        if server is None:
            return
        front, self._front = self._front, None
        if front is not None:
            front.stop()
        shutdown_waitress(server, self._thread)
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
    emulator: Emulator,
    host: str = "127.0.0.1",
    port: int = 0,
    ready: Any = None,
    threads: int = DEFAULT_THREADS,
    tls: TLSFiles | None = None,
) -> None:
    """Serve until interrupted (``KeyboardInterrupt``/``SystemExit`` end it cleanly).

    Args:
        emulator: What to serve; its ``config.base_url`` is set to the bound URL.
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
        ready: Called with the URL (``http://`` or ``https://``) once the socket is bound,
            before serving.
        threads: Worker threads.
        tls: Serve https with these certificate files (``None``: plain http).
    """
    server, url = _bind(emulator, host, port, threads, tls)
    front: TLSFront | None = None
    try:
        if tls is not None:
            front, url = _front(server, tls, host, port)
        emulator.config.base_url = url
        if ready is not None:
            ready(url)
        server.run()
    finally:
        if front is not None:
            front.stop()
        shutdown_waitress(server)
