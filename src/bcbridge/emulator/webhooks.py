"""Webhook notifications of the emulated BC: collection windows, coalescing and delivery.

Follows docs/bc/6-webhooks.md §6.4 (https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-subscriptions):

* Every change the store reports (:meth:`BusinessCentral.on_change`) is collected per
  subscription in a window that opens with the first change and closes
  ``config.notification_delay`` seconds (30 s) later on the emulator clock. Repeated changes
  to one record in a window collapse into one notification (``created`` then ``updated``
  stays ``created``; anything then ``deleted`` is ``deleted``). A change to a document line
  reaches the header's subscription because the store reports the header as ``updated``.
* More than ``config.max_notifications`` (1,000) records changed in one window become one
  ``collection`` notification whose ``resource`` carries BC's filter, spelled as BC spells it
  (``$filter=lastDateTimeModified gt <window start>``, ``config.collection_filter_field``).
* Notifications due at the same time for the same ``notificationUrl`` go in one POST
  ``{"value": [...]}``. An answer 408, 429 or 5xx, or none at all, is retried with a growing
  delay (``notification_retry_first`` doubling up to ``notification_retry_max_interval``)
  for ``notification_retry_window`` seconds (36 h); then the subscriptions of that POST are
  deleted (``delete_after_failed_retries``; BC's exact behaviour after 36 h is UNVERIFIED).
  Any other non-2xx answer deletes them at once.
* Subscriptions expire ``config.subscription_lifetime`` seconds (3 days) after their
  creation or last renewal; an expired subscription collects nothing and disappears.

Deliveries run off the emulator clock: :meth:`Notifier.deliver_due` sends what is due now
(tests call it, or ``POST /_emulator/webhooks/flush`` / :meth:`Notifier.flush`, which sends
every collected notification without waiting for its window). When
``config.webhook_delivery_interval`` is positive, a daemon thread calls
:meth:`~Notifier.deliver_due` at that interval while any subscription exists.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import orjson

from bcbridge.emulator.bc.etag import make_etag

if TYPE_CHECKING:
    from bcbridge.emulator.app import Emulator

__all__ = ["Notifier", "Subscription", "iso", "notifier"]

logger = logging.getLogger("bcbridge.emulator.webhooks")

_CREATE_LOCK = threading.Lock()


def iso(moment: datetime) -> str:
    """``2026-11-21T12:00:00.123Z``: BC's DateTimeOffset format (docs/bc/10-notes.md §10)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Subscription:
    """One webhook subscription (docs/bc/6-webhooks.md §6.1)."""

    subscription_id: str
    notification_url: str
    resource: str
    client_state: str
    user_id: str
    api: str  # "v2.0" or "publisher/group/version"
    company_id: str
    entity_set: str
    created_at: datetime
    modified_at: datetime
    expires_at: datetime
    version: int = 1

    @property
    def etag(self) -> str:
        return make_etag(self.subscription_id, self.version, iso(self.modified_at))

    def to_json(self) -> dict[str, Any]:
        """The subscription entity, fields in BC's order, with ``@odata.etag``."""
        return {
            "@odata.etag": self.etag,
            "subscriptionId": self.subscription_id,
            "notificationUrl": self.notification_url,
            "resource": self.resource,
            "timestamp": int(self.modified_at.timestamp() * 1000),
            "userId": self.user_id,
            "lastModifiedDateTime": iso(self.modified_at),
            "clientState": self.client_state,
            "expirationDateTime": iso(self.expires_at),
            "systemCreatedAt": iso(self.created_at),
            "systemCreatedBy": self.user_id,
            "systemModifiedAt": iso(self.modified_at),
            "systemModifiedBy": self.user_id,
        }


@dataclass
class _Window:
    """Changes of one subscription since its window opened: key -> (changeType, modified)."""

    opened_at: datetime
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    collection: bool = False


@dataclass
class _Batch:
    """One POST to a notificationUrl, possibly retried."""

    url: str
    notifications: list[tuple[str, dict[str, Any]]]  # (subscriptionId, notification)
    next_attempt_at: datetime
    first_attempt_at: datetime | None = None
    attempts: int = 0


def _coalesce(old: str | None, new: str) -> str:
    if old is None or new == "deleted":
        return new
    if old == "created":
        return "created"
    return new


