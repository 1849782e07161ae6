"""OData on top of :mod:`bcbridge.http`: queries, paging, ETags, ``$batch``, ``$metadata``."""

from __future__ import annotations

from bcbridge.odata.batch import MAX_BATCH, BatchOperation, BatchRequest, BatchResult, send_batch
from bcbridge.odata.etag import ANY, etag_of, etags_match, is_weak, opaque_tag, require_etag
from bcbridge.odata.metadata import (
    Action,
    EntitySet,
    EntityType,
    EnumType,
    Metadata,
    NavigationProperty,
    Property,
    fetch_metadata,
    parse_metadata,
)
from bcbridge.odata.paging import iter_pages, iter_records
from bcbridge.odata.query import F, Filter, Query, literal

__all__ = [
    "ANY",
    "MAX_BATCH",
    "Action",
    "BatchOperation",
    "BatchRequest",
    "BatchResult",
    "EntitySet",
    "EntityType",
    "EnumType",
    "F",
    "Filter",
    "Metadata",
    "NavigationProperty",
    "Property",
    "Query",
    "etag_of",
    "etags_match",
    "fetch_metadata",
    "is_weak",
    "iter_pages",
    "iter_records",
    "literal",
    "opaque_tag",
    "parse_metadata",
    "require_etag",
    "send_batch",
]
