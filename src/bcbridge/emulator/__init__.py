"""A faithful local stand-in for Business Central online and Microsoft Entra ID.

The emulator imports nothing from the rest of :mod:`bcbridge`, so it cannot agree with
bcbridge's bugs. One WSGI application (:class:`Emulator`) serves identity
(``/{tenant}/oauth2/v2.0/...``), BC (``/v2.0/{tenant}/{environment}/api/v2.0/...``) and a
control API (``/_emulator/...``); it runs on a real loopback port
(:func:`~bcbridge.emulator.server.serve`) or in-process as an httpx transport
(:meth:`Emulator.transport`).

Behaviour follows ``docs/bc/``; what it says is UNVERIFIED is a setting of
:class:`EmulatorConfig`.
"""

from __future__ import annotations

from bcbridge.emulator.app import Emulator
from bcbridge.emulator.config import EmulatorConfig

__all__ = ["Emulator", "EmulatorConfig"]
