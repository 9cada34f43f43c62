"""Tables 1-6 at scale: kip's Ibis path against pandas, tableone and a scan-only floor.

    .venv/bin/pip install -e '.[bench]'
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/outcomes_scale.py

Generates multi-site registries (kip.synth.scale) of 10^4, 10^5 and 10^6 patients as Parquet,
then times, in the same run and on the same files:

- kip: `study_tables` (every count of Tables 1-6 in the engine, then the cells, tests and
  intervals in Python) on DuckDB for every N and on SQLite for 10^5, with the data already
  loaded into the engine (the load is timed separately);
- pandas: bench/pandas_reference.py's counts plus the same cell assembly, from DataFrames
  already in memory, twice: with the default dtypes (strings as Python objects, the
  straightforward version) and with categoricals for the short string columns (the tuned one);
- tableone: Table 1 alone (TableOne grouped by etiology) from the patients DataFrame;
- floor: one aggregate per table that reads every column kip reads and does nothing else, on the
  same engine: no query over these tables can be faster.

Each (method, engine, N) runs in its own child process, so peak RSS (ru_maxrss) is that
configuration's alone, and is repeated (--repeat, default 5) after one untimed warm-up run;
median and min are reported. Before printing, kip's counts are checked equal to the pandas
reference's at every N. Not a test: `make test` runs tests/outcomes/test_scale.py instead.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

METHODS = ("kip", "floor", "pandas", "pandas_cat", "tableone")


# ---- child: one configuration --------------------------------------------------------------------


def _times(run: Callable[[], object], repeat: int) -> list[float]:
    run()  # warm-up: first-query planning and imports are not what the table compares
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def _counts_json(counts: Any) -> dict[str, Any]:
    """StudyCounts as sorted plain data, so two processes' counts can be compared."""
    out: dict[str, Any] = {}
    for name in counts.__dataclass_fields__:
        value = getattr(counts, name)
        items = value.counts.items() if hasattr(value, "counts") else value.sums.items()
        out[name] = sorted(
            ([list(k) if isinstance(k, tuple) else k, v] for k, v in items), key=repr
        )
    return out


def _engine_url(engine: str, data: Path) -> str:
    return "duckdb://" if engine == "duckdb" else f"sqlite:///{data / 'registry.sqlite'}"


