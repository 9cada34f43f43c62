"""Registry API under load: 20 nurses recording titration steps and vitals at once, with the bare
health endpoint on the same server in the same run as the floor.

    .venv/bin/python bench/api_load.py [--db sqlite|postgresql|both] [--requests N]

For each database: a fresh one (a temporary SQLite file; a kip_bench_<random> PostgreSQL database,
dropped afterwards), `kip init`, then bench/api_world.py makes one started infusion per client per
run through the registry services. `kip serve` runs the production server (gunicorn) on 127.0.0.1
and a free port. A warm-up run, then --runs measured runs, each of:

1. health: --clients threads send GET /api/health back to back, --requests in all (the floor);
2. writes: the same threads, each on its own running infusion, record the protocol as a nurse
   would, in session time: vitals every minute, and a rate at every 30-minute step (10 mg/h,
   +5 mg/h to the first-infusion maximum of 25 mg/h, then holds), --requests in all.

Clients are closed-loop (the next request leaves when the previous answer arrives), so the
latency is what 20 clients see at the throughput the server sustains. After each run the bench
counts each infusion's rows in the database against the 2xx answers it got: an acknowledged write
missing is lost; a row beyond one per acknowledged write is duplicated. The table gives the
median of each figure over the measured runs. Exit 1 if a write was lost or duplicated, or a
request failed. Only 127.0.0.1 is ever contacted; every phase is bounded by count and by time.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import math
import os
import platform
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

HOST = "127.0.0.1"  # the only address this bench ever sends to
BENCH_DIR = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
SESSION_MINUTES = 240  # mskcc-2021 first infusion: a 4-hour session
STEP_MINUTES = 30
START_RATE, STEP_RATE, MAX_RATE = 10, 5, 25  # mg/h, first-infusion phase
WRITES_PER_INFUSION = SESSION_MINUTES + SESSION_MINUTES // STEP_MINUTES


@dataclass(frozen=True)
class Call:
    kind: str  # "health", "rate" or "vitals"
    path: str
    body: bytes | None
    infusion: int = 0
    minute: float = 0.0


@dataclass
class Sample:
    call: Call
    status: int  # 0: no answer (connection error or timeout)
    seconds: float
    error: bytes = b""  # the start of a non-2xx answer


@dataclass
class Stats:
    requests: int
    ok: int
    failed: int
    throughput: float
    p50: float
    p95: float
    p99: float
    lost: int = 0
    duplicated: int = 0
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU per request, by process group


@dataclass
class Result:
    database: str
    endpoint: str
    load: str
    runs: list[Stats] = field(default_factory=list)


# --------------------------------------------------------------------------- workload


def session_calls(infusion: int) -> Iterator[Call]:
    """One first infusion as a nurse charts it: a rate at every step, vitals every minute."""
    for minute in range(SESSION_MINUTES):
        if minute % STEP_MINUTES == 0:
            rate = min(START_RATE + STEP_RATE * (minute // STEP_MINUTES), MAX_RATE)
            body = {"minute": minute, "rate_mg_per_h": rate}
            yield Call("rate", f"/api/infusions/{infusion}/rates", _json(body), infusion, minute)
        vitals = {
            "minute": minute,
            "temperature_c": round(36.6 + (minute % 4) / 10, 1),
            "systolic_mmhg": 118 + minute % 7,
            "diastolic_mmhg": 72 + minute % 5,
            "heart_rate_bpm": 72 + minute % 9,
            "spo2_pct": 97 + minute % 3,
            "respiratory_rate": 14 + minute % 3,
        }
        yield Call("vitals", f"/api/infusions/{infusion}/vitals", _json(vitals), infusion, minute)


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def write_jobs(infusions: list[list[int]], per_client: int) -> list[list[Call]]:
    jobs = []
    for own in infusions:
        calls: list[Call] = []
        for infusion in own:
            calls.extend(session_calls(infusion))
        jobs.append(calls[:per_client])
    return jobs


def health_jobs(clients: int, per_client: int) -> list[list[Call]]:
    return [[Call("health", "/api/health", None)] * per_client for _ in range(clients)]


# --------------------------------------------------------------------------- load generator


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of one process (0 if it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command name) of every process."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                head, tail = (entry / "stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            found.append((int(entry.name), int(tail.split()[1]), head.split("(", 1)[1]))
    return found


CpuSample = dict[str, dict[int, float]]  # group -> pid -> CPU seconds so far


def cpu_sample(server_pid: int) -> CpuSample:
    """CPU seconds so far of kip's server (gunicorn's master and workers), of the database
    server's processes (every `postgres` process; none for SQLite) and of this load generator,
    by process, so each phase can say where the machine's cores went per request."""
    procs = _processes()
    server = {server_pid} | {pid for pid, parent, _ in procs if parent == server_pid}
    database = {pid for pid, _, name in procs if name == "postgres"}
    return {
        "server": {p: _cpu_of(p) for p in server},
        "database": {p: _cpu_of(p) for p in database},
        "load generator": {os.getpid(): time.process_time()},
    }


