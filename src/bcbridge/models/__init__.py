"""bcbridge's models: the storage layer. Models never call BC; auth, sync and push write them."""

from __future__ import annotations

from bcbridge.models.apikeys import SCOPES, ApiClient, ApiIdempotencyKey, hash_key
from bcbridge.models.connection import ClientAuthMethod, Company, Connection, GrantType, Prompt, TokenStatus
from bcbridge.models.endpoint import ApiEndpoint, EndpointKind, HttpMethod, RequestLog
from bcbridge.models.events import (
    EVENT_TYPES,
    Event,
    EventAttempt,
    EventDelivery,
    EventDeliveryStatus,
    EventSubscription,
    new_signing_secret,
)
from bcbridge.models.finance import GeneralLedgerEntry
from bcbridge.models.inventory import Item, ItemVariant, Location
from bcbridge.models.mirror import MirroredModel, MirrorRecord
from bcbridge.models.outbox import (
    ConflictPolicy,
    ExternalIdMap,
    FieldMapping,
    FieldTransform,
    OutboxMessage,
    OutboxOperation,
    OutboxStatus,
)
from bcbridge.models.purchasing import PurchaseInvoice, PurchaseInvoiceLine, Vendor
from bcbridge.models.ratelimit import RateLimitBucket, RateLimitHit, RateLimitLease
from bcbridge.models.sales import (
    Customer,
    SalesInvoice,
    SalesInvoiceLine,
    SalesOrder,
    SalesOrderLine,
    SalesShipment,
    SalesShipmentLine,
)
from bcbridge.models.sync import RunnerJob, SyncConfig, SyncMode, SyncRun, SyncState
from bcbridge.models.webhooks import (
    DeliveryStatus,
    SubscriptionStatus,
    WebhookDelivery,
    WebhookReceiver,
    WebhookRejection,
    WebhookSubscription,
    count_rejection,
    prune_deliveries,
)

__all__ = [
    "EVENT_TYPES",
    "SCOPES",
    "ApiClient",
    "ApiEndpoint",
    "ApiIdempotencyKey",
    "ClientAuthMethod",
    "Company",
    "ConflictPolicy",
    "Connection",
    "Customer",
    "DeliveryStatus",
    "EndpointKind",
    "Event",
    "EventAttempt",
    "EventDelivery",
    "EventDeliveryStatus",
    "EventSubscription",
    "ExternalIdMap",
    "FieldMapping",
    "FieldTransform",
    "GeneralLedgerEntry",
    "GrantType",
    "HttpMethod",
    "Item",
    "ItemVariant",
    "Location",
    "MirrorRecord",
    "MirroredModel",
    "OutboxMessage",
    "OutboxOperation",
    "OutboxStatus",
    "Prompt",
    "PurchaseInvoice",
    "PurchaseInvoiceLine",
    "RateLimitBucket",
    "RateLimitHit",
    "RateLimitLease",
    "RequestLog",
    "RunnerJob",
    "SalesInvoice",
    "SalesInvoiceLine",
    "SalesOrder",
    "SalesOrderLine",
    "SalesShipment",
    "SalesShipmentLine",
    "SubscriptionStatus",
    "SyncConfig",
    "SyncMode",
    "SyncRun",
    "SyncState",
    "TokenStatus",
    "Vendor",
    "WebhookDelivery",
    "WebhookReceiver",
    "WebhookRejection",
    "WebhookSubscription",
    "count_rejection",
    "hash_key",
    "new_signing_secret",
    "prune_deliveries",
]
