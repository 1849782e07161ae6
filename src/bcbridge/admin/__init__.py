"""The Django admin of bcbridge: connections (with OAuth), companies, and later the rest."""

from __future__ import annotations

from bcbridge.admin import dashboard as dashboard  # the dashboard link on the admin index
from bcbridge.admin.api import ApiClientAdmin, EventAdmin, EventDeliveryAdmin, EventSubscriptionAdmin
from bcbridge.admin.connection import CompanyAdmin, ConnectionAdmin
from bcbridge.admin.endpoint import ApiEndpointAdmin, RequestLogAdmin
from bcbridge.admin.mirror import MirrorAdmin, MirrorRecordAdmin
from bcbridge.admin.outbox import ExternalIdMapAdmin, FieldMappingAdmin, OutboxMessageAdmin
from bcbridge.admin.sync import RunnerJobAdmin, SyncConfigAdmin, SyncRunAdmin, SyncStateAdmin
from bcbridge.admin.webhooks import WebhookDeliveryAdmin, WebhookSubscriptionAdmin

__all__ = [
    "ApiClientAdmin",
    "ApiEndpointAdmin",
    "CompanyAdmin",
    "ConnectionAdmin",
    "EventAdmin",
    "EventDeliveryAdmin",
    "EventSubscriptionAdmin",
    "ExternalIdMapAdmin",
    "FieldMappingAdmin",
    "MirrorAdmin",
    "MirrorRecordAdmin",
    "OutboxMessageAdmin",
    "RequestLogAdmin",
    "RunnerJobAdmin",
    "SyncConfigAdmin",
    "SyncRunAdmin",
    "SyncStateAdmin",
    "WebhookDeliveryAdmin",
    "WebhookSubscriptionAdmin",
]