def run_phase(
    port: int, token: str, jobs: list[list[Call]], max_seconds: float, rate: float = 0
) -> list[Sample]:
    """One thread per client, each with its own connection (kept alive when the server allows),
    all starting together; each stops at the end of its list or at the deadline.

    rate 0: closed loop, the next request leaves when the answer arrives. rate > 0: each client
    sends `rate` requests a second on a fixed schedule (clients staggered), and a request's
    latency counts from when it was due, so a server that falls behind is charged for it."""
    samples: list[list[Sample]] = [[] for _ in jobs]
    start = threading.Barrier(len(jobs) + 1)
    clock = [0.0, 0.0]  # [start (perf_counter), deadline (perf_counter)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        out = samples[index]
        start.wait()
        offset = clock[0] + (index / (len(jobs) * rate) if rate else 0.0)
        try:
            for i, call in enumerate(jobs[index]):
                if rate:
                    due = offset + i / rate
                    if due > clock[1]:
                        break
                    pause = due - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                    sent = due
                else:
                    sent = time.perf_counter()
                    if sent > clock[1]:
                        break
                status, body = 0, b""
                try:
                    conn.request("POST" if call.body else "GET", call.path, call.body, headers)
                    response = conn.getresponse()
                    body = response.read()
                    status = response.status
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    body = repr(exc).encode()
                took = time.perf_counter() - sent
                error = b"" if 200 <= status < 300 else body[:300]
                out.append(Sample(call, status, took, error))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    clock[0] = time.perf_counter()
    clock[1] = clock[0] + max_seconds
    start.wait()
    for thread in threads:
        thread.join(max_seconds + 60)
    elapsed = time.perf_counter() - clock[0]
    flat = [s for per in samples for s in per]
    # Throughput over the phase's wall time; kept on the samples' list for summarise().
    flat.append(Sample(Call("_elapsed", "", None), -1, elapsed))
    return flat


def report_failures(kind: str, samples: list[Sample]) -> None:
    failed = [s for s in samples if s.status != -1 and not 200 <= s.status < 300]
    if failed:
        counts = Counter((s.call.kind, s.status) for s in failed)
        first = failed[0]
        print(
            f"{kind}: failed {dict(counts)}; first: {first.call.kind} minute "
            f"{first.call.minute}: {first.status} {first.error!r}",
            file=sys.stderr,
        )


def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_ms:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_ms)))
    return sorted_ms[rank - 1]


def summarise(samples: list[Sample], kinds: set[str]) -> Stats:
    elapsed = next(s.seconds for s in samples if s.status == -1)
    mine = [s for s in samples if s.call.kind in kinds]
    ms = sorted(s.seconds * 1000 for s in mine)
    ok = sum(1 for s in mine if 200 <= s.status < 300)
    return Stats(
        requests=len(mine),
        ok=ok,
        failed=len(mine) - ok,
        throughput=len(mine) / elapsed,
        p50=percentile(ms, 50),
        p95=percentile(ms, 95),
        p99=percentile(ms, 99),
    )


# --------------------------------------------------------------------------- database


