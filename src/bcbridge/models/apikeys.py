"""API clients of the REST API (``/bcbridge/api/v1/``): their keys, and the idempotency keys of
their orders.

A key is shown once when created (``bcbridge apikey create``, or the admin's "API clients")
and stored only as its SHA-256 hash; its first characters (``prefix``) stay visible so a
person can tell keys apart. Keys are 32 random bytes, so a plain hash is enough (no slow
password hash is needed against guessing); comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import models
from django.utils import timezone

from bcbridge.models.connection import Company
from bcbridge.models.outbox import OutboxMessage

__all__ = ["SCOPES", "ApiClient", "ApiIdempotencyKey", "hash_key"]

#: What a key may do: read the mirror and health, submit orders, call registry endpoints.
SCOPES = ("read", "orders", "endpoints")

_KEY_PREFIX = "bcb_"
_PREFIX_LENGTH = 12  # "bcb_" + 8 characters: shown in the admin, used to find the row


def hash_key(key: str) -> str:
    """Hex SHA-256 of ``key`` (what is stored)."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiClient(models.Model):
    """One app that calls the REST API with its own key (a web shop, a warehouse app, a BI tool).

    ``scopes`` is a list of :data:`SCOPES`; ``company`` restricts every call to one company;
    ``endpoints`` restricts ``POST /endpoints/{code}`` to these codes (empty: any enabled
    endpoint). ``rate_limit`` requests are allowed per ``rate_window`` seconds (429 with
    ``Retry-After`` beyond). ``window_started_at``/``window_count`` are the throttle's
    counter, shared by every process through the database.
    """

    name = models.CharField(max_length=100, unique=True, help_text="Which app uses this key.")
    prefix = models.CharField(max_length=16, unique=True, editable=False, help_text="First characters of the key.")
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list, help_text='Any of "read", "orders", "endpoints".')
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Only this company (empty: every company).",
    )
    endpoints = models.JSONField(
        default=list, blank=True, help_text="Endpoint codes this key may call (empty: every enabled endpoint)."
    )
    rate_limit = models.PositiveIntegerField(default=600, help_text="Requests allowed per window.")
    rate_window = models.PositiveIntegerField(default=60, help_text="Window of the rate limit, in seconds.")
    window_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    window_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="Set: the key no longer works.")

    class Meta:
        ordering = ["name"]
        verbose_name = "API client"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def generate(cls) -> tuple[str, str, str]:
        """A new random key: ``(key, prefix, hash)``."""
        key = _KEY_PREFIX + secrets.token_urlsafe(32)
        return key, key[:_PREFIX_LENGTH], hash_key(key)

    @classmethod
    def create_with_key(cls, name: str, scopes: list[str], **fields: object) -> tuple[ApiClient, str]:
        """Create a client and return it with its key (the only time the key exists in clear).

        Raises:
            ValueError: an unknown scope.
        """
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown or not scopes:
            raise ValueError(f"unknown or no scopes {unknown}; choose from {', '.join(SCOPES)}")
        key, prefix, digest = cls.generate()
        client = cls.objects.create(
            name=name, scopes=list(dict.fromkeys(scopes)), prefix=prefix, key_hash=digest, **fields
        )
        return client, key

    def rotate(self) -> str:
        """Replace the key (the old one stops working at once); returns the new key."""
        key, self.prefix, self.key_hash = self.generate()
        self.save(update_fields=["prefix", "key_hash"])
        return key

    def matches(self, key: str) -> bool:
        """Constant-time check of ``key`` against the stored hash."""
        return hmac.compare_digest(self.key_hash, hash_key(key))

    @classmethod
    def find(cls, key: str) -> ApiClient | None:
        """The client of ``key`` (revoked ones too), or ``None``."""
        if not key.startswith(_KEY_PREFIX) or len(key) < _PREFIX_LENGTH:
            return None
        client = cls.objects.filter(prefix=key[:_PREFIX_LENGTH]).select_related("company").first()
        if client is None or not client.matches(key):
            return None
        return client


class ApiIdempotencyKey(models.Model):
    """``Idempotency-Key`` of an order submitted through the API: the same key and body give the
    same outbox message; the same key with another body is a conflict (409)."""

    owner = models.CharField(max_length=80, help_text="client:<id> or user:<id>.")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical request body.")
    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "API idempotency key"
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="bcbridge_api_idempotency_unique")]

    def __str__(self) -> str:
        return f"{self.owner}:{self.key} -> #{self.message_id}"