class Notifier:
    """Subscriptions and pending notifications of one emulator (thread-safe).

    Attributes:
        subscriptions: subscriptionId -> :class:`Subscription` (expired ones are purged
            on every access).
        log: The latest delivery attempts (``{"url", "status", "notifications", "at",
            "outcome"}``), newest last, at most 1,000.
    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.subscriptions: dict[str, Subscription] = {}
        self.log: deque[dict[str, Any]] = deque(maxlen=1000)
        self._windows: dict[str, _Window] = {}
        self._batches: list[_Batch] = []
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._client: httpx.Client | None = None
        emulator.bc.on_change(self._on_change)

    @property
    def config(self) -> Any:
        return self.emulator.config

    def now(self) -> datetime:
        return self.emulator.clock.now()

    # -- subscriptions -----------------------------------------------------------------------
    def live(self) -> list[Subscription]:
        """Subscriptions not yet expired, oldest first."""
        with self._lock:
            self._purge(self.now())
            return sorted(self.subscriptions.values(), key=lambda s: s.created_at)

    def add(self, subscription: Subscription) -> None:
        with self._lock:
            self.subscriptions[subscription.subscription_id] = subscription
        self._ensure_thread()

    def remove(self, subscription_id: str) -> None:
        """Delete a subscription with its collected and undelivered notifications."""
        with self._lock:
            self.subscriptions.pop(subscription_id, None)
            self._windows.pop(subscription_id, None)
            for batch in self._batches:
                batch.notifications = [n for n in batch.notifications if n[0] != subscription_id]
            self._batches = [b for b in self._batches if b.notifications]

    def reset(self) -> None:
        with self._lock:
            self.subscriptions.clear()
            self._windows.clear()
            self._batches.clear()
            self.log.clear()

    def _purge(self, now: datetime) -> None:
        for sub_id in [s for s, sub in self.subscriptions.items() if sub.expires_at <= now]:
            self.remove(sub_id)

    def new_id(self) -> str:
        return uuid.uuid4().hex

    # -- collecting --------------------------------------------------------------------------
    def _on_change(self, company_id: str, entity_set: str, key: str, change: str,
                   record: dict[str, Any] | None) -> None:
        if not self.subscriptions:
            return
        now = self.now()
        modified = iso(now)
        if record is not None:
            modified = str(record.get("lastModifiedDateTime") or record.get("systemModifiedAt") or modified)
        company_id = company_id.lower()
        with self._lock:
            for sub in self.subscriptions.values():
                if sub.entity_set != entity_set or sub.company_id != company_id or sub.expires_at <= now:
                    continue
                window = self._windows.get(sub.subscription_id)
                if window is None:
                    window = self._windows[sub.subscription_id] = _Window(opened_at=now)
                if window.collection:
                    continue
                old = window.changes.get(key)
                window.changes[key] = (_coalesce(old[0] if old else None, change), modified)
                if len(window.changes) > self.config.max_notifications:
                    window.collection, window.changes = True, {}
        if self.config.webhook_delivery_interval > 0:
            self._wake.set()

    def _notifications(self, sub: Subscription, window: _Window) -> list[dict[str, Any]]:
        base = {"subscriptionId": sub.subscription_id, "clientState": sub.client_state,
                "expirationDateTime": iso(sub.expires_at)}
        collection = f"api/{sub.api}/companies({sub.company_id})/{sub.entity_set}"
        if window.collection:
            since = window.opened_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            flt = quote(f"{self.config.collection_filter_field} gt {since}", safe="=:")
            return [{**base, "resource": f"/{collection}?$filter={flt}", "changeType": "collection",
                     "lastModifiedDateTime": iso(self.now())}]
        return [{**base, "resource": f"{collection}({key})", "changeType": change,
                 "lastModifiedDateTime": modified}
                for key, (change, modified) in window.changes.items()]

    # -- delivering --------------------------------------------------------------------------
    def deliver_due(self, *, flush: bool = False) -> int:
        """Send every notification whose window closed and every retry that is due.

        Args:
            flush: Send everything collected now, whatever its window or retry time.

        Returns:
            The number of POSTs made.
        """
        now = self.now()
        delay = timedelta(seconds=self.config.notification_delay)
        with self._lock:
            self._purge(now)
            by_url: dict[str, list[tuple[str, dict[str, Any]]]] = {}
            for sub_id, window in list(self._windows.items()):
                if not flush and window.opened_at + delay > now:
                    continue
                del self._windows[sub_id]
                sub = self.subscriptions[sub_id]
                by_url.setdefault(sub.notification_url, []).extend(
                    (sub_id, n) for n in self._notifications(sub, window))
            self._batches.extend(_Batch(url, items, now) for url, items in by_url.items())
            due = [b for b in self._batches if flush or b.next_attempt_at <= now]
            self._batches = [b for b in self._batches if b not in due]
        for batch in due:
            self._send(batch)
        return len(due)

    def flush(self) -> int:
        """:meth:`deliver_due` with ``flush=True``."""
        return self.deliver_due(flush=True)

    def pending(self) -> dict[str, Any]:
        """Counts of what is collected and what awaits delivery or a retry."""
        with self._lock:
            return {
                "windows": {k: ("collection" if w.collection else len(w.changes))
                            for k, w in self._windows.items()},
                "batches": [{"url": b.url, "notifications": len(b.notifications),
                             "attempts": b.attempts, "nextAttemptAt": iso(b.next_attempt_at)}
                            for b in self._batches],
            }

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(transport=self.config.notification_transport,
                                        timeout=self.config.notification_timeout)
        return self._client

    def _send(self, batch: _Batch) -> None:
        with self._lock:
            live = [n for n in batch.notifications if n[0] in self.subscriptions]
        if not live:
            return
        body = orjson.dumps({"value": [n for _, n in live]})
        try:
            response = self._http().post(batch.url, content=body,
                                         headers={"Content-Type": "application/json"})
            status: int | None = response.status_code
        except httpx.HTTPError as error:
            logger.info("notification to %s failed: %s", batch.url, error)
            status = None
        now = self.now()
        batch.notifications = live
        batch.attempts += 1
        batch.first_attempt_at = batch.first_attempt_at or now
        entry = {"url": batch.url, "status": status, "notifications": len(live), "at": iso(now)}
        retryable = status is None or status in (408, 429) or status >= 500
        with self._lock:
            if status is not None and 200 <= status < 300:
                entry["outcome"] = "delivered"
            elif retryable and now < (last := batch.first_attempt_at + timedelta(
                    seconds=self.config.notification_retry_window)):
                wait = min(self.config.notification_retry_first * 2 ** (batch.attempts - 1),
                           self.config.notification_retry_max_interval)
                # the last try is at the end of the retry window
                batch.next_attempt_at = min(now + timedelta(seconds=wait), last)
                self._batches.append(batch)
                entry["outcome"] = "retry"
            elif retryable and not self.config.delete_after_failed_retries:
                entry["outcome"] = "dropped"
            else:
                entry["outcome"] = "subscription deleted"
                for sub_id in {n[0] for n in live}:
                    self.remove(sub_id)
            self.log.append(entry)

    # -- handshake ---------------------------------------------------------------------------
    def handshake(self, url: str) -> str | None:
        """Call ``url?validationToken=<token>``; ``None`` when it echoed the token with 200,
        else why not (docs/bc/6-webhooks.md §6.2: 200 with the token as plain text within ~5 s)."""
        token = uuid.uuid4().hex
        try:
            response = self._http().request(
                self.config.handshake_method, url, params={"validationToken": token},
                timeout=self.config.handshake_timeout)
        except httpx.HTTPError as error:
            return f"the request failed ({type(error).__name__})"
        if response.status_code != 200:
            return f"it answered {response.status_code}"
        if response.text.strip().strip('"') != token:
            return "it did not answer with the validation token"
        return None

    # -- background delivery -----------------------------------------------------------------
    def _ensure_thread(self) -> None:
        interval = self.config.webhook_delivery_interval
        if interval <= 0:
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._loop, name="bcbridge-emulator-webhooks",
                                            daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.config.webhook_delivery_interval)
            self._wake.clear()
            with self._lock:
                if not self.subscriptions and not self._batches:
                    self._thread = None
                    return
            try:
                self.deliver_due()
            except Exception:  # keep delivering: one bad URL must not stop the others
                logger.exception("webhook delivery failed")


def notifier(emulator: Emulator) -> Notifier:
    """The :class:`Notifier` of ``emulator``, created (and hooked to its store) on first use."""
    found = getattr(emulator, "webhooks", None)
    if isinstance(found, Notifier):
        return found
    with _CREATE_LOCK:
        found = getattr(emulator, "webhooks", None)
        if not isinstance(found, Notifier):
            found = Notifier(emulator)
            emulator.webhooks = found  # type: ignore[attr-defined]
        return found
