"""`kip demo`: load the study's cohort, a second site and today's work into a registry database.

Demo accounts share one password: KIP_DEMO_PASSWORD when set (so a script such as `make run` can
print it next to the sign-in address), otherwise a random one, printed once. They exist for the
demo only; the command refuses a database that holds other users or patients unless --force.
"""

from __future__ import annotations

import os
import secrets
from typing import Annotated

import typer

from kip.cli_web import DatabaseUrl, _django
from kip.protocol.errors import InputError
from kip.synth.study import DEFAULT_SEED


def demo(
    database_url: DatabaseUrl = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the study cohort.")] = DEFAULT_SEED,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Load even though the database has users other than the demo accounts, or "
            "patients.",
            show_default=False,
        ),
    ] = False,
) -> None:
    """Load a demo registry: the study's 57 patients and 192 infusions (2018-2020) at site
    'main', a small second site 'north', infusions and calls due today, and one account per
    role and site (nurse, physician, researcher, admin; printed with their password).

    Migrates the database first. Never for a production database: the accounts' password is
    printed, and patients, once loaded, are never deleted."""
    _django(database_url)
    from django.contrib.auth.models import User
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.core.management import call_command

    from kip.registry.demo import DemoRefused, iter_accounts, load_demo

    password = os.environ.get("KIP_DEMO_PASSWORD", "") or secrets.token_urlsafe(12)
    try:
        validate_password(password, user=User(username="nurse"))
    except ValidationError as exc:
        raise InputError(f"KIP_DEMO_PASSWORD: {' '.join(exc.messages)}") from None
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    try:
        result = load_demo(seed=seed, password=password, force=force)
    except DemoRefused as exc:
        raise InputError(str(exc)) from None
    counts = ", ".join(f"{n} {name}" for name, n in result.counts.items())
    typer.echo(f"ok: demo loaded in {result.seconds:.1f} s: {counts}")
    typer.echo(f"demo accounts (password {result.password!r}; demo only, never in production):")
    for line in iter_accounts(result):
        typer.echo(line)
    typer.echo("next: kip serve, then sign in at http://127.0.0.1:8000/login/")