@dataclass(frozen=True)
class Database:
    kind: str  # "sqlite" or "postgresql"
    url: str
    path: Path | None = None  # SQLite file

    def rows(self, infusions: list[int]) -> Counter[tuple[str, int, float]]:
        """(kind, infusion, minute) -> rows, for the titration log and the vitals."""
        counts: Counter[tuple[str, int, float]] = Counter()
        tables = {"rate": "registry_titrationstep", "vitals": "registry_vitalsigns"}
        for kind, table in tables.items():
            sql = f"SELECT infusion_id, minute FROM {table} WHERE infusion_id IN "
            sql += "(" + ",".join(str(int(i)) for i in infusions) + ")"
            for infusion, minute in self._fetch(sql):
                counts[(kind, int(infusion), round(float(minute), 1))] += 1
        return counts

    def _fetch(self, sql: str) -> list[tuple[Any, ...]]:
        if self.path is not None:
            with sqlite3.connect(self.path) as conn:
                return list(conn.execute(sql))
        with psycopg.connect(self.url) as conn:
            return list(conn.execute(sql))

    def version(self) -> str:
        if self.path is not None:
            return f"SQLite {sqlite3.sqlite_version}"
        with psycopg.connect(self.url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0] if row else '?'}"


def verify(db: Database, samples: list[Sample]) -> tuple[int, int]:
    """(lost, duplicated): acknowledged writes missing from the database, and rows beyond one per
    acknowledged write (a retried or phantom insert)."""
    writes = [s for s in samples if s.call.kind in ("rate", "vitals")]
    if not writes:
        return 0, 0
    acked = Counter(
        (s.call.kind, s.call.infusion, float(s.call.minute))
        for s in writes
        if 200 <= s.status < 300
    )
    stored = db.rows(sorted({s.call.infusion for s in writes}))
    lost = sum(max(0, n - stored[key]) for key, n in acked.items())
    duplicated = sum(max(0, n - acked[key]) for key, n in stored.items())
    return lost, duplicated


@contextmanager
def fresh_database(kind: str, workdir: Path, pg_server: str) -> Iterator[Database]:
    if kind == "sqlite":
        path = workdir / "bench.sqlite3"
        yield Database(kind, f"sqlite:///{path}", path)
        return
    server = pg_server.rstrip("/")
    name = f"kip_bench_{secrets.token_hex(4)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield Database(kind, f"{server}/{name}")
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def gunicorn_args(args: argparse.Namespace) -> str:
    """Extra gunicorn settings on top of `kip serve` (which sets bind, workers and logs)."""
    extra = ["--worker-class", args.worker_class]
    if args.worker_class == "gthread":
        extra += ["--threads", str(args.threads)]
    return " ".join(extra)


@contextmanager
def server(
    env: dict[str, str], args: argparse.Namespace, log: Path, pid: list[int]
) -> Iterator[int]:
    """kip serve on a free port; `pid` receives its process id (gunicorn's master)."""
    port = free_port()
    command = [str(VENV_BIN / "kip"), "serve", "--host", HOST, "--port", str(port)]
    command += ["--workers", str(args.workers)]
    env = env | {"GUNICORN_CMD_ARGS": gunicorn_args(args)}
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    pid[0] = proc.pid
    try:
        until = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"kip serve exited ({proc.returncode}); see {log}")
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=2)
                conn.request("GET", "/api/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > until:
                raise RuntimeError("kip serve did not answer /api/health within 60 s")
            time.sleep(0.2)
        yield port
    finally:
        # kip serve execs gunicorn: this pid is gunicorn's master, which stops its workers.
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def get_token(port: int, username: str, password: str) -> str:
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("POST", "/api/auth/token", headers={"Authorization": f"Basic {basic}"})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"POST /api/auth/token: {response.status} {body[:200]!r}")
    return str(json.loads(body)["token"])


# --------------------------------------------------------------------------- one database


def load_name(rate: float) -> str:
    return "closed loop" if rate == 0 else f"{rate:g} req/s per client"


