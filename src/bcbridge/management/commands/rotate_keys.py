"""Re-encrypt every stored secret with the first key of ``ENCRYPTION_KEYS``."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from bcbridge import crypto
from bcbridge.models.fields import EncryptedJSONField, EncryptedTextField


class Command(BaseCommand):
    help = (
        "Re-encrypt all encrypted fields with the newest key. Put the new key first in "
        "ENCRYPTION_KEYS, run this, then remove the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            names = [
                f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField | EncryptedJSONField)
            ]
            if not names:
                continue
            with transaction.atomic():
                # .values() would decrypt; read the raw ciphertext with a raw cursor instead
                rows = model.objects.select_for_update().values_list("pk", flat=True)
                for pk in rows:
                    raw = self._raw(model, pk, names)
                    changes = {name: crypto.rotate(value) for name, value in raw.items() if value}
                    if changes:
                        self._write_raw(model, pk, changes)
                        total += 1
        self.stdout.write(f"Re-encrypted secrets in {total} rows.")

    @staticmethod
    def _raw(model: Any, pk: Any, names: list[str]) -> dict[str, str | None]:
        from django.db import connection

        table = connection.ops.quote_name(model._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(model._meta.get_field(n).column) for n in names)
        pk_column = connection.ops.quote_name(model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM {table} WHERE {pk_column} = %s", [pk])  # noqa: S608
            row = cursor.fetchone()
        return dict(zip(names, row, strict=True))

    @staticmethod
    def _write_raw(model: Any, pk: Any, changes: dict[str, str]) -> None:
        from django.db import connection

        table = connection.ops.quote_name(model._meta.db_table)
        sets = ", ".join(f"{connection.ops.quote_name(model._meta.get_field(n).column)} = %s" for n in changes)
        pk_column = connection.ops.quote_name(model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {sets} WHERE {pk_column} = %s", [*changes.values(), pk])  # noqa: S608
