"""Fixtures of the third-party client tests: the emulator over TLS on BC's and Entra's names.

``tls_emulator`` is the pytest plugin's ``bc_emulator_tls_server``: a running
:class:`~bcbridge.emulator.server.EmulatorServer` with the local CA's certificate,
publishing ``https://api.businesscentral.dynamics.com`` and
``https://login.microsoftonline.com``; inside the test those names resolve to it
(:func:`bcbridge.testing.route_bc_hosts`), so the clients run exactly as against BC online.
A module overrides ``tls_emulator_config`` to change the emulator's settings.
"""

from __future__ import annotations

import pytest

from bcbridge.emulator import EmulatorConfig
from bcbridge.emulator.server import EmulatorServer
from bcbridge.emulator.tls import BC_API_HOST, ENTRA_HOST

AUTHORITY = f"https://{ENTRA_HOST}"
API = f"https://{BC_API_HOST}"
BC_SCOPE = f"{API}/.default"
REDIRECT_URI = "http://localhost:8400/callback"


def tls_config(**changes: object) -> EmulatorConfig:
    return EmulatorConfig(public_api_url=API, public_login_url=AUTHORITY, webhook_delivery_interval=0, **changes)  # type: ignore[arg-type]


@pytest.fixture
def tls_emulator_config() -> EmulatorConfig:
    """Override to change the emulator's settings."""
    return tls_config()


@pytest.fixture
def bc_emulator_config(tls_emulator_config: EmulatorConfig) -> EmulatorConfig:
    return tls_emulator_config


@pytest.fixture
def tls_emulator(bc_emulator_tls_server: EmulatorServer) -> EmulatorServer:
    return bc_emulator_tls_server
