"""`kip init` and `kip serve` through the installed console script, against a database of the kind
this test pass runs on (a scratch one, since another process writes it)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

KIP = Path(sys.executable).parent / "kip"
ADMIN_PASSWORD = "a long admin passphrase"

pytestmark = pytest.mark.django_db  # runs in both passes: SQLite, then PostgreSQL


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    default = settings.DATABASES["default"]
    if default["ENGINE"].endswith("sqlite3"):
        yield f"sqlite:///{tmp_path / 'kip.sqlite3'}"
        return
    name = f"kip_clinic_{secrets.token_hex(4)}"
    server = " ".join(
        f"{k}={v}"
        for k, v in {
            "host": default["HOST"],
            "port": default["PORT"],
            "user": default["USER"],
            "password": default["PASSWORD"],
        }.items()
        if v
    )
    with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    user = default["USER"]
    credentials = f"{user}:{default['PASSWORD']}@" if default["PASSWORD"] else f"{user}@"
    try:
        yield f"postgresql://{credentials}{default['HOST']}:{default['PORT'] or 5432}/{name}"
    finally:
        with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


def kip(url: str, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Only the password a test passes: one set in the developer's shell must not leak in.
    inherited = {k: v for k, v in os.environ.items() if k != "KIP_ADMIN_PASSWORD"}
    environment = (
        inherited
        | {
            "KIP_DATABASE_URL": url,
            "KIP_VAR_DIR": str(tmp_path / "var"),
            "KIP_SECRET_KEY": "cli-test-key",
        }
        | env
    )
    return subprocess.run(
        [str(KIP), *args],
        env=environment,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def test_init_creates_admin_and_site_and_can_run_again(scratch_url: str, tmp_path: Path) -> None:
    done = kip(
        scratch_url, tmp_path, "init", "--username", "boss", KIP_ADMIN_PASSWORD=ADMIN_PASSWORD
    )
    assert done.returncode == 0, done.stderr
    assert "administrator 'boss' created" in done.stdout and "site 'main'" in done.stdout
    again = kip(
        scratch_url, tmp_path, "init", "--username", "boss", KIP_ADMIN_PASSWORD=ADMIN_PASSWORD
    )
    assert again.returncode == 0 and "already exists" in again.stdout


def test_init_refuses_a_weak_password_in_one_line(scratch_url: str, tmp_path: Path) -> None:
    done = kip(scratch_url, tmp_path, "init", "--username", "boss", "--password", "12345678")
    assert done.returncode == 2
    assert done.stderr.startswith("error: password:") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_init_without_a_terminal_asks_for_the_password_by_flag(
    scratch_url: str, tmp_path: Path
) -> None:
    done = kip(scratch_url, tmp_path, "init", "--username", "boss")
    assert done.returncode == 2 and "error: --password: required" in done.stderr


def test_bad_database_is_one_line(tmp_path: Path) -> None:
    done = kip("postgresql://nobody@127.0.0.1:9/none", tmp_path, "serve")
    assert done.returncode == 2 and done.stderr.startswith("error: KIP_DATABASE_URL: cannot")
    assert done.stderr.count("\n") == 1


def test_bad_trusted_proxy_is_one_line_at_start(scratch_url: str, tmp_path: Path) -> None:
    done = kip(scratch_url, tmp_path, "serve", KIP_TRUSTED_PROXIES="10.0.0.1,proxy.local")
    assert done.returncode == 2
    assert done.stderr == (
        "error: KIP_TRUSTED_PROXIES: 'proxy.local' is not an IP address or CIDR network\n"
    )


def test_serve_before_init_says_so(scratch_url: str, tmp_path: Path) -> None:
    done = kip(scratch_url, tmp_path, "serve", "--port", str(free_port()))
    assert done.returncode == 2 and "run 'kip init' first" in done.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_with_headers(scratch_url: str, tmp_path: Path) -> None:
    assert (
        kip(
            scratch_url, tmp_path, "init", "--username", "boss", KIP_ADMIN_PASSWORD=ADMIN_PASSWORD
        ).returncode
        == 0
    )
    port = free_port()
    env = os.environ | {
        "KIP_DATABASE_URL": scratch_url,
        "KIP_VAR_DIR": str(tmp_path / "var"),
        "KIP_SECRET_KEY": "cli-test-key",
    }
    server = subprocess.Popen(
        [str(KIP), "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        response = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and response is None:
            try:
                response = urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5)
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                time.sleep(0.2)
        assert response is not None, "server did not answer within 30 s"
        assert response.status == 200
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Cache-Control"] == "no-store"
        assert b"Sign in" in response.read()
        css = urllib.request.urlopen(f"http://127.0.0.1:{port}/static/kip/clinic.css", timeout=5)
        assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
        htmx = f"http://127.0.0.1:{port}/static/kip/vendor/htmx-2.0.11.min.js"
        assert urllib.request.urlopen(htmx, timeout=5).status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    # gunicorn's master got SIGTERM itself (exec), so it shut down cleanly.
    assert server.returncode == 0
