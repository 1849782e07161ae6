"""Client secrets and tokens are encrypted in the database, rotate with new keys, never logged."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db

from bcbridge import crypto
from bcbridge.entities import BC
from bcbridge.models import Connection
from bcbridge.redaction import redact


def _raw_row(pk: int) -> tuple[str, str]:
    with db.cursor() as cursor:
        cursor.execute("SELECT client_secret, token FROM bcbridge_connection WHERE id = %s", [pk])
        return cursor.fetchone()


@pytest.mark.django_db(transaction=True)
def test_database_holds_no_secret_or_token_in_plain_text(bc_emulator, emulator_transport):
    from .conftest import make_connection

    connection = make_connection(bc_emulator)
    with BC(connection) as bc:
        bc.companies()
    connection.refresh_from_db()
    secrets = [connection.client_secret, connection.token["access_token"]]
    raw_secret, raw_token = _raw_row(connection.pk)
    for secret in secrets:
        assert secret not in raw_secret and secret not in raw_token
    assert crypto.decrypt(raw_secret) == bc_emulator.config.client_secret
    if db.vendor == "sqlite":
        with db.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(FULL)")
        path = Path(db.settings_dict["NAME"])
        blob = b"".join(p.read_bytes() for p in [path, Path(f"{path}-wal")] if p.exists())
        assert blob, "the test database file is missing"
        for secret in secrets:
            assert secret.encode() not in blob


def test_rotate_keys_reencrypts_with_the_new_key(connection, settings):
    old_key = settings.BCBRIDGE["ENCRYPTION_KEYS"][0]
    new_key = Fernet.generate_key().decode()
    settings.BCBRIDGE = {**settings.BCBRIDGE, "ENCRYPTION_KEYS": [new_key, old_key]}
    call_command("rotate_keys")
    raw_secret, _ = _raw_row(connection.pk)
    assert Fernet(new_key.encode()).decrypt(raw_secret.encode()).decode() == connection.client_secret
    settings.BCBRIDGE = {**settings.BCBRIDGE, "ENCRYPTION_KEYS": [new_key]}
    assert Connection.objects.get(pk=connection.pk).client_secret == connection.client_secret


def test_missing_key_error_says_what_to_do(connection, settings):
    settings.BCBRIDGE = {**settings.BCBRIDGE, "ENCRYPTION_KEYS": [Fernet.generate_key().decode()]}
    from bcbridge.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="rotate_keys"):
        Connection.objects.get(pk=connection.pk)


def test_mask_shows_only_the_tail():
    assert crypto.mask("abcdefghijklmnop") == "••••••••mnop"
    assert crypto.mask("short") == "••••••••"


def test_redaction_of_log_lines(caplog):
    line = "POST token client_secret=s3cr3t&refresh_token=0.AAA&code=abc Authorization: Bearer eyJabc.def"
    cleaned = redact(line)
    for secret in ("s3cr3t", "0.AAA", "=abc", "eyJabc.def"):
        assert secret not in cleaned
    logger = logging.getLogger("bcbridge.test")
    from bcbridge.redaction import RedactSecretsFilter

    logger.addFilter(RedactSecretsFilter())
    with caplog.at_level(logging.INFO, logger="bcbridge.test"):
        logger.info("sending %s", "client_secret=hunter2")
    assert "hunter2" not in caplog.text
