"""The emulator on a real socket: EmulatorServer, the pytest fixtures and the CLI."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading

import httpx
import pytest

from bcbridge.emulator import Emulator, EmulatorConfig
from bcbridge.emulator.cli import build_parser, main
from bcbridge.emulator.pytest_plugin import (
    bc_emulator,
    bc_emulator_config,
    bc_emulator_http,
    bc_emulator_server,
)
from bcbridge.emulator.server import EmulatorServer

__all__ = ["bc_emulator", "bc_emulator_config", "bc_emulator_http", "bc_emulator_server"]


def test_server_fixture_serves_on_loopback_and_sets_base_url(
    bc_emulator_server: EmulatorServer, bc_emulator: Emulator
) -> None:
    assert bc_emulator_server.url.startswith("http://127.0.0.1:")
    assert bc_emulator.config.base_url == bc_emulator_server.url
    tenant = bc_emulator.config.tenant
    discovery = httpx.get(f"{bc_emulator_server.url}/{tenant}/v2.0/.well-known/openid-configuration")
    assert discovery.status_code == 200
    assert discovery.json()["token_endpoint"] == f"{bc_emulator_server.url}/{tenant}/oauth2/v2.0/token"


def test_server_answers_concurrent_requests(bc_emulator_server: EmulatorServer) -> None:
    statuses: list[int] = []

    def get() -> None:
        statuses.append(httpx.get(f"{bc_emulator_server.url}/_emulator").status_code)

    threads = [threading.Thread(target=get) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert statuses == [200] * 6


def test_server_stops_and_frees_the_port() -> None:
    server = EmulatorServer(Emulator(EmulatorConfig()))
    with server:
        url = server.url
        assert httpx.get(f"{url}/_emulator").status_code == 200
    try:
        httpx.get(f"{url}/_emulator", timeout=1)
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("the server still answers after stop()")


def test_http_fixture_is_in_process(bc_emulator_http: httpx.Client) -> None:
    assert str(bc_emulator_http.base_url) == "http://bc.emulator.test"
    assert bc_emulator_http.get("/_emulator").json()["apiUrl"].startswith("http://bc.emulator.test/v2.0/")


def test_cli_prints_the_listening_line_and_stops_on_sigterm() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bcbridge.emulator",
            "--port",
            "0",
            "--tenant",
            "contoso.com",
            "--seed",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("emulator listening on http://127.0.0.1:"), line
        url = line.removeprefix("emulator listening on ")
        discovery = httpx.get(f"{url}/contoso.com/v2.0/.well-known/openid-configuration", timeout=10)
        assert discovery.status_code == 200
        assert discovery.json()["issuer"].startswith(url)
        assert httpx.get(f"{url}/_emulator", timeout=10).json()["seed"] == 3
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert out.strip() == ""


def test_cli_arguments_map_onto_the_config() -> None:
    args = build_parser().parse_args(
        [
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--environment",
            "sandbox",
            "--client-id",
            "c",
            "--client-secret",
            "s",
            "--scale",
            "2",
            "--access-token-lifetime",
            "30",
            "--redirect-uri",
            "http://a/cb",
            "--redirect-uri",
            "http://b/cb",
        ]
    )
    assert args.environment == "sandbox"
    assert args.redirect_uris == ["http://a/cb", "http://b/cb"]
    assert args.access_token_lifetime == 30
    assert args.scale == 2.0


class _ReadyStdout(io.StringIO):
    """stdout that tells when the listening line has been printed."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = threading.Event()

    def write(self, text: str) -> int:
        written = super().write(text)
        if "\n" in self.getvalue():
            self.ready.set()
        return written


def test_cli_main_serves_until_interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    # SIGINT/SIGTERM end main() with status 0. The interrupt is sent once main() has
    # printed its listening line (not after a guessed delay); it then arrives in serve()
    # on the main thread, where Python delivers signals.
    stdout = _ReadyStdout()
    monkeypatch.setattr(sys, "stdout", stdout)

    cancelled = threading.Event()  # main() ended without printing: send nothing

    def interrupt() -> None:
        if stdout.ready.wait(60) and not cancelled.is_set():
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    interrupter = threading.Thread(target=interrupt)
    interrupter.start()
    try:
        status = main(["--port", "0"])
    finally:
        cancelled.set()
        stdout.ready.set()
        interrupter.join()
    assert status == 0
    out = stdout.getvalue()
    assert out.startswith("emulator listening on http://127.0.0.1:")
    assert out.count("\n") == 1


def test_shutdown_waitress_from_another_thread_with_a_kept_alive_connection() -> None:
    # the helper the demo's SiteServer uses too: a plain waitress server, stopped from a
    # thread that is neither the loop's nor the test's, while a client keeps a connection open
    from waitress.server import create_server

    from bcbridge.emulator.server import shutdown_waitress

    def app(environ: dict, start_response: object) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
        return [b"ok"]

    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    loop = threading.Thread(target=server.run, daemon=True)
    loop.start()
    url = f"http://127.0.0.1:{server.effective_port}/"
    with httpx.Client() as client:
        assert client.get(url).text == "ok"
        stopper = threading.Thread(target=shutdown_waitress, args=(server, loop))
        stopper.start()
        stopper.join(30)
        assert not stopper.is_alive() and not loop.is_alive()
        try:
            client.get(url, timeout=2)
        except httpx.TransportError:
            pass
        else:
            raise AssertionError("the server still answers after shutdown_waitress")
