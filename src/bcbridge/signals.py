"""Django signals announcing changes of the mirror: connect receivers to react to BC data.

Every signal is sent after the transaction that wrote the change has committed
(``transaction.on_commit``), once per record, with these keyword arguments:

``sender``
    The mirrored model class (:class:`~bcbridge.models.Item`, ``SalesInvoice``, ...,
    :class:`~bcbridge.models.MirrorRecord` for generic sets).
``entity_set``
    BC's entity set name, e.g. ``"salesInvoices"``, ``"salesInvoiceLines"``.
``company``
    The :class:`~bcbridge.models.Company`.
``instance``
    The mirrored row as stored (for ``record_deleted``: soft-deleted, ``deleted=True``).
``raw``
    The payload BC sent (``{}`` for deletes found by reconciliation).

``record_created`` fires when the row did not exist, ``record_updated`` when its ETag
changed, ``record_deleted`` when BC no longer has it. A header's signal is sent after its
lines are stored, so ``instance.lines.all()`` is complete. The triggers of the source
documents are receivers::

    from django.dispatch import receiver
    from bcbridge.models import Item, SalesInvoice, SalesShipment
    from bcbridge.signals import record_created, record_updated

    @receiver(record_created, sender=Item)                # created item
    def on_item(instance, raw, **kwargs): ...

    @receiver(record_created, sender=SalesShipment)       # created sales shipment with lines
    def on_shipment(instance, **kwargs):
        lines = list(instance.lines.all())

    @receiver(record_created, sender=SalesInvoice)        # created sales invoice with lines
    def on_invoice(instance, **kwargs): ...

The fourth trigger, a scheduled pull of items with variants, is the default
:class:`~bcbridge.models.SyncConfig` of ``items`` (children ``itemVariants``, poll interval in
seconds) run by ``bcbridge run``; ``sync_finished`` tells when each pull is done.

This is a foundation module: it imports nothing from bcbridge.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["record_created", "record_deleted", "record_updated", "sync_finished"]

record_created = Signal()
record_updated = Signal()
record_deleted = Signal()

#: Sent after each sync or reconcile of one entity set of one company, with ``sender`` the
#: model class, ``entity_set``, ``company`` and ``run`` (the :class:`~bcbridge.models.SyncRun`).
sync_finished = Signal()
