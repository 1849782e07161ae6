"""Encryption at rest for client secrets and tokens (``cryptography`` MultiFernet).

Keys come from ``settings.BCBRIDGE["ENCRYPTION_KEYS"]``: the first key encrypts, every key
decrypts. Rotation: put a new key first, run ``bcbridge rotate_keys``, then drop the old one.
"""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bcbridge.conf import get_settings
from bcbridge.exceptions import ConfigurationError

__all__ = ["decrypt", "encrypt", "generate_key", "mask", "rotate"]


@functools.lru_cache(maxsize=4)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ConfigurationError(
            "settings.BCBRIDGE['ENCRYPTION_KEYS'] is empty: set it (or the BCBRIDGE_ENCRYPTION_KEYS "
            "environment variable) to one or more keys from `bcbridge generate_key`."
        )
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ConfigurationError(
            "settings.BCBRIDGE['ENCRYPTION_KEYS'] holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from exc


def _current() -> MultiFernet:
    return _multifernet(get_settings().ENCRYPTION_KEYS)


def encrypt(plaintext: str) -> str:
    """Encrypt ``plaintext`` with the first key; returns a Fernet token (ASCII)."""
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt a value written by :func:`encrypt` with any configured key.

    Raises:
        ConfigurationError: no configured key opens it (a key was removed too early).
    """
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ConfigurationError(
            "A stored secret cannot be decrypted with settings.BCBRIDGE['ENCRYPTION_KEYS']: "
            "put back the key it was written with, then run `bcbridge rotate_keys`."
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt ``token`` with the first key (MultiFernet.rotate)."""
    return _current().rotate(token.encode()).decode()


def generate_key() -> str:
    """A new random Fernet key."""
    return Fernet.generate_key().decode()


def mask(secret: str, visible: int = 4) -> str:
    """``secret`` for display: bullets and at most the last ``visible`` characters."""
    if not secret:
        return ""
    if len(secret) <= visible * 2:
        return "•" * 8
    return "•" * 8 + secret[-visible:]
