"""The database-backed rate limiter holds BC's limits across processes (no Redis needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from django.db import connection as db

RATE, WINDOW, CONCURRENCY, PER_PROCESS = 6, 1.0, 2, 8

WORKER = textwrap.dedent(f"""
    import json, os, time
    import django
    os.environ["DJANGO_SETTINGS_MODULE"] = "bcbridge.site.settings"
    django.setup()
    from bcbridge.entities._limiter import DatabaseRateLimiter
    limiter = DatabaseRateLimiter("bcbridge:test", rate={RATE}, window={WINDOW}, concurrency={CONCURRENCY}, timeout=60)
    spans = []
    for _ in range({PER_PROCESS}):
        with limiter.acquire():
            start = time.time()
            time.sleep(0.02)
            spans.append((start, time.time()))
    print(json.dumps(spans))
""")


def _database_url() -> str:
    settings = db.settings_dict
    if db.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_two_processes_together_stay_under_the_limits(tmp_path):
    env = {**os.environ, "DATABASE_URL": _database_url(), "BCBRIDGE_HOME": str(tmp_path)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    spans = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        spans += json.loads(out.strip().splitlines()[-1])
    assert len(spans) == 2 * PER_PROCESS
    starts = sorted(start for start, _ in spans)
    # sliding window: no RATE+1 starts within WINDOW seconds (small allowance for clock reads)
    for i in range(len(starts) - RATE):
        assert starts[i + RATE] - starts[i] >= WINDOW - 0.05, (i, starts[i : i + RATE + 1])
    # concurrency: never more than CONCURRENCY spans overlap
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak <= CONCURRENCY
