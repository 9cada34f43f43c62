"""Database settings from one URL, so SQLite (the default) and PostgreSQL are a setting apart."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

DEFAULT_URL = "sqlite:///var/kip.sqlite3"

# Why these SQLite options: WAL lets readers run beside the writer; busy_timeout waits instead of
# failing on a locked database; "immediate" takes the write lock at BEGIN, so a transaction that
# reads then writes cannot fail with SQLITE_BUSY halfway (see shared reference: SQLite).
SQLITE_INIT = "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA foreign_keys=ON;"


class DatabaseUrlError(ValueError):
    pass


# Options of Django's PostgreSQL backend that are not libpq's strings, read from the URL's query.
_BOOLEAN_OPTIONS = frozenset({"server_side_binding"})
_COUNT_OPTIONS = frozenset({"prepare_threshold"})


# Why prepared statements by default: every charting write runs the same ten statements, and
# planning them again on each request was half of PostgreSQL's CPU per write (docs/benchmarks.md).
# psycopg prepares a statement on the server once the connection has run it this many times.
# Django leaves both off because a connection pooler in transaction mode (PgBouncer before 1.21)
# cannot keep a prepared statement; behind one, add ?prepare_threshold=none to the URL.
POSTGRES_DEFAULTS: dict[str, Any] = {"server_side_binding": True, "prepare_threshold": 5}


def _postgres_options(raw: dict[str, str]) -> dict[str, Any]:
    options: dict[str, Any] = POSTGRES_DEFAULTS | raw
    for name in _BOOLEAN_OPTIONS & raw.keys():
        value = raw[name].strip().lower()
        if value not in {"true", "false"}:
            raise DatabaseUrlError(f"KIP_DATABASE_URL: {name}={raw[name]!r} must be true or false")
        options[name] = value == "true"
    for name in _COUNT_OPTIONS & raw.keys():
        value = raw[name].strip().lower()
        if value == "none":
            options[name] = None
        elif value.isdigit():
            options[name] = int(value)
        else:
            raise DatabaseUrlError(
                f"KIP_DATABASE_URL: {name}={raw[name]!r} must be a whole number >= 0 or none"
            )
    return options


def from_url(url: str) -> dict[str, Any]:
    """Django's DATABASES['default'] for `sqlite:///path` or `postgresql://user@host:port/name`."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path.removeprefix("/")) if parsed.netloc == "" else ""
        if not path:
            raise DatabaseUrlError(
                f"KIP_DATABASE_URL: {url!r} names no file (use sqlite:///relative/path.sqlite3 "
                "or sqlite:////absolute/path.sqlite3)"
            )
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": SQLITE_INIT,
            },
            # Kept across requests, as on PostgreSQL: a new connection costs the PRAGMAs above
            # and SQLite's reading of the schema again.
            "CONN_MAX_AGE": 60,
            "TEST": {"NAME": None},
        }
    if parsed.scheme in {"postgres", "postgresql"}:
        name = parsed.path.removeprefix("/")
        if not name:
            raise DatabaseUrlError(f"KIP_DATABASE_URL: {url!r} names no database")
        options = _postgres_options({k: v[-1] for k, v in parse_qs(parsed.query).items()})
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(name),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
            # One test database per test process, so two test runs on one server never collide.
            "TEST": {"NAME": f"test_{unquote(name)}_{os.getpid()}"},
        }
    raise DatabaseUrlError(
        f"KIP_DATABASE_URL: unsupported scheme {parsed.scheme!r} (use sqlite or postgresql)"
    )
