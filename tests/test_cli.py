"""The ``bcbridge`` console script answers user mistakes with one line (issue 14).

Each mistake of the issue runs through :func:`bcbridge.cli.main` as a user would type it:
no traceback, one line on stderr that says what to fix, exit status 2 for a usage mistake
(argparse's convention, the Python docs: "exits with status code 2") and 1 for a failure.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from bcbridge.cli import main
from bcbridge.models import SyncRun, SyncState

from .conftest import make_connection

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch):
    """Django closes every connection after a command run from the command line; in-process
    that would close the test's own transaction."""
    from django.db import connections

    monkeypatch.setattr(connections, "close_all", lambda: None)


def run(capsys, *args: str) -> tuple[int, str, str]:
    """``bcbridge ARGS``: (exit status, stdout, stderr)."""
    capsys.readouterr()
    try:
        main(["bcbridge", *args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


# (arguments, exit status, words the one line must contain)
MISTAKES = [
    pytest.param(["sync", "itemz"], 1, ["Unknown entity set 'itemz'", "did you mean items", "Known:"], id="entity-set"),
    pytest.param(
        ["sync", "--connection", "nope", "items"], 1, ["No connection named 'nope'", "cronus"], id="connection"
    ),
    pytest.param(
        ["sync", "items", "--number", "1000", "--company", "Fabrikam"], 1, ["no company 'Fabrikam'"], id="company"
    ),
    pytest.param(["sync", "items", "--id", "42"], 1, ["--id '42' is not a GUID"], id="bad-guid"),
    pytest.param(["sync", "--number", "1000"], 1, ["exactly one ENTITY_SET"], id="number-without-set"),
    pytest.param(["sync", "items", "--full", "--number", "1"], 1, ["--full"], id="full-with-number"),
    pytest.param(["sync", "items", "--company", "x"], 1, ["--company", "--number"], id="company-without-record"),
    pytest.param(["push", "--limit", "many"], 2, ["--limit", "invalid int value", "--help"], id="bad-int"),
    pytest.param(["push", "--limit", "0"], 1, ["--limit must be 1 or more"], id="bad-limit"),
    pytest.param(["connect", "x", "--grant", "password"], 2, ["invalid choice", "client_credentials"], id="bad-choice"),
    pytest.param(["sync", "--fulll"], 2, ["unrecognized arguments: --fulll"], id="unknown-flag"),
    pytest.param(["synk", "items"], 2, ["unknown command 'synk'", "did you mean sync"], id="unknown-command"),
    pytest.param(["call", "NO_SUCH_CODE"], 1, ["NO_SUCH_CODE"], id="unknown-endpoint"),
    pytest.param(["call", "X", "--data", "{oops"], 1, ["--data is not valid JSON"], id="bad-json"),
    pytest.param(["reconcile", "custmers"], 1, ["Unknown entity set 'custmers'", "customers"], id="reconcile-set"),
    pytest.param(["webhooks", "list", "--connection", "nope"], 1, ["No connection named 'nope'"], id="webhooks"),
]


@pytest.mark.parametrize(("args", "status", "words"), MISTAKES)
def test_a_mistake_is_one_line_without_traceback(capsys, connection, company, args, status, words):
    code, out, err = run(capsys, *args)
    assert code == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "Traceback" not in out
    for word in words:
        assert word in lines[0]


def test_an_unknown_entity_set_leaves_nothing_behind(capsys, connection, company):
    runs, states = SyncRun.objects.count(), SyncState.objects.count()
    code, out, _err = run(capsys, "sync", "--connection", "cronus", "itemz")
    assert code == 1
    assert SyncRun.objects.count() == runs and SyncState.objects.count() == states
    assert not SyncState.objects.filter(entity_set="itemz").exists()
    assert out == ""  # nothing was synced, no progress bar, no table


def test_an_identity_provider_refusal_is_one_line(capsys, bc_emulator, emulator_transport, db):
    """A wrong client secret: Entra answers ``invalid_client`` with AADSTS7000215 (Microsoft
    Entra error codes: "Invalid client secret provided")."""
    from bcbridge.sync.companies import load_companies

    good = make_connection(bc_emulator)
    load_companies(good)
    good.companies.update(selected=True)
    good.client_secret = "not-the-secret"
    good.token = {}
    good.save()
    code, _out, err = run(capsys, "sync", "--connection", "cronus", "items")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "7000215" in lines[0] or "invalid_client" in lines[0]


def test_traceback_on_request(capsys, connection, company):
    with pytest.raises(CommandError, match="Unknown entity set"):
        main(["bcbridge", "sync", "itemz", "--traceback"])


@pytest.mark.parametrize(
    "words",
    [
        ["subscribe", "--connection", "X", "items"],
        ["subscribe", "items", "--connection", "X"],
        ["subscribe", "items", "--connection", "X", "customers"],
    ],
)
def test_webhook_options_go_anywhere(words):
    from bcbridge.management.commands.webhooks import Command

    options = Command().create_parser("bcbridge", "webhooks").parse_args(words)
    assert options.action == "subscribe" and options.connection == "X"
    assert options.entity_sets == [w for w in words[1:] if w not in ("--connection", "X")]


def _bcbridge(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["BCBRIDGE_HOME"] = str(home)
    script = "import sys; from bcbridge.cli import main; main(['bcbridge', *sys.argv[1:]])"
    return subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.django_db(databases=[])
def test_a_data_folder_without_a_database_says_what_to_run(tmp_path):
    done = _bcbridge(tmp_path, "connections")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"bcbridge: error: no database at {tmp_path / 'bcbridge.sqlite3'}: run `bcbridge migrate` to create one, "
        "or set BCBRIDGE_HOME to the data folder that has one (`make demo` uses ./var)"
    ]
    assert not (tmp_path / "bcbridge.sqlite3").exists()  # no empty database left behind


@pytest.mark.django_db(databases=[])
def test_an_unmigrated_database_is_one_line_and_verbose_names_it(tmp_path):
    sqlite3.connect(tmp_path / "bcbridge.sqlite3").close()  # a database without bcbridge's tables
    done = _bcbridge(tmp_path, "connections", "--verbose")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0] == f"bcbridge: database SQLite {tmp_path / 'bcbridge.sqlite3'}; data folder {tmp_path}"
    assert len(lines) == 2 and "run `bcbridge migrate` first" in lines[1], done.stderr
    assert "Traceback" not in done.stderr
