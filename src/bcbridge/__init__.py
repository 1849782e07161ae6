"""bcbridge: Microsoft Dynamics 365 Business Central, mirrored into and pushed from Django.

Python entry point: :func:`connect` returns the BC facade of a named connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bcbridge.entities import BC

__all__ = ["__version__", "connect"]

__version__ = "0.1.0"


def connect(name: str) -> BC:
    """The BC facade of the connection called ``name`` (needs Django set up).

    Raises:
        bcbridge.exceptions.ConfigurationError: no connection has that name.
    """
    from bcbridge.entities import BC

    return BC.for_connection(name)
