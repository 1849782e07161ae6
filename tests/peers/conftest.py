"""Session fixtures: the real peers, each started once per pytest run and stopped by pid.

``oidc_peer``: panva oidc-provider configured Entra-style (``peers/oidc``);
``cap_peer``: SAP CAP serving a BC-shaped API v2.0 (``peers/cap``) that checks bearer
tokens at ``oidc_peer`` by RFC 7662 introspection.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._peers import CapPeer, OidcPeer
from ._servers import start_node

_REDIRECT_URIS = ("http://testserver/bcbridge/oauth/callback/",)


@pytest.fixture(scope="session")
def peer_logs() -> Path:
    """Peer logs go under ``var/`` (ignored), one folder per run's worker."""
    import os

    home = Path(os.environ.get("BCBRIDGE_HOME") or Path(__file__).resolve().parents[2] / "var")
    return home / "peer-logs"


@pytest.fixture(scope="session")
def oidc_peer(peer_logs: Path) -> Iterator[OidcPeer]:
    args = [arg for uri in _REDIRECT_URIS for arg in ("--redirect-uri", uri)]
    server = start_node("oidc-provider", "oidc/server.mjs", *args, log_dir=peer_logs)
    try:
        yield OidcPeer(server)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def cap_peer(peer_logs: Path, oidc_peer: OidcPeer) -> Iterator[CapPeer]:
    basic = oidc_peer.client("client_secret_basic")
    introspect = f"{oidc_peer.discovery['introspection_endpoint']} {basic.client_id} {basic.client_secret}"
    server = start_node("cap", "cap/start.js", log_dir=peer_logs, env={"BCBRIDGE_PEER_INTROSPECT": introspect})
    try:
        yield CapPeer(server, oidc_peer)
    finally:
        server.stop()


@pytest.fixture
def peer_network(settings: Any) -> Iterator[None]:
    """Connections talk to the network (the peers), not to the in-process emulator."""
    from bcbridge.auth.discovery import clear_cache

    settings.BCBRIDGE = {**settings.BCBRIDGE, "HTTP_TRANSPORT": ""}
    clear_cache()
    yield
    clear_cache()
