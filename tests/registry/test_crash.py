"""Crash safety: a writer killed with SIGKILL at random moments, 200 times, loses no acknowledged
commit and leaves no row without its audit entry (kip.registry.audit.crash runs the kills and
checks after each; this test checks its result again from outside, with fresh connections).

Runs on the database of the pass: SQLite in `make test`'s first pass, PostgreSQL in the second,
in a scratch database of its own either way (the django_db mark only selects it for that pass).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.registry.conftest import ScratchDatabase

pytestmark = pytest.mark.django_db

KILLS = 200
KIP = Path(sys.executable).parent / "kip"


def test_sigkill_loses_no_acknowledged_commit(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    postgresql = scratch_database.vendor == "postgresql"
    # Two writers on PostgreSQL also race for the chain head. SQLite keeps to one writer: before
    # 3.51.3 it has a rare WAL-reset corruption bug with concurrent writers (shared reference).
    writers = 2 if postgresql else 1
    # Kills come 0..30 ms after a writer has connected: a few writes in, or mid-write.
    max_delay_ms = 30
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kip.registry.audit.crash",
            "--database-url",
            scratch_database.url,
            "--kills",
            str(KILLS),
            "--writers",
            str(writers),
            "--max-delay-ms",
            str(max_delay_ms),
            "--json",
        ],
        env=scratch_database.env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.stdout, result.stderr
    report = json.loads(result.stdout)
    assert report["failures"] == [], f"seed {report['seed']}: {report['failures']}"
    assert result.returncode == 0, result.stderr
    assert report["kills"] >= KILLS
    created: list[int] = report["created"]
    corrected = {int(k): v for k, v in report["corrected"].items()}
    # Kills must land among the writes, or the test would prove little. Writers are timed from
    # when they connected, so even a loaded machine gets some writes in before most kills.
    assert len(created) >= KILLS // 4, report
    assert corrected

    query = scratch_database.query
    if not postgresql:
        assert query("PRAGMA integrity_check") == [("ok",)]
    present = {pk for (pk,) in query("SELECT id FROM registry_vitalsigns")}
    assert set(created) <= present
    assert len(present) >= len(created)
    held = dict(query("SELECT id, spo2_pct FROM registry_vitalsigns WHERE spo2_pct = 100"))
    assert all(held.get(pk) == value for pk, value in corrected.items())
    unaudited = query(
        "SELECT v.id FROM registry_vitalsigns v LEFT JOIN registry_auditentry a "
        "ON a.model = 'registry.vitalsigns' AND a.action = 'create' "
        "AND a.object_id = CAST(v.id AS TEXT) WHERE a.id IS NULL"
    )
    assert unaudited == []

    verified = subprocess.run(
        [str(KIP), "audit", "verify"],
        env=scratch_database.env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ok: ")


# A writer that holds an audited transaction open until told to end it.
HOLDER = """
import os, sys
import django
django.setup()
from kip.registry.audit.lock import locked_transaction
with locked_transaction():
    print("holding", flush=True)
    sys.stdin.readline()
print("done", flush=True)
"""


def test_sqlite_writers_queue_on_the_writer_lock_until_commit(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    """A clinical write on SQLite holds the flock beside the database from before BEGIN until
    after COMMIT, so another writer waits in the kernel (woken at once) rather than in SQLite's
    sleeping busy handler; a killed holder's lock goes with its process."""
    if scratch_database.vendor != "sqlite":
        pytest.skip("the writer-lock file is SQLite's; PostgreSQL queues on its advisory lock")
    assert scratch_database.path is not None
    lock_file = Path(f"{scratch_database.path}.writer-lock")
    env = scratch_database.env() | {"DJANGO_SETTINGS_MODULE": "kip.site.settings"}

    def start() -> subprocess.Popen[str]:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None
        assert holder.stdout.readline() == "holding\n"
        return holder

    def free() -> bool:
        fd = os.open(lock_file, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)  # closing the description releases a lock taken here
        return True

    holder = start()
    assert not free()
    # SQLite's own write lock is held too: the flock is taken before BEGIN IMMEDIATE.
    with (
        closing(sqlite3.connect(scratch_database.path, timeout=0)) as other,
        pytest.raises(sqlite3.OperationalError, match="locked"),
    ):
        other.execute("BEGIN IMMEDIATE")
    out, _ = holder.communicate("\n", timeout=60)
    assert out == "done\n"
    assert free()

    killed = start()
    killed.kill()
    killed.wait(timeout=60)
    assert free()
