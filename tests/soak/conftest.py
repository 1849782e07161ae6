"""The fault suite (issue #16): probes that attack bcbridge through the emulator's faults,
kills and hostile requests, each printing one figure against its goal.

``make test`` runs every probe at a small size (marked ``soak``, seconds each); ``make soak``
sets ``BCBRIDGE_SOAK=1`` for the full sizes (about ten minutes in all with the process
probes of :mod:`tests.soak.processes`). Figures are printed at the end of the run and written
to ``test-artifacts/soak-figures-<database>.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

FULL = os.environ.get("BCBRIDGE_SOAK") == "1"
_FIGURES: list[dict[str, Any]] = []


def size(fast: int, full: int) -> int:
    """The probe size for this run: ``full`` under ``make soak``, else ``fast``."""
    return full if FULL else fast


class Figures:
    """Records a probe's figures; ``check`` asserts every figure of the probe met its goal."""

    def __init__(self, probe: str) -> None:
        self.probe = probe
        self.rows: list[dict[str, Any]] = []

    def add(self, name: str, value: Any, goal: Any, ok: bool | None = None) -> None:
        row = {"probe": self.probe, "figure": name, "value": value, "goal": goal}
        row["ok"] = (value == goal) if ok is None else ok
        self.rows.append(row)
        _FIGURES.append(row)

    def check(self) -> None:
        failed = [f"{r['figure']} = {r['value']} (goal {r['goal']})" for r in self.rows if not r["ok"]]
        assert not failed, f"{self.probe}: " + "; ".join(failed)


@pytest.fixture
def figures(request: Any) -> Figures:
    return Figures(request.node.name)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    from django.db import connection

    database = connection.vendor
    terminalreporter.section(f"fault suite figures ({database}, {'full' if FULL else 'fast'} sizes)")
    for row in _FIGURES:
        mark = "ok " if row["ok"] else "MISS"
        terminalreporter.write_line(
            f"{mark} {row['probe'][:60]:<60} {row['figure']:<40} {row['value']!s:>8}  goal {row['goal']}"
        )
    out = Path(os.environ.get("BCBRIDGE_SOAK_ARTIFACTS", "test-artifacts"))
    out.mkdir(parents=True, exist_ok=True)
    (out / f"soak-figures-{database}.json").write_text(json.dumps(_FIGURES, indent=2, default=str))
