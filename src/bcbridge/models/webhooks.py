"""Webhook subscriptions bcbridge holds in BC, the receiver URL of each connection, and every
delivery BC (or anyone) posted to it, stored raw before anything else happens.

Only :mod:`bcbridge.sync.webhooks` (subscriptions), :mod:`bcbridge.views.webhooks` (receiving)
and :mod:`bcbridge.sync.notifications` (processing) write these tables.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from bcbridge.models.connection import Company, Connection
from bcbridge.models.fields import EncryptedTextField

__all__ = ["DeliveryStatus", "SubscriptionStatus", "WebhookDelivery", "WebhookReceiver", "WebhookSubscription"]


def new_token() -> str:
    """A receiver path token: 256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


class WebhookReceiver(models.Model):
    """The unguessable receiver URL of one connection: ``/bcbridge/webhooks/<token>/``.

    Every subscription of the connection posts there; a request to any other token is
    stored as an invalid delivery and answered 400.
    """

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="webhook_receiver")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "webhook receiver"

    def __str__(self) -> str:
        return f"receiver of {self.connection}"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    LOST = "lost", "Lost (BC deleted it or it expired; recreated on the next pass)"
    FAILED = "failed", "Failed (BC refused it; retried on the next pass)"


class WebhookSubscription(models.Model):
    """One BC webhook subscription (API-FACTS §6.1) for one entity set of one company.

    ``client_state`` is a random secret BC echoes in every notification; it is stored
    encrypted and compared in constant time. ``etag`` is the subscription's ``@odata.etag``
    (PATCH and DELETE need it, API-FACTS §6.2).
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    api = models.CharField("API route", max_length=200, blank=True, help_text="Blank for API v2.0.")
    entity_set = models.CharField(max_length=128)
    subscription_id = models.CharField("subscription ID", max_length=64, blank=True, db_index=True)
    resource = models.CharField(max_length=500)
    notification_url = models.URLField("notification URL", help_text="BC field notificationUrl", max_length=500)
    client_state = EncryptedTextField("client state", blank=True, editable=False)
    etag = models.CharField("ETag", max_length=255, blank=True, help_text="BC's @odata.etag")
    expiration_date_time = models.DateTimeField("expires", null=True, blank=True, help_text="expirationDateTime")
    status = models.CharField(max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.FAILED)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    subscribed_at = models.DateTimeField(null=True, blank=True, help_text="When BC last created it.")
    renewed_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True, help_text="When BC last listed it.")
    last_notification_at = models.DateTimeField(null=True, blank=True)
    caught_up_at = models.DateTimeField(
        null=True, blank=True, help_text="Last incremental pull after (re)creating it."
    )

    class Meta:
        ordering = ["connection", "company", "entity_set"]
        verbose_name = "webhook subscription"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "company", "api", "entity_set"], name="bcbridge_webhooksubscription_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.api + '/' if self.api else ''}{self.entity_set} of {self.company}"


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", "Received (queued)"
    INVALID = "invalid", "Invalid (answered 400)"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One HTTP request to a receiver URL, exactly as it arrived, and its processing.

    ``status`` goes ``received`` -> ``processed`` (or ``failed`` after
    ``WEBHOOK_MAX_ATTEMPTS``); a malformed or forged request is ``invalid`` from the start.
    A worker claims a ``received`` row with a lease (``locked_by``/``locked_until``) taken by
    one conditional ``UPDATE``, so several workers never process the same delivery.
    """

    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_deliveries"
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    remote_addr = models.CharField("remote address", max_length=64, blank=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500, help_text="The receiver token is shortened.")
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED)
    error = models.TextField(blank=True)
    notifications = models.PositiveIntegerField(default=0, help_text="Notifications in the body.")
    attempts = models.PositiveIntegerField(default=0)
    available_at = models.DateTimeField(default=timezone.now, help_text="Not processed before this time.")
    locked_by = models.CharField(max_length=200, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "available_at"], name="bcbridge_delivery_queue")]

    def __str__(self) -> str:
        return f"delivery {self.pk} at {self.received_at:%Y-%m-%d %H:%M:%S} ({self.status})"
