"""The push side's storage: the transactional outbox, the external-id map and field mappings.

Rows here are written by :mod:`bcbridge.push` (and edited in the admin); nothing in this
module calls BC.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from bcbridge.models.connection import Connection

__all__ = [
    "ConflictPolicy",
    "ExternalIdMap",
    "FieldMapping",
    "FieldTransform",
    "OutboxMessage",
    "OutboxOperation",
    "OutboxStatus",
]


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "pending"
    IN_FLIGHT = "in_flight", "in flight"
    SENT = "sent", "sent"
    PARKED = "parked", "parked"
    CANCELLED = "cancelled", "cancelled"


class OutboxOperation(models.TextChoices):
    """What a message does in BC (see :mod:`bcbridge.push.dispatch` for each one's rules)."""

    CREATE = "create", "create (POST, deep insert allowed)"
    UPDATE = "update", "update (PATCH with If-Match)"
    DELETE = "delete", "delete (DELETE with If-Match)"
    ACTION = "action", "bound action (Microsoft.NAV.*)"
    CALL = "call", "registry endpoint (bc.call)"
    SALES_ORDER = "sales_order", "sales order with lines"
    BATCH = "batch", "several operations in one $batch"


class ConflictPolicy(models.TextChoices):
    """What an update does when BC answers 409 ``Request_EntityChanged`` (docs/bc/4-concurrency.md §4)."""

    MERGE = "merge", "re-read; re-apply if BC did not change the fields we change, else park"
    REAPPLY = "reapply", "re-read and re-apply our changes over BC's (ours win field by field)"
    PARK = "park", "park the message for a person to decide"


class OutboxMessage(models.Model):
    """One write to BC, stored in the caller's transaction and sent later, exactly once.

    ``payload`` depends on ``operation``: the entity body (create), the changes (update),
    the source order (sales_order), the endpoint payload (call) or ``{"operations": [...]}``
    (batch). ``lookup`` holds the fields that find an earlier attempt in BC when the outcome
    of a create is unknown (``{"externalDocumentNumber": "WEB-1001"}``); ``state`` holds the
    progress of multi-step messages (created id, actions done).
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="outbox")
    company_id = models.CharField("company id", max_length=36, help_text="BC company systemId.")
    operation = models.CharField(max_length=20, choices=OutboxOperation.choices)
    entity_set = models.CharField(max_length=100, blank=True)
    api = models.JSONField(default=dict, blank=True, help_text='Custom API route: {"publisher", "group", "version"}.')
    key = models.CharField(max_length=100, blank=True, help_text="BC id of the record (update, delete, action).")
    action = models.CharField(max_length=100, blank=True, help_text="Bound action name, or endpoint code for calls.")
    payload = models.JSONField(default=dict, blank=True)
    etag = models.CharField(max_length=255, blank=True, help_text="If-Match for update/delete; empty: read it first.")
    original = models.JSONField(
        default=dict, blank=True, help_text="Update: the values we last saw of the fields we change (merge policy)."
    )
    conflict_policy = models.CharField(max_length=10, choices=ConflictPolicy.choices, default=ConflictPolicy.MERGE)
    lookup = models.JSONField(
        default=dict, blank=True, help_text="Fields that find an earlier attempt of a create in BC."
    )
    atomic = models.BooleanField(
        default=False, help_text="Batch: all operations succeed or none (Isolation: snapshot)."
    )
    # NULL, not "": messages without a key must not collide in the unique constraint.
    dedupe_key = models.CharField(  # noqa: DJ001
        max_length=200,
        null=True,
        blank=True,
        help_text="Caller's idempotency key; one message per key and connection.",
    )

    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempt_id = models.UUIDField(null=True, blank=True, help_text="Claim token of the worker holding the message.")
    outcome_unknown = models.BooleanField(
        default=False, help_text="An earlier attempt may have reached BC: look for it before creating again."
    )
    state = models.JSONField(default=dict, blank=True)
    last_error = models.TextField(blank=True)
    last_error_code = models.CharField(max_length=120, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)

    bc_id = models.CharField("BC id", max_length=36, blank=True)
    bc_number = models.CharField("BC number", max_length=50, blank=True)
    bc_etag = models.CharField("BC ETag", max_length=255, blank=True)
    result = models.JSONField(null=True, blank=True, help_text="BC's last answer (entity or endpoint result).")

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "outbox message"
        constraints = [
            models.UniqueConstraint(fields=["connection", "dedupe_key"], name="bcbridge_outbox_dedupe_unique"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="bcbridge_outbox_due")]

    def __str__(self) -> str:
        target = self.action if self.operation == OutboxOperation.CALL else self.entity_set
        return f"#{self.pk} {self.operation} {target} ({self.status})"

    @property
    def is_open(self) -> bool:
        """Still to be delivered (pending or in flight)."""
        return self.status in (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT)


class ExternalIdMap(models.Model):
    """Our (or another system's) id of a record, and BC's: ``(system, external id) -> BC id``.

    Seed 004: the customer number, item number and sales order number are the external ids
    of BC records in other systems; ``bc_number`` keeps BC's ``number`` beside the systemId.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="external_ids")
    company_id = models.CharField("company id", max_length=36)
    system = models.CharField(max_length=60, help_text="The other system, e.g. shop, ipaas, django.")
    entity_set = models.CharField(max_length=100, help_text="BC entity set, e.g. customers.")
    external_id = models.CharField("external id", max_length=200)
    bc_id = models.CharField("BC id", max_length=36)
    bc_number = models.CharField("BC number", max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["system", "entity_set", "external_id"]
        verbose_name = "external id"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "company_id", "system", "entity_set", "external_id"],
                name="bcbridge_external_id_unique",
            )
        ]
        indexes = [models.Index(fields=["connection", "company_id", "entity_set", "bc_id"], name="bcbridge_extid_bc")]

    def __str__(self) -> str:
        return f"{self.system}:{self.external_id} -> {self.entity_set}({self.bc_id})"


