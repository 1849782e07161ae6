"""System checks: configuration mistakes are reported by ``manage.py check`` at start-up."""

from __future__ import annotations

from typing import Any

from django.core import checks

from bcbridge.exceptions import ConfigurationError

__all__ = ["register"]


def check_settings(app_configs: Any = None, **_: Any) -> list[checks.CheckMessage]:
    from bcbridge import crypto
    from bcbridge.conf import get_settings

    try:
        settings = get_settings()
        if settings.ENCRYPTION_KEYS:
            crypto.encrypt("check")
        else:
            return [
                checks.Error(
                    "settings.BCBRIDGE['ENCRYPTION_KEYS'] is empty.",
                    hint="Generate one with `bcbridge generate_key` and set BCBRIDGE_ENCRYPTION_KEYS.",
                    id="bcbridge.E001",
                )
            ]
    except ConfigurationError as exc:
        return [checks.Error(str(exc), id="bcbridge.E002")]
    return []


def register() -> None:
    checks.register(check_settings, "bcbridge")