def child(method: str, engine: str, data: Path, repeat: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if method in ("kip", "floor"):
        from kip.outcomes import engines
        from kip.outcomes.counts import count_study
        from kip.outcomes.tables import study_tables, tables_from_counts
        from kip.synth import scale

        con = engines.connect(_engine_url(engine, data))
        start = time.perf_counter()
        tables = scale.load_parquet(con, data)
        result["load_s"] = time.perf_counter() - start
        if method == "kip":
            result["times"] = _times(lambda: study_tables(engines.analysis_tables(con)), repeat)
            result["count_times"] = _times(lambda: count_study(tables), repeat)
            counts = count_study(tables)
            assert tables_from_counts(counts) == study_tables(tables)
            result["counts"] = _counts_json(counts)
        else:
            from pandas_reference import COLUMNS

            def scan() -> None:
                for name, columns in COLUMNS.items():
                    table = getattr(tables, name)
                    table.aggregate([table[c].max().name(c) for c in columns]).to_pyarrow()

            result["times"] = _times(scan, repeat)
    else:
        import pandas as pd
        import pyarrow.parquet as pq
        from pandas_reference import COLUMNS, read_frames, study_counts

        from kip.outcomes.tables import tables_from_counts

        start = time.perf_counter()
        if method == "pandas":
            frames = {
                name: pd.read_parquet(data / f"{name}.parquet", columns=list(columns))
                for name, columns in COLUMNS.items()
            }
        else:
            frames = read_frames(data)
        result["load_s"] = time.perf_counter() - start
        if method == "tableone":
            from tableone import TableOne

            patients = frames["patients"]
            categorical = ["sex", "primary_cancer", "metastases", "etiology_detail"]

            def table_one() -> None:
                TableOne(
                    patients,
                    columns=["age_years", *categorical],
                    categorical=categorical,
                    groupby="etiology",
                    pval=False,
                )

            result["times"] = _times(table_one, repeat)
        else:
            result["times"] = _times(lambda: tables_from_counts(study_counts(frames)), repeat)
            result["count_times"] = _times(lambda: study_counts(frames), repeat)
            result["counts"] = _counts_json(study_counts(frames))
            if method == "pandas":
                # The other floor: reading the needed columns of the Parquet files into Arrow.
                result["parquet_read"] = _times(
                    lambda: [
                        pq.read_table(data / f"{n}.parquet", columns=list(c))
                        for n, c in COLUMNS.items()
                    ],
                    repeat,
                )
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


# ---- parent --------------------------------------------------------------------------------------


def _run_child(method: str, engine: str, data: Path, repeat: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", method, engine, str(data), str(repeat)]
    # The machine may be shared: the load average around each run says whether its times
    # were measured on idle cores (about 0-1 of 2 busy) or alongside other work.
    load_before = os.getloadavg()[0]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{method} {engine} {data} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_avg"] = (load_before, os.getloadavg()[0])
    return result


def _generate(n: int, root: Path, seed: int) -> tuple[Path, float]:
    from kip.synth import scale

    directory = root / f"n{n}-seed{seed}"
    start = time.perf_counter()
    registry = scale.generate(n, seed=seed)
    seconds = time.perf_counter() - start
    scale.write_parquet(registry, directory)
    return directory, seconds


def _median(result: Mapping[str, Any], key: str = "times") -> float:
    return statistics.median(result[key])


def _fmt(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def machine() -> dict[str, str]:
    def lscpu(field: str) -> str:
        try:
            out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        except OSError:
            return "?"
        return next(
            (ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith(field)), "?"
        )

    with open("/proc/meminfo") as meminfo:
        kb = int(meminfo.readline().split()[1])
    versions = {
        p: metadata.version(p)
        for p in ("ibis-framework", "duckdb", "pyarrow", "numpy", "pandas", "tableone", "sqlglot")
    }
    blas = os.environ.get("OPENBLAS_CORETYPE", "unset")
    return {
        "cpu": lscpu("Model name"),
        "cores": str(os.cpu_count()),
        "ram_gib": f"{kb / 2**20:.1f}",
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "OPENBLAS_CORETYPE": blas,
        **versions,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--sqlite-sizes", type=int, nargs="*", default=[100_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, help="where the Parquet goes (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    args = parser.parse_args(argv)

    root = args.data or Path(tempfile.mkdtemp(prefix="kip-bench-"))
    info = machine()
    print("machine:", json.dumps(info), flush=True)
    sizes = sorted(set(args.sizes) | set(args.sqlite_sizes))
    runs: list[dict[str, Any]] = []
    for n in sizes:
        data, gen_s = _generate(n, root, args.seed)
        print(f"N={n}: generated in {gen_s:.2f} s -> {data}", flush=True)
        by_method = {
            m: _run_child(m, "duckdb", data, args.repeat)
            for m in ("pandas", "pandas_cat", "tableone")
        }
        reference = by_method["pandas"]["counts"]
        assert by_method["pandas_cat"]["counts"] == reference, "pandas variants disagree"
        for engine in ("duckdb", "sqlite"):
            if n not in (args.sizes if engine == "duckdb" else args.sqlite_sizes):
                continue
            kip = _run_child("kip", engine, data, args.repeat)
            floor = _run_child("floor", engine, data, args.repeat)
            # The speed comparison is only meaningful between equal answers.
            assert kip["counts"] == reference, f"kip on {engine} and pandas disagree at N={n}"
            runs.append(
                {"engine": engine, "n": n, "generate_s": gen_s, "kip": kip, "floor": floor}
                | {m: r for m, r in by_method.items()}
            )
            print(f"  {engine}: kip {_median(kip):.3f} s (counts equal pandas')", flush=True)
        for result in by_method.values():
            result.pop("counts", None)
        for run in runs:
            run["kip"].pop("counts", None)

    print()
    print(report(runs))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "runs": runs}, indent=1))
    return 0


def report(runs: Sequence[Mapping[str, Any]]) -> str:
    """The Markdown table of docs/benchmarks.md and the growth per 10x."""
    head = (
        "| engine | N patients | kip s (median / min) | kip counts only s | pandas s "
        "| pandas counts only s | pandas (categorical) counts only s | pandas / kip "
        "| pandas / kip, counts only | tableone (T1 only) s | floor s | kip counts / floor "
        "| Parquet read s | peak RSS MB: kip / pandas / pandas (cat) | load avg around kip |"
    )
    lines = [head, "|" + "|".join("---" for _ in range(head.count("|") - 1)) + "|"]
    for r in runs:
        kip, kip_counts = _median(r["kip"]), _median(r["kip"], "count_times")
        pandas_counts = _median(r["pandas"], "count_times")
        cells = [
            r["engine"],
            f"{r['n']:,}",
            f"{_fmt(kip)} / {_fmt(min(r['kip']['times']))}",
            _fmt(kip_counts),
            _fmt(_median(r["pandas"])),
            _fmt(pandas_counts),
            _fmt(_median(r["pandas_cat"], "count_times")),
            f"{_median(r['pandas']) / kip:.1f}x",
            f"{pandas_counts / kip_counts:.1f}x",
            _fmt(_median(r["tableone"])),
            _fmt(_median(r["floor"])),
            f"{kip_counts / _median(r['floor']):.1f}",
            _fmt(_median(r["pandas"], "parquet_read")),
            " / ".join(f"{r[m]['peak_rss_mb']:.0f}" for m in ("kip", "pandas", "pandas_cat")),
            "{:.1f}-{:.1f}".format(*r["kip"]["load_avg"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    duck = sorted((r for r in runs if r["engine"] == "duckdb"), key=lambda r: r["n"])
    growth = ["", "Growth of the median time per step of N on DuckDB (linear = the N factor):"]
    for small, big in itertools.pairwise(duck):
        parts = [
            f"{label} x{_median(big[m], key) / _median(small[m], key):.2f}"
            for label, m, key in (
                ("kip", "kip", "times"),
                ("kip counts", "kip", "count_times"),
                ("pandas", "pandas", "times"),
                ("pandas counts", "pandas", "count_times"),
                ("floor", "floor", "times"),
            )
        ]
        growth.append(
            f"- N {small['n']:,} -> {big['n']:,} (x{big['n'] / small['n']:g}): " + ", ".join(parts)
        )
    return "\n".join([*lines, *growth])


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        _, _, method, engine, data, repeat = sys.argv
        print(json.dumps(child(method, engine, Path(data), int(repeat))))
    else:
        raise SystemExit(main())
