"""KIP_DATABASE_URL to Django's DATABASES: the options PostgreSQL needs typed, and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kip.site.database import DatabaseUrlError, from_url

PG = "postgresql://kip@db.example:5433/registry"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Prepared statements by default: the write path's statements are planned once.
        ("", {"server_side_binding": True, "prepare_threshold": 5}),
        ("?prepare_threshold=none", {"server_side_binding": True, "prepare_threshold": None}),
        ("?prepare_threshold=0", {"server_side_binding": True, "prepare_threshold": 0}),
        ("?server_side_binding=false", {"server_side_binding": False, "prepare_threshold": 5}),
        ("?server_side_binding=TRUE", {"server_side_binding": True, "prepare_threshold": 5}),
        # libpq's own options pass through as the strings it reads.
        (
            "?sslmode=require&application_name=kip",
            {
                "server_side_binding": True,
                "prepare_threshold": 5,
                "sslmode": "require",
                "application_name": "kip",
            },
        ),
    ],
)
def test_postgres_options(query: str, expected: dict[str, Any]) -> None:
    settings = from_url(PG + query)
    assert settings["OPTIONS"] == expected
    assert (settings["HOST"], settings["PORT"], settings["NAME"], settings["USER"]) == (
        "db.example",
        "5433",
        "registry",
        "kip",
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (PG + "?server_side_binding=yes", "server_side_binding='yes' must be true or false"),
        (
            PG + "?prepare_threshold=-1",
            "prepare_threshold='-1' must be a whole number >= 0 or none",
        ),
        (PG + "?prepare_threshold=often", "prepare_threshold='often' must be a whole number"),
        ("postgresql://kip@db.example:5433/", "names no database"),
        ("sqlite://", "names no file"),
        ("mysql://kip@db/registry", "unsupported scheme 'mysql'"),
    ],
)
def test_bad_urls_name_the_setting_and_the_rule(url: str, message: str) -> None:
    with pytest.raises(DatabaseUrlError, match="KIP_DATABASE_URL") as caught:
        from_url(url)
    assert message in str(caught.value)


def test_sqlite_keeps_its_pragmas_and_immediate_writes(tmp_path: Any) -> None:
    settings = from_url(f"sqlite:///{tmp_path}/kip.sqlite3")
    assert settings["NAME"] == f"{tmp_path}/kip.sqlite3"
    assert settings["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "PRAGMA foreign_keys=ON" in settings["OPTIONS"]["init_command"]


@pytest.mark.parametrize(
    ("url", "line"),
    [
        (
            "postgresql://postgres@127.0.0.1:5432/kip?prepare_threshold=often",
            "error: KIP_DATABASE_URL: prepare_threshold='often' "
            "must be a whole number >= 0 or none",
        ),
        (
            "mysql://kip@db/registry",
            "error: KIP_DATABASE_URL: unsupported scheme 'mysql' (use sqlite or postgresql)",
        ),
    ],
)
def test_the_command_line_says_so_in_one_line_with_exit_code_2(url: str, line: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KIP_DEBUG"} | {"KIP_DATABASE_URL": url}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "kip"), "init", "--username", "nobody"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert (done.returncode, done.stderr.strip(), done.stdout) == (2, line, "")
