"""Webhook subscriptions bcbridge holds in BC, the receiver URL of each connection, the
authenticated deliveries BC posted to it (``clientState`` removed), and a count of the
requests the receiver refused (which are never stored).

Only :mod:`bcbridge.sync.webhooks` (subscriptions), :mod:`bcbridge.views.webhooks` (receiving)
and :mod:`bcbridge.sync.notifications` (processing) write these tables.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone

from bcbridge.models.connection import Company, Connection
from bcbridge.models.fields import EncryptedTextField

__all__ = [
    "DeliveryStatus",
    "SubscriptionStatus",
    "WebhookDelivery",
    "WebhookReceiver",
    "WebhookRejection",
    "WebhookSubscription",
    "count_rejection",
    "prune_deliveries",
]


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
    """One BC webhook subscription (docs/bc/6-webhooks.md §6.1) for one entity set of one company.

    ``client_state`` is a random secret BC echoes in every notification; it is stored
    encrypted and compared in constant time. ``etag`` is the subscription's ``@odata.etag``
    (PATCH and DELETE need it, docs/bc/6-webhooks.md §6.2).
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
    caught_up_at = models.DateTimeField(null=True, blank=True, help_text="Last incremental pull after (re)creating it.")

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
    """One authenticated notification request to a receiver URL, and its processing.

    Only requests whose token names a receiver and whose every ``clientState`` matches are
    stored; ``body`` is BC's JSON with each ``clientState`` removed (the secret stays only
    in :attr:`WebhookSubscription.client_state`, encrypted).

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


class WebhookRejection(models.Model):
    """How many requests the receiver refused, per day and reason (never their content).

    A flood of forged or oversized requests costs one ``UPDATE`` each, not a stored row.
    """

    day = models.DateField()
    reason = models.CharField(max_length=40)
    count = models.PositiveBigIntegerField(default=0)
    last_at = models.DateTimeField(default=timezone.now)
    last_remote_addr = models.CharField("last remote address", max_length=64, blank=True)

    class Meta:
        ordering = ["-day", "reason"]
        verbose_name = "rejected webhook request"
        constraints = [models.UniqueConstraint(fields=["day", "reason"], name="bcbridge_webhookrejection_unique")]

    def __str__(self) -> str:
        return f"{self.day}: {self.count} x {self.reason}"


def count_rejection(reason: str, remote_addr: str = "", now: datetime | None = None) -> None:
    """Add one refused request to today's count for ``reason`` (e.g. ``unknown-token``)."""
    now = now or timezone.now()
    changes = {"count": F("count") + 1, "last_at": now, "last_remote_addr": remote_addr[:64]}
    rows = WebhookRejection.objects.filter(day=now.date(), reason=reason[:40])
    if rows.update(**changes):
        return
    try:
        with transaction.atomic():
            WebhookRejection.objects.create(
                day=now.date(), reason=reason[:40], count=1, last_at=now, last_remote_addr=remote_addr[:64]
            )
    except IntegrityError:  # a parallel request created it first
        rows.update(**changes)


def prune_deliveries(days: int | None = None, now: datetime | None = None) -> int:
    """Delete settled deliveries (processed, failed, invalid) received more than ``days``
    ago (default ``WEBHOOK_RETENTION_DAYS``) and rejection counts as old; returns how many
    deliveries went. Queued deliveries are never pruned."""
    from bcbridge.conf import get_settings

    days = get_settings().WEBHOOK_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = WebhookDelivery.objects.filter(
        received_at__lt=cutoff,
        status__in=[DeliveryStatus.PROCESSED, DeliveryStatus.FAILED, DeliveryStatus.INVALID],
    ).delete()
    WebhookRejection.objects.filter(day__lt=cutoff.date()).delete()
    return deleted
