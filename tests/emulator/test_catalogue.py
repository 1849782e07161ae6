"""One entity catalogue in the package, read by the emulator and by bcbridge alike."""

from __future__ import annotations

from pathlib import Path

import bcbridge
from bcbridge.emulator.bc.schema import schema
from bcbridge.entities.catalog import catalog

from ._catalogue import catalogue


def test_the_package_holds_one_catalogue() -> None:
    root = Path(bcbridge.__file__).parent
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("entities.json")) == ["data/entities.json"]


def test_emulator_and_bcbridge_read_the_same_sets_fields_and_enums() -> None:
    raw = catalogue()
    assert list(schema()) == list(raw) == list(catalog())
    for name, fields in raw.items():
        assert [(f.name, f.type, f.enum) for f in schema()[name].fields] == [(f.name, f.type, f.enum) for f in fields]
        assert [(f.name, f.type, f.enum) for f in catalog()[name].fields] == [(f.name, f.type, f.enum) for f in fields]
