"""Events out: other apps subscribe to changes of the mirror and outcomes of the outbox.

Each change becomes an :class:`Event` row in the same transaction as the change (an outbox
of its own), with one :class:`EventDelivery` per matching :class:`EventSubscription`;
:mod:`bcbridge.events.delivery` sends them signed with the Standard Webhooks scheme and
keeps every attempt (:class:`EventAttempt`). Nothing here sends anything.
"""

from __future__ import annotations

import base64
import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from bcbridge.models.connection import Company, Connection
from bcbridge.models.fields import EncryptedTextField

__all__ = [
    "EVENT_TYPES",
    "Event",
    "EventAttempt",
    "EventDelivery",
    "EventDeliveryStatus",
    "EventSubscription",
    "new_signing_secret",
]

#: Event types a subscription may list (``<entity>.created``/``.updated`` exist for every
#: mirrored header set; these are the ones the admin offers).
EVENT_TYPES = (
    "item.created",
    "item.updated",
    "customer.created",
    "customer.updated",
    "vendor.created",
    "vendor.updated",
    "location.created",
    "location.updated",
    "salesOrder.created",
    "salesOrder.updated",
    "salesInvoice.created",
    "salesInvoice.updated",
    "salesShipment.created",
    "salesShipment.updated",
    "purchaseInvoice.created",
    "purchaseInvoice.updated",
    "generalLedgerEntry.created",
    "record.deleted",
    "order.sent",
    "order.parked",
)


def new_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class EventSubscription(models.Model):
    """An app that receives events at ``url`` (POST, signed with ``secret``).

    ``event_types`` lists the types wanted (empty: every type); ``company`` limits them to
    one company. A subscriber that answers 410 Gone is disabled (``disabled_reason``).
    """

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField("URL", max_length=1000, help_text="Where events are POSTed (http or https).")
    secret = EncryptedTextField(
        blank=True, help_text="Standard Webhooks signing secret (whsec_...); blank: generated. Stored encrypted."
    )
    event_types = models.JSONField(default=list, blank=True, help_text="Types wanted; empty: all.")
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="+", help_text="Empty: every company."
    )
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = "event subscription"

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.secret:
            self.secret = new_signing_secret()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        unknown = [t for t in self.event_types or [] if not _known_type(t)]
        if unknown:
            raise ValidationError({"event_types": f"Unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}."})

    def wants(self, event_type: str, company_id: int | None) -> bool:
        if self.company_id is not None and self.company_id != company_id:
            return False
        return not self.event_types or event_type in self.event_types


def _known_type(name: str) -> bool:
    entity, _, change = name.rpartition(".")
    return name in EVENT_TYPES or (bool(entity) and change in {"created", "updated"})


class Event(models.Model):
    """One change: ``type`` (``item.created``...), the record it is about and its data.

    ``subject`` identifies the record (``items/<id>``, ``outbox/<id>``): deliveries of one
    subject to one subscriber go out in the order of the events (``id``).
    """

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="The webhook-id sent.")
    type = models.CharField(max_length=100, db_index=True)
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    entity_set = models.CharField(max_length=128, blank=True)
    subject = models.CharField(max_length=300)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.type} {self.subject}"


class EventDeliveryStatus(models.TextChoices):
    PENDING = "pending", "pending"
    DELIVERED = "delivered", "delivered"
    FAILED = "failed", "failed (gave up)"
    CANCELLED = "cancelled", "cancelled (subscription disabled)"


class EventDelivery(models.Model):
    """One event for one subscriber: pending until a 2xx, retried with back-off for over 24 h."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(EventSubscription, on_delete=models.CASCADE, related_name="deliveries")
    subject = models.CharField(max_length=300, help_text="The event's subject (ordering per record).")
    status = models.CharField(
        max_length=10, choices=EventDeliveryStatus.choices, default=EventDeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    claim = models.UUIDField(null=True, blank=True, editable=False, help_text="Token of the worker sending it.")
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "event deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="bcbridge_evdelivery_due"),
            models.Index(fields=["subscription", "subject", "status"], name="bcbridge_evdelivery_order"),
        ]

    def __str__(self) -> str:
        return f"{self.event} -> {self.subscription} ({self.status})"


class EventAttempt(models.Model):
    """One POST of a delivery: the answer's status (or the network error) and how long it took."""

    delivery = models.ForeignKey(EventDelivery, on_delete=models.CASCADE, related_name="log")
    started_at = models.DateTimeField(default=timezone.now)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response = models.TextField(blank=True, help_text="The first 500 characters of the answer.")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.started_at:%Y-%m-%d %H:%M:%S}: {self.status or self.error[:40]}"