def bench_database(kind: str, args: argparse.Namespace) -> tuple[list[Result], str]:
    """Every load of args.rates, args.runs times each after one closed-loop warm-up."""
    closed_per_client = max(1, args.requests // args.clients)
    plan: list[tuple[int, float, int]] = [(0, 0.0, min(closed_per_client, 25))]  # warm-up
    for run in range(1, args.runs + 1):
        for rate in args.rates:
            n = closed_per_client if rate == 0 else max(1, round(rate * args.paced_seconds))
            plan.append((run, rate, n))
    per_infusion = [math.ceil(n / WRITES_PER_INFUSION) for _, _, n in plan]
    with tempfile.TemporaryDirectory(prefix="kip-api-load-") as tmp:
        workdir = Path(tmp)
        with fresh_database(kind, workdir, args.postgres_server) as db:
            password = secrets.token_urlsafe(18)
            env = os.environ | {
                "KIP_DATABASE_URL": db.url,
                "KIP_SECRET_KEY": secrets.token_urlsafe(40),
                "KIP_VAR_DIR": str(workdir / "var"),
                "KIP_ADMIN_PASSWORD": password,
                "KIP_BENCH_PASSWORD": password,
                "DJANGO_SETTINGS_MODULE": "kip.site.settings",
            }
            kip = str(VENV_BIN / "kip")
            init = [kip, "init", "--username", "bench_admin"]
            subprocess.run(init, env=env, cwd=workdir, check=True, stdout=subprocess.DEVNULL)
            count = args.clients * sum(per_infusion)
            setup = [sys.executable, str(BENCH_DIR / "api_world.py"), "--infusions", str(count)]
            made = subprocess.run(setup, env=env, cwd=workdir, check=True, capture_output=True)
            world = json.loads(made.stdout)
            ids: list[int] = list(world["infusions"])
            version = db.version()
            print(f"{kind}: {version}; {count} running infusions set up", file=sys.stderr)
            results: dict[tuple[float, str], Result] = {}
            for rate in args.rates:
                for endpoint in (
                    "GET /api/health (floor)",
                    "rates + vitals",
                    "POST /rates",
                    "POST /vitals",
                ):
                    results[(rate, endpoint)] = Result(kind, endpoint, load_name(rate))
            load_before = os.getloadavg()[0]
            port_pid = [0]
            with server(env, args, workdir / "server.log", port_pid) as port:
                token = get_token(port, world["nurse"], password)
                for (run, rate, n), k in zip(plan, per_infusion, strict=True):
                    own = [ids[c * k : (c + 1) * k] for c in range(args.clients)]
                    ids = ids[args.clients * k :]
                    jobs = health_jobs(args.clients, n)
                    cpu = [cpu_sample(port_pid[0])]
                    floor = run_phase(port, token, jobs, args.max_seconds, rate)
                    cpu.append(cpu_sample(port_pid[0]))
                    load = run_phase(port, token, write_jobs(own, n), args.max_seconds, rate)
                    cpu.append(cpu_sample(port_pid[0]))
                    lost, duplicated = verify(db, load)
                    report_failures(kind, floor + load)
                    if run == 0:
                        print(f"{kind}: warm-up done", file=sys.stderr)
                        continue
                    health = summarise(floor, {"health"})
                    health.cpu_ms = per_request(cpu[0], cpu[1], health.requests)
                    results[(rate, "GET /api/health (floor)")].runs.append(health)
                    for endpoint, kinds in (
                        ("rates + vitals", {"rate", "vitals"}),
                        ("POST /rates", {"rate"}),
                        ("POST /vitals", {"vitals"}),
                    ):
                        stats = summarise(load, kinds)
                        if endpoint == "rates + vitals":
                            stats.lost, stats.duplicated = lost, duplicated
                            stats.cpu_ms = per_request(cpu[1], cpu[2], stats.requests)
                            w = stats
                        results[(rate, endpoint)].runs.append(stats)
                    print(
                        f"{kind}: run {run}, {load_name(rate)}: health p95 {health.p95:.1f} ms; "
                        f"writes {w.throughput:.0f} req/s p50 {w.p50:.1f} p95 {w.p95:.1f} p99 "
                        f"{w.p99:.1f} ms; failed {w.failed}; lost {lost}; duplicated {duplicated}; "
                        f"CPU ms per health / write: {cpu_text(health.cpu_ms)} / "
                        f"{cpu_text(w.cpu_ms)}",
                        file=sys.stderr,
                    )
            # Other work on the machine competes for the same 2 cores: say how busy it was.
            load_after = os.getloadavg()[0]
            print(f"{kind}: 1-min load average {load_before:.1f} before, {load_after:.1f} after")
        return list(results.values()), version


# --------------------------------------------------------------------------- report


def per_request(before: CpuSample, after: CpuSample, requests: int) -> dict[str, float]:
    """CPU ms per request in each group: what each process still running spent between the two
    samples (a process that started in between counts whole; one that ended is not counted,
    rather than its whole past being taken off)."""
    return {
        group: sum(seconds - before[group].get(pid, 0.0) for pid, seconds in pids.items())
        * 1000
        / max(1, requests)
        for group, pids in after.items()
    }


def cpu_text(cpu_ms: dict[str, float]) -> str:
    return "+".join(f"{cpu_ms.get(k, 0):.2f}" for k in CPU_GROUPS)


CPU_GROUPS = ("server", "database", "load generator")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def table(results: list[Result], clients: int) -> str:
    lines = [
        "| database | load | endpoint | clients | requests | throughput req/s | p50 ms | p95 ms | "
        "p99 ms | p95 / floor p95 | failed | lost | duplicated | "
        "CPU ms per request: server + database + load generator |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    floors = {
        (r.database, r.load): median([s.p95 for s in r.runs])
        for r in results
        if "health" in r.endpoint
    }
    for r in results:
        p95 = median([s.p95 for s in r.runs])
        floor = floors.get((r.database, r.load))
        ratio = p95 / floor if floor else math.nan
        is_write = r.endpoint == "rates + vitals"
        lost = sum(s.lost for s in r.runs) if is_write else None
        dup = sum(s.duplicated for s in r.runs) if is_write else None
        lines.append(
            f"| {r.database} | {r.load} | {r.endpoint} | {clients} | "
            f"{int(median([s.requests for s in r.runs]))} | "
            f"{median([s.throughput for s in r.runs]):.0f} | "
            f"{median([s.p50 for s in r.runs]):.1f} | {p95:.1f} | "
            f"{median([s.p99 for s in r.runs]):.1f} | {ratio:.1f}x | "
            f"{sum(s.failed for s in r.runs)} | "
            f"{'' if lost is None else lost} | {'' if dup is None else dup} | "
            f"{cpu_column(r)} |"
        )
    return "\n".join(lines)


def cpu_column(r: Result) -> str:
    measured = [s.cpu_ms for s in r.runs if s.cpu_ms]
    if not measured:
        return ""
    return cpu_text({k: median([m[k] for m in measured]) for k in CPU_GROUPS})


def machine(versions: list[str]) -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    os_name = platform.platform()
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"') + f" (Linux {platform.release()})"
    from importlib.metadata import version

    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GiB RAM; {os_name}; "
        f"Python {platform.python_version()}, Django {version('django')}, "
        f"django-ninja {version('django-ninja')}, gunicorn {version('gunicorn')}; "
        + ", ".join(versions)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--requests", type=int, default=2000, help="requests per phase and run, all clients"
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="measured runs after the warm-up")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument(
        "--rates",
        default="0,1,2",
        help="loads, comma-separated: 0 = closed loop (--requests in all), R > 0 = each client "
        "sends R req/s for --paced-seconds",
    )
    parser.add_argument("--paced-seconds", type=float, default=20)
    parser.add_argument("--max-seconds", type=float, default=300, help="time bound per phase")
    parser.add_argument("--postgres-server", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    args.rates = [float(r) for r in args.rates.split(",")]
    if any(not 0 <= r <= 100 for r in args.rates):
        parser.error("--rates: each between 0 and 100")
    if not 1 <= args.clients <= 200 or not 1 <= args.requests <= 100_000:
        parser.error("--clients 1..200 and --requests 1..100000")
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results: list[Result] = []
    versions: list[str] = []
    for kind in kinds:
        got, version = bench_database(kind, args)
        results += got
        versions.append(version)
    config = f"kip serve --workers {args.workers}, GUNICORN_CMD_ARGS='{gunicorn_args(args)}'"
    print(f"machine: {machine(versions)}")
    print(f"server: {config}; {args.clients} clients; median of {args.runs} runs")
    print()
    print(table(results, args.clients))
    bad = any(s.lost or s.duplicated or s.failed for r in results for s in r.runs)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
