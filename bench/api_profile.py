"""Where a write's time goes: one client charting one infusion through the API in-process
(Django's test client, no network), profiled with pyinstrument, with the SQL queries counted.

    .venv/bin/python bench/api_profile.py [--db sqlite|postgresql] [--requests N] [--no-profiler]
                                          [--only mix|rate|vitals]

The profiler's hook runs on every Python call, which slows call-heavy code such as the ORM by a
good part; --no-profiler times the same writes without it (wall and CPU per write), which is the
figure to compare between two versions of the code.

Uses a temporary database (SQLite file, or a kip_profile_<random> PostgreSQL database dropped
afterwards) set up by bench/api_world.py, and the same session as bench/api_load.py.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psycopg

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from api_load import cpu_sample, per_request, session_calls  # noqa: E402


def profile(url: str, workdir: Path, requests: int, use_profiler: bool, only: str) -> None:
    password = secrets.token_urlsafe(18)
    os.environ |= {
        "KIP_DATABASE_URL": url,
        "KIP_SECRET_KEY": secrets.token_urlsafe(40),
        "KIP_VAR_DIR": str(workdir / "var"),
        "KIP_ADMIN_PASSWORD": password,
        "KIP_BENCH_PASSWORD": password,
        "DJANGO_SETTINGS_MODULE": "kip.site.settings",
    }
    kip = str(Path(sys.executable).parent / "kip")
    init = [kip, "init", "--username", "bench_admin"]
    subprocess.run(init, cwd=workdir, check=True, stdout=subprocess.DEVNULL)
    # A rate is charted every 30 minutes, so --only rate charts many infusions' rate logs.
    infusions = 2 if only != "rate" else 2 + requests // 8
    setup = [sys.executable, str(BENCH_DIR / "api_world.py"), "--infusions", str(infusions)]
    world = json.loads(subprocess.run(setup, check=True, capture_output=True).stdout)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from pyinstrument import Profiler

    from kip.api.auth import make_token

    token = make_token(User.objects.get(username=world["nurse"]))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    warm, *measured = world["infusions"]
    for call in list(session_calls(warm))[:20]:
        client.post(call.path, call.body, content_type="application/json")
    calls = [
        call
        for infusion in measured
        for call in session_calls(infusion)
        if only in ("mix", call.kind)
    ][:requests]
    # The floor in the same process: the bare health endpoint, as many times as there are writes.
    for _ in range(50):
        client.get("/api/health")
    floor_began, floor_cpu = time.perf_counter(), time.process_time()
    for _ in calls:
        assert client.get("/api/health").status_code == 200
    floor_elapsed = time.perf_counter() - floor_began
    floor_cpu = time.process_time() - floor_cpu
    queries: Counter[str] = Counter()
    profiler = Profiler(interval=0.0005)
    cpu_before = cpu_sample(os.getpid())
    began, began_cpu = time.perf_counter(), time.process_time()
    with CaptureQueriesContext(connection) as captured:
        if use_profiler:
            profiler.start()
        for call in calls:
            response = client.post(call.path, call.body, content_type="application/json")
            assert response.status_code == 201, response.content
        if use_profiler:
            profiler.stop()
    elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    database_ms = per_request(cpu_before, cpu_sample(os.getpid()), len(calls))["database"]
    for q in captured.captured_queries:
        queries[q["sql"].split(" WHERE ")[0][:90]] += 1
    print(
        f"{len(calls)} writes in {elapsed:.2f} s: {elapsed / len(calls) * 1000:.2f} ms each, "
        f"{cpu / len(calls) * 1000:.2f} ms of this process's CPU each"
        + ("" if use_profiler else " (no profiler)")
        + (f"; the database server's CPU: {database_ms:.2f} ms each" if database_ms else "")
    )
    print(
        f"floor, GET /api/health x {len(calls)}: {floor_elapsed / len(calls) * 1000:.2f} ms each, "
        f"{floor_cpu / len(calls) * 1000:.2f} ms of CPU each; writes / floor, CPU: "
        f"{cpu / floor_cpu:.1f}x"
    )
    print(f"{len(captured.captured_queries) / len(calls):.1f} SQL queries per write; most common:")
    for sql, n in queries.most_common(25):
        print(f"  {n / len(calls):5.2f}  {sql}")
    if use_profiler:
        print(
            profiler.output_text(
                unicode=False, color=False, show_all=os.environ.get("KIP_PROFILE_ALL") == "1"
            )
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--no-profiler", action="store_true", help="time the writes without pyinstrument's hook"
    )
    parser.add_argument(
        "--only",
        choices=("mix", "rate", "vitals"),
        default="mix",
        help="the bench mix (a rate every 30 minutes, vitals every minute), or one kind",
    )
    parser.add_argument("--postgres-server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--pg-options",
        default="",
        help="query string added to the PostgreSQL URL, e.g. server_side_binding=true",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kip-api-profile-") as tmp:
        workdir = Path(tmp)
        if args.db == "sqlite":
            profile(
                f"sqlite:///{workdir / 'profile.sqlite3'}",
                workdir,
                args.requests,
                not args.no_profiler,
                args.only,
            )
            return 0
        server = args.postgres_server.rstrip("/")
        name = f"kip_profile_{secrets.token_hex(4)}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        try:
            query = f"?{args.pg_options}" if args.pg_options else ""
            profile(
                f"{server}/{name}{query}", workdir, args.requests, not args.no_profiler, args.only
            )
        finally:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
