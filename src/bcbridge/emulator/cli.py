"""``bcbridge emulator`` / ``python -m bcbridge.emulator``: serve the emulator on a port.

Prints ``emulator listening on http://HOST:PORT`` once the socket is bound (``--port 0``
picks a free port, so scripts read the URL from that line), then serves until SIGINT or
SIGTERM and exits 0. With ``--tls`` it serves https with the local CA's certificate
(:mod:`bcbridge.emulator.tls`), prints ``emulator listening on https://HOST:PORT`` and then
``emulator CA: PATH``, and publishes ``https://api.businesscentral.dynamics.com`` and
``https://login.microsoftonline.com`` in every URL it hands out (``--public-url`` changes
that). ``bcbridge emulator hosts`` prints the ``/etc/hosts`` lines that route those names
to the emulator, and the CA path.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import uuid
from typing import TYPE_CHECKING

from bcbridge.emulator.app import Emulator
from bcbridge.emulator.config import EmulatorConfig
from bcbridge.emulator.server import serve
from bcbridge.emulator.tls import BC_API_HOST, ENTRA_HOST, ensure_certificates

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

__all__ = ["build_hosts_parser", "build_parser", "hosts", "main"]


def build_parser() -> argparse.ArgumentParser:
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(
        prog="bcbridge emulator",
        description="Serve a local stand-in for Business Central online and Entra ID.",
        epilog="bcbridge emulator hosts [--address A] [--tls-dir DIR] prints the /etc/hosts lines "
        "that send BC's and Entra's host names to the emulator, and the CA path.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one (default: %(default)s)")
    parser.add_argument(
        "--tenant",
        default=defaults.tenant,
        help="tenant GUID, or a domain accepted as its alias (default: %(default)s)",
    )
    parser.add_argument(
        "--environment",
        default=defaults.environment,
        help="environment name (default: %(default)s)",
    )
    parser.add_argument("--client-id", default=defaults.client_id, help="app registration client id")
    parser.add_argument("--client-secret", default=defaults.client_secret, help="app registration secret")
    parser.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="seed of the demo data (default: %(default)s)",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=defaults.scale,
        help="demo data volume factor (default: %(default)s)",
    )
    parser.add_argument(
        "--access-token-lifetime",
        type=int,
        default=defaults.access_token_lifetime,
        help="seconds an access token lives (default: %(default)s)",
    )
    parser.add_argument(
        "--public-client",
        action="store_true",
        help="register the app as a public client: authorization code, refresh and device code "
        "grants without a client secret (MSAL PublicClientApplication, bcli)",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve https with a local CA (created once under $BCBRIDGE_HOME/emulator-tls) and "
        "publish BC's and Entra's own https host names",
    )
    parser.add_argument(
        "--public-url",
        default=None,
        metavar="URL",
        help="origin to publish in discovery, @odata.context, @odata.nextLink and Location instead "
        "of the default (with --tls: https://api.businesscentral.dynamics.com and "
        "https://login.microsoftonline.com; without: the bound URL)",
    )
    parser.add_argument(
        "--tls-dir",
        default=None,
        metavar="DIR",
        help="folder of the CA and server certificate (default: $BCBRIDGE_HOME/emulator-tls)",
    )
    parser.add_argument(
        "--latency-ms",
        type=_non_negative,
        default=defaults.latency_ms,
        help="simulated BC server time per request in ms, inside the user's 5 processing "
        "slots (default: %(default)s; realistic values: docs/emulator-latency.md)",
    )
    parser.add_argument(
        "--per-record-us",
        type=_non_negative,
        default=defaults.per_record_us,
        help="simulated BC server time per record served, in microseconds (default: %(default)s)",
    )
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        dest="redirect_uris",
        help="registered redirect URI (repeatable; none registered accepts any http(s) URI)",
    )
    return parser


def build_hosts_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bcbridge emulator hosts",
        description="Print the /etc/hosts lines that send BC's and Entra's host names to the "
        "emulator, and the CA clients must trust (created if missing).",
    )
    parser.add_argument("--address", default="127.0.0.1", help="emulator address (default: %(default)s)")
    parser.add_argument("--tls-dir", default=None, metavar="DIR", help="certificate folder")
    return parser


def hosts(argv: Sequence[str]) -> int:
    """``bcbridge emulator hosts``: print the hosts-file lines and the CA path; returns 0."""
    args = build_hosts_parser().parse_args(argv)
    files = ensure_certificates(args.tls_dir)
    print("# add to /etc/hosts, then run: bcbridge emulator --tls --port 443 (as root)")
    print(f"{args.address} {BC_API_HOST}")
    print(f"{args.address} {ENTRA_HOST}")
    print(f"# emulator CA: {files.ca.resolve()}")
    print("# trust it per client: curl --cacert, SSL_CERT_FILE, REQUESTS_CA_BUNDLE")
    return 0


def _public_urls(args: argparse.Namespace) -> dict[str, str]:
    if args.public_url:
        url = args.public_url.rstrip("/")
        if not url.startswith(("http://", "https://")) or "/" in url.split("://", 1)[1]:
            raise SystemExit(f"bcbridge emulator: --public-url must be an origin like https://host[:port], not {url!r}")
        return {"public_api_url": url, "public_login_url": url}
    if args.tls:
        return {"public_api_url": f"https://{BC_API_HOST}", "public_login_url": f"https://{ENTRA_HOST}"}
    return {}


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, serve until SIGINT/SIGTERM, and return the exit status (0).

    ``argv`` starting with ``hosts`` runs :func:`hosts` instead.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["hosts"]:
        return hosts(argv[1:])
    args = build_parser().parse_args(argv)
    public = _public_urls(args)
    defaults = EmulatorConfig()
    tenant, domains = args.tenant, defaults.tenant_domains
    try:
        uuid.UUID(tenant)
    except ValueError:
        # a domain name: keep the default GUID and accept the domain as its alias
        tenant, domains = defaults.tenant, (args.tenant, *domains)
    config = EmulatorConfig(
        tenant=tenant,
        tenant_domains=domains,
        environment=args.environment,
        client_id=args.client_id,
        client_secret=args.client_secret,
        seed=args.seed,
        scale=args.scale,
        access_token_lifetime=args.access_token_lifetime,
        redirect_uris=tuple(args.redirect_uris),
        public_client=args.public_client,
        **public,
        latency_ms=args.latency_ms,
        per_record_us=args.per_record_us,
    )
    tls = ensure_certificates(args.tls_dir) if args.tls else None
    emulator = Emulator(config)
    # both signals end serve() the same way, whatever handler the calling process had
    previous = {signum: signal.signal(signum, _stop) for signum in (signal.SIGINT, signal.SIGTERM)}

    def ready(url: str) -> None:
        print(f"emulator listening on {url}", flush=True)
        if tls is not None:
            print(f"emulator CA: {tls.ca.resolve()}", flush=True)

    try:
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            serve(emulator, args.host, args.port, ready=ready, tls=tls)
    finally:
        for signum, handler in previous.items():  # main() called from Python leaves no trace
            signal.signal(signum, handler)
    sys.stdout.flush()
    return 0
