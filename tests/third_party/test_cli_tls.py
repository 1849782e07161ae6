"""MSAL and bc-cli against ``bcbridge emulator --tls`` itself: the command a user runs, in its
own process, with the two host names routed to its port inside this test process.

Expected values: BC's client-credentials scope and the environments API shape (docs/bc/0-quick-reference.md
§0, §2.1;
https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/api-get-environments),
never the emulator's own output.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msal
import pytest
from bcli import AsyncBCClient
from bcli.auth._credentials import ClientCredentialsAuth
from bcli.auth._token_cache import TokenCache

from bcbridge.emulator import EmulatorConfig
from bcbridge.testing import route_bc_hosts

from .conftest import AUTHORITY, BC_SCOPE

pytestmark = pytest.mark.third_party


@pytest.fixture
def cli_emulator(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """``bcbridge emulator --tls --port 0`` in a subprocess: yields (port, CA path)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "BCBRIDGE_HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bcbridge.emulator", "--tls", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        listening = process.stdout.readline().strip()
        ca = process.stdout.readline().strip().removeprefix("emulator CA: ")
        assert listening.startswith("emulator listening on https://"), listening
        yield int(listening.rsplit(":", 1)[1]), ca
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err


def test_msal_and_bcli_against_the_command(cli_emulator: tuple[int, str], tmp_path: Path) -> None:
    port, ca = cli_emulator
    config = EmulatorConfig()  # the command's defaults: tenant, client id and secret
    with route_bc_hosts(port=port, ca=ca):
        app = msal.ConfidentialClientApplication(
            config.client_id, client_credential=config.client_secret, authority=f"{AUTHORITY}/{config.tenant}"
        )
        result = app.acquire_token_for_client(scopes=[BC_SCOPE])
        assert "access_token" in result, result

        async def scenario() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
            auth = ClientCredentialsAuth(
                tenant_id=config.tenant,
                client_id=config.client_id,
                client_secret=config.client_secret,
                token_cache=TokenCache(tmp_path / "bcli-tokens.json"),
            )
            async with AsyncBCClient(
                tenant_id=config.tenant, client_id=config.client_id, environment="production", auth=auth
            ) as client:
                return await client.list_companies(), await client.list_environments()

        companies, environments = asyncio.run(scenario())
    assert companies and all({"id", "name", "displayName"} <= set(c) for c in companies)
    assert [e["name"] for e in environments] == [config.environment]
    assert environments[0]["aadTenantId"] == config.tenant
