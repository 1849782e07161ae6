"""The process probes of :mod:`tests.soak.processes` in their fast form: real
``bcbridge`` subprocesses (SIGKILLed syncs, three runners and three pushers, a demo run's
secrets scan) against a local emulator, on the database this suite runs on.

Each probe runs in its own process (it has its own database, created from scratch) and
prints its figures; this test fails when one misses its goal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.soak.conftest import FULL, Figures

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.soak


@pytest.mark.parametrize("probe", ["kill", "workers", "secrets"])
def test_process_probe(probe: str, figures: Figures) -> None:
    database = "postgres" if connection.vendor == "postgresql" else "sqlite"
    if database == "postgres":
        settings = connection.settings_dict
        admin = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT'] or 5432}/postgres"
    else:
        admin = os.environ.get("BCBRIDGE_SOAK_PG", "")
    args = [sys.executable, "-m", "tests.soak.processes", "--database", database, "--probe", probe]
    env = {**os.environ, "BCBRIDGE_SOAK_PG": admin} if admin else dict(os.environ)
    results = ROOT / "test-artifacts" / f"soak-{probe}-{database}.json"
    results.unlink(missing_ok=True)
    done = subprocess.run(
        [*args, *([] if FULL else ["--fast"])], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert results.exists(), done.stdout + done.stderr
    for row in json.loads(results.read_text()):
        figures.add(row["name"], row["value"], row["goal"], row["ok"])
    assert done.returncode == 0 or not all(r["ok"] for r in figures.rows), done.stdout + done.stderr
    figures.check()
