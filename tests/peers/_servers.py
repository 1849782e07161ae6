"""Start and stop the Node peers (``peers/``): one process each, found by its pid.

Each server is started with ``--port 0`` and prints one JSON line ``{"listening": URL, ...}``
once it listens, so the port is the one the kernel gave it (no free-port race). Its other
output is drained by a thread into a log under ``var/`` so the pipe never fills.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = ["PEERS", "NodeServer", "start_node"]

PEERS = Path(__file__).resolve().parents[2] / "peers"
_READY_WAIT = 60.0  # seconds a peer may take to start before the run fails (not a sync point)


@dataclass
class NodeServer:
    """A running peer: ``ready`` is its JSON ready line; stop it with :meth:`stop`."""

    name: str
    process: subprocess.Popen[str]
    ready: dict[str, Any]
    log: Path
    _drain: threading.Thread | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return str(self.ready["listening"])

    def stop(self) -> None:
        """SIGTERM by pid, wait, SIGKILL if it will not go; close the pipe."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._drain is not None:
            self._drain.join()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _require_installed() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js 20 is needed for the peer tests (tests/peers): install nodejs, then run `make peers`.")
    if not (PEERS / "node_modules").is_dir():
        pytest.fail(f"The peers are not installed ({PEERS / 'node_modules'} is missing): run `make peers`.")
    return node


def start_node(name: str, script: str, *args: str, log_dir: Path, env: dict[str, str] | None = None) -> NodeServer:
    """Run ``node peers/<script> --port 0 ARGS`` and wait for its ready line.

    Raises:
        pytest.fail: Node or ``peers/node_modules`` missing, or the server died or stayed
            silent (its log is quoted).
    """
    node = _require_installed()
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    stderr = log.open("w")
    process = subprocess.Popen(
        [node, script, "--port", "0", *args],
        cwd=PEERS,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env={**os.environ, **(env or {}), "NODE_ENV": "development"},
    )
    stderr.close()
    lines: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        assert process.stdout is not None
        with log.open("a") as out:
            for line in process.stdout:
                lines.put(line)
                out.write(line)
        lines.put(None)

    thread = threading.Thread(target=drain, name=f"peer-{name}-stdout", daemon=True)
    thread.start()
    server = NodeServer(name, process, {}, log, thread)
    while True:
        try:
            line = lines.get(timeout=_READY_WAIT)
        except queue.Empty:
            server.stop()
            pytest.fail(f"peer {name} printed no ready line within {_READY_WAIT:.0f} s; log: {log.read_text()[-2000:]}")
        if line is None:
            server.stop()
            pytest.fail(
                f"peer {name} exited (code {process.returncode}) before it listened; log: {log.read_text()[-2000:]}"
            )
        if line.startswith('{"listening"'):
            server.ready = json.loads(line)
            return server
