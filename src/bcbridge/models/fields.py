"""Model fields whose values are encrypted at rest with :mod:`bcbridge.crypto`."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from bcbridge import crypto

__all__ = ["EncryptedJSONField", "EncryptedTextField"]


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A string stored as a Fernet token; Python code sees the plaintext.

    Not searchable or orderable in SQL (the ciphertext changes on every save).
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))


class EncryptedJSONField(models.TextField):  # type: ignore[type-arg]
    """A JSON-serialisable value (e.g. an OAuth token set) stored encrypted."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return None
        return json.loads(crypto.decrypt(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value:
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return crypto.encrypt(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj: Any) -> str:
        return ""  # never serialised out (dumpdata) in the clear
