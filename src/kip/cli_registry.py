"""`kip audit ...`: check the registry's audit trail.

`kip audit verify` walks the hash chain and names the first entry that does not hold (exit 1), or
reports the chain intact (exit 0). `kip audit show --last N` prints the newest entries.
"""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

audit_app = typer.Typer(
    name="audit",
    help="Check the registry's audit trail (verify, show).",
    no_args_is_help=True,
)

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

    django.setup()


@audit_app.command()
def verify(database_url: DatabaseUrl = None) -> None:
    """Walk the audit chain: 'ok: N entries, chain intact' (exit 0), or the first broken entry
    with what differs (exit 1)."""
    _django(database_url)
    from kip.registry.audit.chain import verify as verify_chain

    result = verify_chain()
    if result.broken is None:
        typer.echo(f"ok: {result.entries} entries, chain intact")
        typer.echo(f"head: {result.head}")
        return
    # One line on stderr, as every kip error: callers log it as it is.
    typer.echo(
        f"error: audit chain broken at {result.broken} "
        f"({result.entries} entries before it verified)",
        err=True,
    )
    raise typer.Exit(code=1)


@audit_app.command()
def show(
    last: Annotated[int, typer.Option("--last", min=1, help="How many entries.")] = 20,
    database_url: DatabaseUrl = None,
) -> None:
    """Print the newest audit entries, oldest first, one JSON object a line."""
    _django(database_url)
    from kip.registry.audit.models import AuditEntry

    entries = list(AuditEntry.objects.order_by("-sequence")[:last])
    for entry in reversed(entries):
        typer.echo(
            json.dumps(
                {
                    "sequence": entry.sequence,
                    "timestamp": entry.timestamp.isoformat(),
                    "user": entry.username,
                    "source": entry.source,
                    "action": entry.action,
                    "model": entry.model,
                    "object_id": entry.object_id,
                    "research_id": entry.research_id,
                    "old": entry.old_values,
                    "new": entry.new_values,
                    "reason": entry.reason,
                },
                ensure_ascii=False,
            )
        )
