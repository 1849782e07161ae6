"""A hand-tuned loader written outside bcbridge: the yardstick of the initial-load benchmarks.

Nothing here imports bcbridge (except, in the caller, the emulator it is measured against):
plain httpx + orjson for the pages, the next page prefetched in a thread (two pages
queued), and per page one bulk write: on PostgreSQL psycopg ``COPY`` into a temporary stage
table and one ``INSERT ... SELECT ... ON CONFLICT (id) DO UPDATE``; on SQLite one
``executemany`` of ``INSERT ... ON CONFLICT (id) DO UPDATE``. It stores what a careful
hand-written integration stores: key, ETag, ``lastModifiedDateTime`` and the raw JSON of
each header and child, in its own tables (``bench_loader_*``), so it never touches the
mirror. Not product code.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import orjson

__all__ = ["Loader", "fetch_pages", "prefetch", "raw_fetch"]


def fetch_pages(http: httpx.Client, url: str, params: dict[str, str], page_size: int) -> Iterator[dict[str, Any]]:
    """Pages of a collection, following ``@odata.nextLink`` (plain httpx + orjson)."""
    headers = {"Prefer": f"odata.maxpagesize={page_size}"}
    answer = http.get(url, params=params, headers=headers)
    while True:
        answer.raise_for_status()
        page = orjson.loads(answer.content)
        yield page
        link = page.get("@odata.nextLink")
        if not link:
            return
        answer = http.get(link, headers=headers)


def raw_fetch(http: httpx.Client, url: str, params: dict[str, str], page_size: int, children: str) -> int:
    """GET + parse every page, nothing stored: records (headers + children) read."""
    total = 0
    for page in fetch_pages(http, url, params, page_size):
        for record in page["value"]:
            total += 1 + len(record.get(children) or ()) if children else 1
    return total


def prefetch(pages: Iterator[dict[str, Any]], depth: int = 2) -> Iterator[dict[str, Any]]:
    """Read ``pages`` in a thread, ``depth`` pages ahead."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=depth)
    done = object()

    def run() -> None:
        try:
            for page in pages:
                handoff.put(page)
        except BaseException as error:  # re-raised in the caller
            handoff.put(error)
        handoff.put(done)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while True:
        item = handoff.get()
        if item is done:
            break
        if isinstance(item, BaseException):
            raise item
        yield item
    thread.join()


class Loader:
    """Writes pages of one entity set (and one expanded child collection) into its tables.

    Args:
        dsn: ``sqlite:///path`` or a PostgreSQL URL.
        name: Table name suffix (the entity set).
        children: The expanded navigation (``""``: none).
    """

    def __init__(self, dsn: str, name: str, children: str = "") -> None:
        self.children = children
        self.parent_table = f"bench_loader_{name}"
        self.child_table = f"bench_loader_{name}_children"
        self.postgres = not dsn.startswith("sqlite")
        if self.postgres:
            import psycopg

            self.db: Any = psycopg.connect(dsn)
        else:
            import sqlite3

            self.db = sqlite3.connect(dsn.removeprefix("sqlite:///"), isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        self._create()

    def _create(self) -> None:
        json_type, time_type = ("jsonb", "timestamptz") if self.postgres else ("text", "text")
        statements = [
            f"DROP TABLE IF EXISTS {self.child_table}",
            f"DROP TABLE IF EXISTS {self.parent_table}",
            f"CREATE TABLE {self.parent_table} (id uuid PRIMARY KEY, etag text, modified {time_type}, raw {json_type})",
            f"CREATE TABLE {self.child_table} (id uuid PRIMARY KEY, parent_id uuid, etag text, raw {json_type})",
        ]
        for sql in statements:
            self.db.execute(sql)
        if self.postgres:
            self.db.commit()

    def write(self, records: list[dict[str, Any]]) -> int:
        """Upsert one page (headers and their children) in one transaction; rows written."""
        kids = self.children
        parents = [
            (
                r["id"],
                r.get("@odata.etag"),
                r.get("lastModifiedDateTime"),
                orjson.dumps({k: v for k, v in r.items() if k != kids} if kids else r).decode(),
            )
            for r in records
        ]
        lines = [
            (c["id"], r["id"], c.get("@odata.etag"), orjson.dumps(c).decode())
            for r in records
            for c in (r.get(kids) or () if kids else ())
        ]
        if self.postgres:
            self._copy_upsert(self.parent_table, ("id", "etag", "modified", "raw"), parents)
            if lines:
                self._copy_upsert(self.child_table, ("id", "parent_id", "etag", "raw"), lines)
            self.db.commit()
        else:
            self.db.execute("BEGIN")
            self.db.executemany(
                f"INSERT INTO {self.parent_table} VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "etag = excluded.etag, modified = excluded.modified, raw = excluded.raw",
                parents,
            )
            if lines:
                self.db.executemany(
                    f"INSERT INTO {self.child_table} VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                    "parent_id = excluded.parent_id, etag = excluded.etag, raw = excluded.raw",
                    lines,
                )
            self.db.execute("COMMIT")
        return len(parents) + len(lines)

    def _copy_upsert(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        stage = f"{table}_stage"
        names = ", ".join(columns)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != "id")
        with self.db.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DELETE ROWS")
            with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ON CONFLICT (id) DO UPDATE SET {updates}"
            )

    def count(self) -> int:
        parents = self.db.execute(f"SELECT count(*) FROM {self.parent_table}").fetchone()[0]
        lines = self.db.execute(f"SELECT count(*) FROM {self.child_table}").fetchone()[0]
        return int(parents) + int(lines)

    def close(self) -> None:
        self.db.close()
