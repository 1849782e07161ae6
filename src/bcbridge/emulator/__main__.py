"""``python -m bcbridge.emulator``: see :mod:`bcbridge.emulator.cli`."""

from __future__ import annotations

import sys

from bcbridge.emulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
