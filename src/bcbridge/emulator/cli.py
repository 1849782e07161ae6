"""``bcbridge emulator`` / ``python -m bcbridge.emulator``: serve the emulator on a port.

Prints exactly one line, ``emulator listening on http://HOST:PORT``, once the socket is
bound (``--port 0`` picks a free port, so scripts read the URL from that line), then
serves until SIGINT or SIGTERM and exits 0.
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

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(
        prog="bcbridge emulator",
        description="Serve a local stand-in for Business Central online and Entra ID.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="port; 0 picks a free one (default: %(default)s)"
    )
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
    parser.add_argument(
        "--client-id", default=defaults.client_id, help="app registration client id"
    )
    parser.add_argument(
        "--client-secret", default=defaults.client_secret, help="app registration secret"
    )
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
    """Parse ``argv``, serve until SIGINT/SIGTERM, and return the exit status (0)."""
    args = build_parser().parse_args(argv)
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
        latency_ms=args.latency_ms,
        per_record_us=args.per_record_us,
    )
    emulator = Emulator(config)
    signal.signal(signal.SIGTERM, _stop)

    def ready(url: str) -> None:
        print(f"emulator listening on {url}", flush=True)

    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        serve(emulator, args.host, args.port, ready=ready)
    sys.stdout.flush()
    return 0
