"""pytest plugin ``bcbridge_emulator``: BC online and Entra ID for your tests.

Installed with bcbridge (entry point ``pytest11``), so the fixtures are available in any
project that has bcbridge installed; disable it with ``-p no:bcbridge_emulator``. It does
not import Django.

Fixtures (all function-scoped, so every test gets a fresh tenant):

``bc_emulator_config``
    The :class:`~bcbridge.emulator.config.EmulatorConfig`; by default
    ``EmulatorConfig(base_url="http://bc.emulator.test")``. Override it in a test module
    or ``conftest.py`` to change the tenant, client, limits, token lifetimes, ...::

        @pytest.fixture
        def bc_emulator_config():
            return EmulatorConfig(base_url="http://bc.emulator.test", access_token_lifetime=5)

``bc_emulator``
    A fresh :class:`~bcbridge.emulator.app.Emulator` built from ``bc_emulator_config``.
    ``bc_emulator.control`` is the Python control API (clock, faults, limits, request log).

``bc_emulator_http``
    An :class:`httpx.Client` served in-process by ``bc_emulator`` (no socket), with
    ``base_url`` = ``config.base_url``: the fastest way to talk HTTP to the emulator.

``bc_emulator_server``
    A running :class:`~bcbridge.emulator.server.EmulatorServer` for ``bc_emulator`` on a
    free loopback port (``bc_emulator_server.url``), stopped after the test. Use it for
    clients that need a real socket (a browser, a subprocess). Starting it rewrites
    ``config.base_url`` to the real URL.

``bc_emulator_tls_server``
    ``bc_emulator`` over https with the local CA (:mod:`bcbridge.emulator.tls`, files under
    ``$BCBRIDGE_HOME/emulator-tls``), publishing ``https://api.businesscentral.dynamics.com``
    and ``https://login.microsoftonline.com``, with those names routed to it inside the test
    process (:func:`bcbridge.emulator.routing.route_bc_hosts`): run MSAL, bc-cli or any
    client hard-wired to BC online unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from bcbridge.emulator.app import Emulator
from bcbridge.emulator.config import EmulatorConfig
from bcbridge.emulator.routing import route_bc_hosts
from bcbridge.emulator.server import EmulatorServer
from bcbridge.emulator.tls import BC_API_HOST, ENTRA_HOST, ensure_certificates

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["bc_emulator", "bc_emulator_config", "bc_emulator_http", "bc_emulator_server", "bc_emulator_tls_server"]


@pytest.fixture
def bc_emulator_config() -> EmulatorConfig:
    """The emulator's settings; override this fixture to change them."""
    return EmulatorConfig(base_url="http://bc.emulator.test")


@pytest.fixture
def bc_emulator(bc_emulator_config: EmulatorConfig) -> Emulator:
    """A fresh emulator for this test."""
    return Emulator(bc_emulator_config)


@pytest.fixture
def bc_emulator_http(bc_emulator: Emulator) -> Iterator[httpx.Client]:
    """An httpx client talking to ``bc_emulator`` in-process."""
    with httpx.Client(transport=bc_emulator.transport(), base_url=bc_emulator.config.base_url) as client:
        yield client


@pytest.fixture
def bc_emulator_server(bc_emulator: Emulator) -> Iterator[EmulatorServer]:
    """``bc_emulator`` served on a free loopback port for the duration of the test."""
    with EmulatorServer(bc_emulator) as server:
        yield server


@pytest.fixture
def bc_emulator_tls_server(bc_emulator: Emulator) -> Iterator[EmulatorServer]:
    """``bc_emulator`` on BC's and Entra's https host names for the duration of the test."""
    config = bc_emulator.config
    config.public_api_url = config.public_api_url or f"https://{BC_API_HOST}"
    config.public_login_url = config.public_login_url or f"https://{ENTRA_HOST}"
    with EmulatorServer(bc_emulator, tls=ensure_certificates()) as server, route_bc_hosts(server):
        yield server
