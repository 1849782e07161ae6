"""Serve this Django site on a loopback port from a thread (the demo's site and webhook receiver)."""

from __future__ import annotations

import threading

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.wsgi import get_wsgi_application
from waitress.server import create_server

from bcbridge.emulator.server import shutdown_waitress

__all__ = ["SiteServer"]


class SiteServer:
    """The site (admin, dashboard, webhook receiver, static files) served by waitress.

    Attributes:
        url: ``http://host:port`` once started.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8000, threads: int = 8) -> None:
        self.host, self.port, self.threads = host, port, threads
        self.url = ""
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> SiteServer:
        application = StaticFilesHandler(get_wsgi_application())  # admin CSS/JS without collectstatic
        self._server = create_server(
            application, host=self.host, port=self.port, threads=self.threads, ident="bcbridge"
        )
        self.port = self._server.effective_port
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._server.run, name="bcbridge-site", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        shutdown_waitress(server, self._thread)
        self._thread = None
