"""Fixtures of the BC contract tests: a fresh emulator and an authenticated client.

A module overrides ``emulator`` to change the emulator's settings; ``http`` follows it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bcbridge.emulator import Emulator

from ._bc import client, make_emulator


@pytest.fixture
def emulator() -> Emulator:
    return make_emulator()


@pytest.fixture
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    with client(emulator) as http:
        yield http
