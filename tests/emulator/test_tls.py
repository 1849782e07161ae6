"""``--tls``: the local CA and certificate, https serving, the published host names, the
``hosts`` command and :func:`bcbridge.testing.route_bc_hosts`.

Expected values come from the TLS/X.509 standards as Python's ``ssl`` module (OpenSSL)
checks them, and from the BC/Entra host names in Microsoft's documents (docs/bc/0-quick-reference.md §0, §1.1).
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from bcbridge.emulator import Emulator, EmulatorConfig
from bcbridge.emulator.cli import main
from bcbridge.emulator.server import EmulatorServer
from bcbridge.emulator.tls import BC_API_HOST, ENTRA_HOST, ensure_certificates
from bcbridge.testing import route_bc_hosts


@pytest.fixture
def tls_dir(tmp_path: Path) -> Path:
    return tmp_path / "tls"


def test_certificate_covers_bc_entra_and_loopback_and_chains_to_the_ca(tls_dir: Path) -> None:
    files = ensure_certificates(tls_dir)
    cert = x509.load_pem_x509_certificate(files.certificate.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {BC_API_HOST, ENTRA_HOST, "localhost"}
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert oct(files.key.stat().st_mode & 0o777) == "0o600"
    assert oct((tls_dir / "ca-key.pem").stat().st_mode & 0o777) == "0o600"


def test_certificates_are_reused_across_runs(tls_dir: Path) -> None:
    first = ensure_certificates(tls_dir)
    ca, cert = first.ca.read_bytes(), first.certificate.read_bytes()
    again = ensure_certificates(tls_dir)
    assert again == first
    assert again.ca.read_bytes() == ca and again.certificate.read_bytes() == cert


def test_a_missing_server_certificate_is_reissued_from_the_same_ca(tls_dir: Path) -> None:
    first = ensure_certificates(tls_dir)
    ca = first.ca.read_bytes()
    first.certificate.unlink()
    again = ensure_certificates(tls_dir)
    assert again.ca.read_bytes() == ca
    x509.load_pem_x509_certificate(again.certificate.read_bytes()).verify_directly_issued_by(
        x509.load_pem_x509_certificate(ca)
    )


def test_https_server_verifies_against_the_ca_only(tls_dir: Path) -> None:
    files = ensure_certificates(tls_dir)
    with EmulatorServer(Emulator(EmulatorConfig()), tls=files) as server:
        assert server.url.startswith("https://127.0.0.1:")
        with httpx.Client(verify=files.client_context()) as trusting:
            assert trusting.get(f"{server.url}/_emulator").status_code == 200
        # the system's trust store does not know the local CA: the handshake fails
        with pytest.raises(httpx.ConnectError), httpx.Client(verify=ssl.create_default_context()) as plain:
            plain.get(f"{server.url}/_emulator")
        # plain http to the https port is no answer either
        with pytest.raises(httpx.TransportError), httpx.Client() as cleartext:
            cleartext.get(f"http://127.0.0.1:{server.port}/_emulator", timeout=5)


def test_public_urls_are_bcs_and_entras_names(tls_dir: Path) -> None:
    config = EmulatorConfig(
        public_api_url=f"https://{BC_API_HOST}", public_login_url=f"https://{ENTRA_HOST}", max_page_size=5
    )
    emulator = Emulator(config)
    with EmulatorServer(emulator, tls=ensure_certificates(tls_dir)) as server, route_bc_hosts(server):
        tenant = config.tenant
        discovery = httpx.get(f"https://{ENTRA_HOST}/{tenant}/v2.0/.well-known/openid-configuration").json()
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "device_authorization_endpoint"):
            assert discovery[name].startswith(f"https://{ENTRA_HOST}/{tenant}/"), name
        token = httpx.post(
            discovery["token_endpoint"],
            data={
                "grant_type": "client_credentials",
                "client_id": config.client_id,
                "client_secret": config.client_secret,
                "scope": f"https://{BC_API_HOST}/.default",
            },
        ).json()["access_token"]
        api = f"https://{BC_API_HOST}/v2.0/{tenant}/{config.environment}/api/v2.0"
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as http:
            companies = http.get(f"{api}/companies").json()
            assert companies["@odata.context"] == f"{api}/$metadata#companies"
            cid = companies["value"][0]["id"]
            items = http.get(f"{api}/companies({cid})/items").json()
            assert items["@odata.nextLink"].startswith(f"{api}/companies({cid})/items?")
            created = http.post(f"{api}/companies({cid})/items", json={"displayName": "TLS"})
            assert created.status_code == 201
            assert created.headers["Location"].startswith(f"{api}/companies({cid})/items(")
        assert server.connections_accepted >= 1


def test_route_bc_hosts_restores_the_resolver_and_environment(tls_dir: Path) -> None:
    before = (socket.getaddrinfo, socket.socket.connect, os.environ.get("SSL_CERT_FILE"))
    with EmulatorServer(Emulator(EmulatorConfig()), tls=ensure_certificates(tls_dir)) as server:
        with route_bc_hosts(server):
            assert os.environ["SSL_CERT_FILE"] == os.environ["REQUESTS_CA_BUNDLE"] == str(server.tls.ca)
            assert socket.getaddrinfo is not before[0]
            # names that are not routed still resolve normally
            assert socket.getaddrinfo("localhost", 80)
        assert (socket.getaddrinfo, socket.socket.connect, os.environ.get("SSL_CERT_FILE")) == before


def test_route_bc_hosts_needs_a_tls_server() -> None:
    with (
        EmulatorServer(Emulator(EmulatorConfig())) as server,
        pytest.raises(ValueError, match="tls"),
        route_bc_hosts(server),
    ):
        pass


def test_https_server_stops_cleanly_from_another_thread(tls_dir: Path) -> None:
    server = EmulatorServer(Emulator(EmulatorConfig()), tls=ensure_certificates(tls_dir)).start()
    client = httpx.Client(verify=server.tls.client_context())  # type: ignore[union-attr]
    assert client.get(f"{server.url}/_emulator").status_code == 200  # leaves a kept-alive connection
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join(30)
    assert not stopper.is_alive()
    with pytest.raises(httpx.TransportError):
        client.get(f"{server.url}/_emulator", timeout=5)
    client.close()


def test_cli_tls_prints_the_https_line_then_the_ca(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "BCBRIDGE_HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bcbridge.emulator", "--tls", "--public-client", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        listening = process.stdout.readline().strip()
        ca_line = process.stdout.readline().strip()
        assert listening.startswith("emulator listening on https://127.0.0.1:"), listening
        assert ca_line == f"emulator CA: {(tmp_path / 'emulator-tls' / 'ca.pem').resolve()}"
        url = listening.removeprefix("emulator listening on ")
        ca = ca_line.removeprefix("emulator CA: ")
        verify = ssl.create_default_context(cafile=ca)
        info = httpx.get(f"{url}/_emulator", verify=verify, timeout=10).json()
        assert info["apiUrl"].startswith(f"https://{BC_API_HOST}/v2.0/")
        assert info["authority"].startswith(f"https://{ENTRA_HOST}/")
        # --public-client: the device code grant is redeemed without a secret (pending here)
        client_id = EmulatorConfig().client_id
        flow = httpx.post(
            f"{url}/organizations/oauth2/v2.0/devicecode",
            data={"client_id": client_id, "scope": f"https://{BC_API_HOST}/.default offline_access"},
            verify=verify,
            timeout=10,
        ).json()
        poll = httpx.post(
            f"{url}/organizations/oauth2/v2.0/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "client_id": client_id,
                "device_code": flow["device_code"],
            },
            verify=verify,
            timeout=10,
        )
        assert poll.json()["error"] == "authorization_pending"
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert out.strip() == ""


def test_cli_public_url_overrides_the_published_origin() -> None:
    from bcbridge.emulator.cli import _public_urls, build_parser

    args = build_parser().parse_args(["--tls", "--public-url", "https://bc.example.test:8443/"])
    assert _public_urls(args) == {
        "public_api_url": "https://bc.example.test:8443",
        "public_login_url": "https://bc.example.test:8443",
    }
    with pytest.raises(SystemExit, match="origin"):
        _public_urls(build_parser().parse_args(["--public-url", "bc.example.test/path"]))


def test_hosts_command_prints_the_hosts_lines_and_the_ca(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hosts", "--tls-dir", str(tmp_path / "tls")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"127.0.0.1 {BC_API_HOST}" in lines
    assert f"127.0.0.1 {ENTRA_HOST}" in lines
    assert f"# emulator CA: {(tmp_path / 'tls' / 'ca.pem').resolve()}" in lines
    assert (tmp_path / "tls" / "ca.pem").exists()
