"""Crash bench: 1,000 SIGKILLs of a registry writer, on SQLite and on PostgreSQL, with a summary.

    .venv/bin/python bench/crash.py [--kills 1000] [--sqlite-only] [--postgres-server URL]

Each run uses a fresh database (a temporary SQLite file; a kip_crash_<random> PostgreSQL database,
dropped afterwards) and kip.registry.audit.crash, which checks after every kill that
integrity_check is ok (SQLite), no acknowledged commit is lost, no row lacks its audit entry, and
the audit chain verifies. Exit 1 if any run found a failure. Not a test: tests/registry/
test_crash.py runs 200 kills in `make test`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg


def run(url: str, kills: int, writers: int, max_delay_ms: int, cwd: Path) -> int:
    env = os.environ | {"KIP_DATABASE_URL": url, "KIP_SECRET_KEY": "crash-bench"}
    command = [sys.executable, "-m", "kip.registry.audit.crash", "--database-url", url]
    command += ["--kills", str(kills), "--writers", str(writers)]
    command += ["--max-delay-ms", str(max_delay_ms)]
    return subprocess.run(command, env=env, cwd=cwd, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=1000)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-server", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory(prefix="kip-crash-") as tmp:
        workdir = Path(tmp)
        failed |= run(f"sqlite:///{workdir / 'crash.sqlite3'}", args.kills, 1, 30, workdir)
        if not args.sqlite_only:
            name = f"kip_crash_{secrets.token_hex(4)}"
            server = args.postgres_server.rstrip("/")
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
            try:
                failed |= run(f"{server}/{name}", args.kills, 2, 30, workdir)
            finally:
                with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
