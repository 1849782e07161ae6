"""The emulator in its own process for benchmarks: BC is another system, so it must not
share the measured process's GIL (imported by the bench scripts; not a benchmark itself)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

__all__ = ["start_emulator_process"]


def _serve(conn: Any, config: dict[str, Any], limits: dict[str, Any]) -> None:
    from bcbridge.emulator import Emulator, EmulatorConfig
    from bcbridge.emulator.server import EmulatorServer

    emulator = Emulator(EmulatorConfig(**config))
    if limits:
        emulator.control.set_limits(**limits)
    server = EmulatorServer(emulator).start()
    conn.send(server.url)
    conn.recv()  # any message (or EOF) stops it
    server.stop()


def start_emulator_process(
    config: dict[str, Any] | None = None, limits: dict[str, Any] | None = None
) -> tuple[str, Callable[[], None]]:
    """Start ``Emulator(EmulatorConfig(**config))`` on a loopback port in a spawned process.

    Returns:
        ``(url, stop)``; ``stop()`` ends the process.
    """
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(child, config or {}, limits or {}), daemon=True)
    process.start()
    if not parent.poll(120):
        process.kill()
        raise SystemExit("the emulator did not start within 120 s")
    url = parent.recv()

    def stop() -> None:
        parent.send("stop")
        process.join(10)
        if process.is_alive():
            process.kill()

    return url, stop
