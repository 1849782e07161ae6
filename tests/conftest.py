"""Shared fixtures: bcbridge against the in-process emulator (the emulator's pytest plugin
provides ``bc_emulator_config``, ``bc_emulator`` and ``bc_emulator_server``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def emulator_transport(bc_emulator: Any, settings: Any) -> Iterator[Any]:
    """Every connection's HTTP goes to ``bc_emulator`` in-process; yields the counting transport
    (:class:`bcbridge.testing.CountingTransport`). Django is imported lazily, so emulator-only
    tests also run with ``-p no:django``."""
    from bcbridge import testing
    from bcbridge.auth.discovery import clear_cache

    settings.BCBRIDGE = {**settings.BCBRIDGE, "HTTP_TRANSPORT": "bcbridge.testing.emulator_transport"}
    transport = testing.use_emulator(bc_emulator)
    clear_cache()
    assert transport is not None
    yield transport
    testing.use_emulator(None)
    clear_cache()


def make_connection(emulator: Any, name: str = "cronus", **fields: Any) -> Any:
    from bcbridge.models import Connection

    config = emulator.config
    values = {
        "api_url": config.base_url,
        "authority_url": config.base_url,
        "tenant": config.tenant,
        "environment": config.environment,
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "grant_type": "client_credentials",
        **fields,
    }
    return Connection.objects.create(name=name, **values)


@pytest.fixture
def connection(db: Any, bc_emulator: Any, emulator_transport: Any) -> Any:
    """A client-credentials connection to the in-process emulator."""
    return make_connection(bc_emulator)


@pytest.fixture
def delegated_connection(db: Any, bc_emulator: Any, emulator_transport: Any) -> Any:
    """An authorization-code connection to the in-process emulator (not yet authorized)."""
    return make_connection(bc_emulator, name="cronus-user", grant_type="authorization_code")


@pytest.fixture
def company(connection: Any, bc_emulator: Any) -> Any:
    """The emulator's first company, loaded and selected on ``connection``."""
    from bcbridge.sync.companies import load_companies

    first = bc_emulator.bc.companies()[0]
    load_companies(connection, select=[first["id"]])
    return connection.companies.get(bc_id=first["id"])


@pytest.fixture
def bc(connection: Any) -> Iterator[Any]:
    """The connection's BC facade, closed after the test."""
    from bcbridge.entities import BC

    with BC(connection) as facade:
        yield facade


@pytest.fixture
def receiver(bc_emulator: Any) -> Any:
    """The emulator delivers webhook notifications to this site through Django's test client."""
    from ._webhooks import DjangoTransport

    transport = DjangoTransport()
    bc_emulator.config.notification_transport = transport
    return transport


@pytest.fixture
def browser_page(monkeypatch: Any) -> Iterator[Any]:
    """A headless Debian Chromium page (Playwright); fails in CI when Chromium is missing."""
    from .browser import chromium_page

    yield from chromium_page(monkeypatch)
