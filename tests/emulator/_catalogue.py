"""The entity catalogue as the tests read it: straight from the package's one JSON file.

``bcbridge/data/entities.json`` is the record of BC's API v2.0 pages (field order, types,
enum captions, from the AL source, docs/bc/7-entities.md §7). The tests read the file itself, not the
emulator's parsed schema, so a parsing or serving bug in the emulator cannot agree with
its own test. BC's blank values are docs/bc/7-entities.md §7.2's.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

BLANK_GUID = "00000000-0000-0000-0000-000000000000"
BLANK_DATE = "0001-01-01"


@dataclass(frozen=True)
class CatalogueField:
    name: str
    type: str
    enum: tuple[str, ...]


@functools.cache
def catalogue() -> dict[str, list[CatalogueField]]:
    """Entity set name -> its fields in JSON order, as the catalogue file lists them."""
    text = resources.files("bcbridge").joinpath("data/entities.json").read_text("utf-8")
    return {
        name: [CatalogueField(f["name"], f["type"], tuple(f.get("enum") or ())) for f in spec["fields"]]
        for name, spec in json.loads(text).items()
    }


def field_names(entity_set: str) -> list[str]:
    return [f.name for f in catalogue()[entity_set]]
