from __future__ import annotations

from django.apps import AppConfig


class BCBridgeConfig(AppConfig):
    name = "bcbridge"
    verbose_name = "Business Central bridge"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bcbridge import checks, conf

        checks.register()
        conf.connect_reset_signal()