class FieldTransform(models.TextChoices):
    NONE = "", "as is"
    STRING = "string", "text"
    UPPER = "upper", "upper-case text (BC codes)"
    DECIMAL = "decimal", "decimal number"
    INTEGER = "integer", "integer"
    BOOLEAN = "boolean", "true/false"
    DATE = "date", "date (YYYY-MM-DD)"


class FieldMapping(models.Model):
    """One BC field of a target, filled from a source path or a constant.

    ``target`` is an API entity set (``salesOrders``, ``salesOrderLines``, ``customers``) or
    a web service / custom API set whose fields come from extensions (seed 004's
    ``ItemCard`` with ``CatItemGroup``). ``source_path`` is dotted (``shipping.city``,
    ``lines.0.sku``); an empty path with a ``constant`` always writes the constant.
    """

    connection = models.ForeignKey(
        Connection,
        on_delete=models.CASCADE,
        related_name="field_mappings",
        null=True,
        blank=True,
        help_text="Empty: applies to every connection.",
    )
    target = models.CharField(max_length=100, help_text="Entity set or web service the field belongs to.")
    bc_field = models.CharField("BC field", max_length=100)
    source_path = models.CharField(max_length=300, blank=True, help_text="Dotted path in the source dict.")
    constant = models.JSONField(
        null=True, blank=True, help_text="Value written when the source path is empty or absent."
    )
    transform = models.CharField(max_length=10, choices=FieldTransform.choices, default=FieldTransform.NONE, blank=True)
    max_length = models.PositiveIntegerField(
        null=True, blank=True, help_text="BC's length limit (Code[20], Text[100])."
    )
    required = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["target", "position", "bc_field"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "target", "bc_field"], name="bcbridge_field_mapping_unique")
        ]

    def __str__(self) -> str:
        source = self.source_path or f"constant {self.constant!r}"
        return f"{self.target}.{self.bc_field} <- {source}"

    def clean(self) -> None:
        """A mapping needs a source path or a constant (the admin also checks the BC field)."""
        if not self.source_path and self.constant is None:
            raise ValidationError({"source_path": "Give a source path or a constant."})


def new_attempt_id() -> uuid.UUID:
    """A fresh claim token."""
    return uuid.uuid4()
