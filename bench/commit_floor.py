"""The storage floor under the API's write target: 20 clients doing nothing but serialised durable
commits, on SQLite and on PostgreSQL, with no web server, no Django and no engine.

    .venv/bin/python bench/commit_floor.py [--clients 20] [--commits 2000] [--db both]

kip's audit chain makes clinical writes one at a time: each holds the database's write lock
(SQLite, BEGIN IMMEDIATE) or the chain's advisory lock (PostgreSQL) from its start until its commit
is durable, so the next writer chains onto a committed head. This bench keeps exactly that and
drops everything else: each client thread, on its own connection, runs "take the lock, insert one
small row, commit" back to back. SQLite uses kip's settings (WAL, synchronous=FULL) on a file in
the temporary directory (the disk the API bench uses); PostgreSQL a fresh kip_floor_<random>
database, dropped afterwards, with pg_advisory_xact_lock as the lock. It also times single
fsyncs of a small file on the same disk.

The latency a client sees here is the least any design that serialises durable commits can give
on this machine; compare it with bench/api_load.py's closed-loop writes (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

LOCK = 0x6B69706175646974  # the chain lock's key, as in kip.registry.audit.lock


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def closed_loop(
    clients: int, commits: int, make_writer: Callable[[], Callable[[], None]]
) -> dict[str, float]:
    """`clients` threads, each with its own writer, `commits` in all, back to back."""
    per_client = commits // clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    writers = [make_writer() for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def work(i: int) -> None:
        barrier.wait()
        for _ in range(per_client):
            start = time.perf_counter()
            writers[i]()
            latencies[i].append(time.perf_counter() - start)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    flat = [x * 1000 for xs in latencies for x in xs]
    return {
        "commits": len(flat),
        "commits_per_s": len(flat) / elapsed,
        "p50_ms": statistics.median(flat),
        "p95_ms": percentile(flat, 0.95),
        "p99_ms": percentile(flat, 0.99),
    }


def sqlite_writer(path: Path) -> Callable[[], None]:
    con = sqlite3.connect(path, isolation_level=None, timeout=60, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")

    def write() -> None:
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO entry (payload) VALUES (?)", (secrets.token_hex(32),))
        con.execute("COMMIT")

    return write


def postgres_writer(url: str) -> Callable[[], None]:
    con = psycopg.connect(url)

    def write() -> None:
        with con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])
            con.execute("INSERT INTO entry (payload) VALUES (%s)", [secrets.token_hex(32)])

    return write


def fsync_times(directory: Path, n: int = 200) -> dict[str, float]:
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    times = []
    try:
        for i in range(n):
            os.pwrite(fd, secrets.token_bytes(4096), (i % 16) * 4096)
            start = time.perf_counter()
            os.fsync(fd)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        os.close(fd)
    return {"fsyncs": n, "p50_ms": statistics.median(times), "p95_ms": percentile(times, 0.95)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-server", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    print(
        f"# {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="kip-commit-floor-") as tmp:
        directory = Path(tmp)
        print("fsync of a 4 KiB write:", fsync_times(directory))
        if args.db in ("sqlite", "both"):
            path = directory / "floor.sqlite3"
            with sqlite3.connect(path) as con:
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("CREATE TABLE entry (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
            result = closed_loop(args.clients, args.commits, lambda: sqlite_writer(path))
            print("sqlite (WAL, synchronous=FULL, BEGIN IMMEDIATE):", fmt(result))
        if args.db in ("postgresql", "both"):
            server = args.postgres_server.rstrip("/")
            name = f"kip_floor_{secrets.token_hex(4)}"
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
            try:
                url = f"{server}/{name}"
                with psycopg.connect(url, autocommit=True) as con:
                    con.execute(
                        "CREATE TABLE entry (id bigserial PRIMARY KEY, payload text NOT NULL)"
                    )
                result = closed_loop(args.clients, args.commits, lambda: postgres_writer(url))
                print("postgresql (pg_advisory_xact_lock, then insert, commit):", fmt(result))
            finally:
                with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
    print(f"# load {os.getloadavg()[0]:.2f}")
    return 0


def fmt(result: dict[str, float]) -> str:
    return (
        f"{result['commits']:.0f} commits, {result['commits_per_s']:.0f}/s, "
        f"p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms"
    )


if __name__ == "__main__":
    sys.exit(main())
