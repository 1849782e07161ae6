"""Mirrored finance: general ledger entries (BC API v2.0, docs/bc/7-entities.md §7.3).

Columns are BC's fields in JSON order, snake_case; each column's ``bc_name`` (and help text) is BC's own
field name, which is also the key in ``raw``; its verbose name is the caption people read."""

from __future__ import annotations

from bcbridge.models.mirror import (
    MirroredModel,
    date_field,
    decimal_field,
    guid_field,
    integer_field,
    text_field,
)

__all__ = ["GeneralLedgerEntry"]


class GeneralLedgerEntry(MirroredModel):
    """BC ``generalLedgerEntries`` (entity ``generalLedgerEntry``, docs/bc/7-entities.md §7.3)."""

    entry_number = integer_field("entryNumber")
    posting_date = date_field("postingDate")
    document_number = text_field("documentNumber")
    document_type = text_field("documentType")
    account_id = guid_field("accountId")
    account_number = text_field("accountNumber")
    description = text_field("description")
    debit_amount = decimal_field("debitAmount")
    credit_amount = decimal_field("creditAmount")
    additional_currency_debit_amount = decimal_field("additionalCurrencyDebitAmount")
    additional_currency_credit_amount = decimal_field("additionalCurrencyCreditAmount")

    class Meta(MirroredModel.Meta):
        verbose_name = "general ledger entry"
        verbose_name_plural = "general ledger entries"
