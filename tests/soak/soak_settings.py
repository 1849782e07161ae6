"""Settings of the process probes: bcbridge's site settings with small sync pages, so a
full sync has many pages (and many points to be killed at)."""

from __future__ import annotations

import os

from bcbridge.site.settings import *  # noqa: F403
from bcbridge.site.settings import BCBRIDGE

BCBRIDGE = {**BCBRIDGE, "SYNC_PAGE_SIZE": int(os.environ.get("BCBRIDGE_SOAK_PAGE_SIZE", "25"))}
