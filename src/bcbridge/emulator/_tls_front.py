"""TLS in front of the emulator's waitress server (waitress itself speaks plain HTTP only).

One asyncio loop in one thread terminates TLS and relays each client connection to its
own connection to waitress on a private loopback port. So keep-alive, connection counts
and the per-connection behaviour of waitress stay exactly as without TLS, and a "reset"
fault that drops the inner connection aborts the outer one too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

__all__ = ["TLSFront"]

logger = logging.getLogger("bcbridge.emulator.tls")
_CHUNK = 64 * 1024


class TLSFront:
    """Accept TLS on ``host:port`` and relay to plain HTTP on ``127.0.0.1:target_port``.

    Args:
        target_port: waitress's loopback port.
        context: Server-side ``ssl.SSLContext`` (:meth:`TLSFiles.server_context`).
        host: Interface to bind.
        port: Port to bind; 0 picks a free one (read :attr:`port` after :meth:`start`).
    """

    def __init__(self, target_port: int, context: ssl.SSLContext, host: str = "127.0.0.1", port: int = 0) -> None:
        self.target_port = target_port
        self.context = context
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._relays: set[asyncio.Task[None]] = set()
        self._stopping = False

    def start(self) -> int:
        """Bind now (so the port is known) and serve in a daemon thread; returns the port."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # no Nagle delay on relayed answers (accepted sockets inherit it on Linux)
            listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            listener.bind((self.host, self.port))
            listener.listen(1024)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self.port = listener.getsockname()[1]
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_quiet)
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._relay, sock=listener, ssl=self.context, ssl_handshake_timeout=30)
            )
        except BaseException:
            loop.close()
            listener.close()
            raise
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name=f"bcbridge-emulator-tls-{self.port}", daemon=True)
        self._thread.start()
        return self.port

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and every relayed connection, stop the loop, join its thread.

        Callable from any thread except the loop's own.
        """
        loop, self._loop = self._loop, None
        if loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._close(), loop)
        with contextlib.suppress(Exception):
            future.result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if not loop.is_running():
            loop.close()

    async def _close(self) -> None:
        self._stopping = True  # idle kept-alive clients are dropped, not waited for
        if self._server is not None:
            self._server.close()
        for task in list(self._relays):
            task.cancel()
        if self._relays:
            await asyncio.gather(*self._relays, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._relays.add(task)
        upstream_writer: asyncio.StreamWriter | None = None
        reset = False
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            inbound = asyncio.ensure_future(_pump(client_reader, upstream_writer))
            outbound = asyncio.ensure_future(_pump(upstream_reader, client_writer))
            try:
                done, _ = await asyncio.wait({inbound, outbound}, return_when=asyncio.FIRST_COMPLETED)
                # waitress dropped the connection abruptly ("reset" fault): drop the client's too
                # (the client closing ends the relay: HTTP clients do not half-close)
                reset = outbound in done and outbound.result() is False
            finally:
                for pump in (inbound, outbound):
                    pump.cancel()
                await asyncio.gather(inbound, outbound, return_exceptions=True)
        except (OSError, asyncio.IncompleteReadError):
            reset = True
        finally:
            self._relays.discard(task)
            if upstream_writer is not None:
                upstream_writer.close()
                with contextlib.suppress(Exception):
                    await upstream_writer.wait_closed()
            if reset or self._stopping:
                client_writer.transport.abort()
            else:
                client_writer.close()
                with contextlib.suppress(Exception):
                    await client_writer.wait_closed()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Copy until end of stream; False when the peer reset the connection."""
    try:
        while chunk := await reader.read(_CHUNK):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        return False
    return True


def _quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # failed handshakes (a client that does not trust the CA) are the client's business
    logger.debug("emulator TLS: %s", context.get("message"), exc_info=context.get("exception"))
