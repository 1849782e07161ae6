from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from bcbridge import crypto


class Command(BaseCommand):
    help = "Print a new encryption key for BCBRIDGE['ENCRYPTION_KEYS'] / BCBRIDGE_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(crypto.generate_key())
