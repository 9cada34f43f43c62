"""`kip init` and `kip serve`: set up the registry database and run the clinic web app.

`kip serve` runs gunicorn (a production WSGI server) on 127.0.0.1 by default. Static files (one
stylesheet and htmx) are served by the app itself from the installed package, with the same
security headers as every page, so there is no collectstatic step to forget; a site that puts a
reverse proxy in front may serve /static/ from there instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from typing import Annotated

import typer

from kip.protocol.errors import InputError

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help="sqlite:///path or postgresql://user@host:port/name (default: KIP_DATABASE_URL, "
        "else the local SQLite database).",
        show_default=False,
    ),
]


def _django(database_url: str | None) -> None:
    # Settings read KIP_DATABASE_URL once, at setup: set it before Django starts.
    if database_url:
        os.environ["KIP_DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kip.site.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured
    from django.db import connection
    from django.db.utils import OperationalError

    try:
        django.setup()
        connection.ensure_connection()
    except ImproperlyConfigured as exc:
        raise InputError(str(exc)) from None
    except OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"KIP_DATABASE_URL: cannot connect to the database: {reason}") from None


def _password(given: str | None, username: str) -> str:
    from django.contrib.auth.models import User
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    password = given or os.environ.get("KIP_ADMIN_PASSWORD", "")
    if not password:
        if not sys.stdin.isatty():
            raise InputError(
                "--password: required (or KIP_ADMIN_PASSWORD); there is no terminal to ask on"
            )
        password = typer.prompt(
            f"Password for {username}", hide_input=True, confirmation_prompt=True
        )
    try:
        validate_password(password, user=User(username=username))
    except ValidationError as exc:
        raise InputError(f"password: {' '.join(exc.messages)}") from None
    return password


def init(
    username: Annotated[
        str | None,
        typer.Option("--username", help="The first administrator's username (asked if absent)."),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            help="Their password. Prefer KIP_ADMIN_PASSWORD or the prompt: a command line is "
            "visible to other users of the machine.",
            show_default=False,
        ),
    ] = None,
    site_code: Annotated[str, typer.Option("--site-code", help="The first site's code.")] = "main",
    site_name: Annotated[
        str, typer.Option("--site-name", help="The first site's name.")
    ] = "Main infusion center",
    database_url: DatabaseUrl = None,
) -> None:
    """Create or update the database (migrate), then the first administrator and a default site.

    Safe to run again: migrations already applied, and a user or site that exists, are left as
    they are."""
    _django(database_url)
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from kip.registry.audit.context import audit_context
    from kip.registry.models import Membership, Site
    from kip.registry.models.choices import Role

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    if not username:
        if not sys.stdin.isatty():
            raise InputError("--username: required; there is no terminal to ask on")
        username = str(typer.prompt("Administrator username")).strip()
    if not username:
        raise InputError("--username: must not be empty")
    existing = User.objects.filter(username=username).first()
    if existing is None:
        secret = _password(password, username)
        # Staff and superuser: the admin pages are where users and memberships are managed.
        user = User.objects.create_superuser(username, password=secret)
        made = f"administrator {username!r} created"
    else:
        user = existing
        made = f"user {username!r} already exists, left unchanged"
    with audit_context(user, reason="kip init", source="cli"):
        site, _ = Site.objects.get_or_create(code=site_code, defaults={"name": site_name})
        if not Membership.objects.filter(user=user, site=site).exists():
            Membership.objects.create(user=user, site=site, role=Role.ADMIN)
    typer.echo(f"ok: database ready; {made}; site {site.code!r} ({site.name})")
    typer.echo("next: kip serve, then sign in at http://127.0.0.1:8000/login/")


def _pending_migrations() -> int:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 2,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the clinic web app with gunicorn (on 127.0.0.1 unless --host says otherwise)."""
    _django(database_url)
    pending = _pending_migrations()
    if pending:
        raise InputError(f"database: {pending} migration(s) not applied; run 'kip init' first")
    try:
        # Checked here so a busy port is one clear line, not gunicorn's retry loop.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise InputError(f"--port: cannot listen on {host}:{port}: {exc.strerror}") from None
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    typer.echo(f"kip: serving on http://{bind}/ (sign in at /login/); Ctrl-C stops", err=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(
            "note: listening beyond this machine; put TLS in front (KIP_TLS_PROXY=1) and list "
            "the host name in KIP_ALLOWED_HOSTS",
            err=True,
        )
    argv = [
        gunicorn,
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
        "--error-logfile",
        "-",
        "kip.site.wsgi:application",
    ]
    # exec: gunicorn takes over this process, so signals (Ctrl-C, SIGTERM) reach it directly.
    os.execv(gunicorn, argv)
