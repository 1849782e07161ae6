"""Helpers of the BC contract tests (``test_bc_*.py``): an emulator, a token and URLs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bcbridge.emulator import Emulator, EmulatorConfig

BASE = "http://bc.emulator.test"


def make_emulator(**settings: object) -> Emulator:
    settings.setdefault("base_url", BASE)
    return Emulator(EmulatorConfig(**settings))  # type: ignore[arg-type]


def token(emulator: Emulator) -> str:
    """A valid app-only access token signed by the emulator's identity side."""
    value, _ = emulator.identity.issue_access_token(emulator.identity.app_subject(),
                                                    delegated=False)
    return value


@contextmanager
def client(emulator: Emulator, authenticated: bool = True) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token(emulator)}"} if authenticated else {}
    with httpx.Client(transport=emulator.transport(), base_url=BASE, headers=headers) as http:
        yield http


def root(emulator: Emulator) -> str:
    """Path of the API v2.0 route root."""
    config = emulator.config
    return f"/v2.0/{config.tenant}/{config.environment}/api/v2.0"


def company_id(emulator: Emulator, index: int = 0) -> str:
    return str(emulator.bc.companies()[index]["id"])


def company_url(emulator: Emulator, index: int = 0) -> str:
    return f"{root(emulator)}/companies({company_id(emulator, index)})"
