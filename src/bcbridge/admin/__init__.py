"""The Django admin of bcbridge: connections (with OAuth), companies, and later the rest."""

from __future__ import annotations

from bcbridge.admin.connection import CompanyAdmin, ConnectionAdmin
from bcbridge.admin.endpoint import ApiEndpointAdmin, RequestLogAdmin

__all__ = ["ApiEndpointAdmin", "CompanyAdmin", "ConnectionAdmin", "RequestLogAdmin"]
