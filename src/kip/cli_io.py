"""JSON in and out for `kip protocol plan`, `titrate`, `adverse-event` and `classify`.

A request is read from a file or standard input and checked to be strict JSON; bad input is raised
as InputError, which kip.cli.main turns into one `error: field: rule` line and exit code 2. The
decision is printed to standard output as JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from kip.protocol import loader
from kip.protocol.common import Request, parse_request
from kip.protocol.errors import InputError
from kip.protocol.model import Protocol


def emit_json(text: str) -> None:
    sys.stdout.write(text + "\n")


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259); a rate or weight of Infinity must not slip through.
    raise InputError(f"input: not valid JSON: {name} is not a number JSON allows")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # With a key given twice the last silently wins; for a weight or a dose that is a hidden guess.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InputError(f"{key}: key given twice in the same JSON object")
        out[key] = value
    return out


def read_request_text(source: str) -> str:
    """The request's JSON text from a file or, for '-', standard input; checked to be JSON."""
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise InputError(f"{source}: cannot read request file: {exc.strerror}") from None
    try:
        # utf-8-sig: files saved by Windows tools often start with a byte-order mark.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"input: not valid UTF-8 at byte {exc.start}") from None
    if not text.strip():
        raise InputError("input: empty, expected a JSON object")
    try:
        json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"input: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    return text


def protocol_for(request: Request, protocol_file: Path | None) -> Protocol:
    """The protocol the request names, or the file given on the command line."""
    if protocol_file is None:
        return loader.load(request.protocol)
    protocol = loader.load_file(protocol_file)
    # A request that names no protocol takes the file's; one that names another is a mix-up.
    if "protocol" in request.model_fields_set and request.protocol != protocol.id:
        raise InputError(
            f"protocol: the request names {request.protocol!r} but {protocol_file} "
            f"is protocol {protocol.id!r}"
        )
    return protocol


R = TypeVar("R", bound=Request)


def run_decision(
    source: str,
    protocol_file: Path | None,
    model: type[R],
    decide: Callable[[R, Protocol], BaseModel],
) -> None:
    """Read the request, decide it under its protocol and print the decision as JSON."""
    request = parse_request(model, read_request_text(source))
    result = decide(request, protocol_for(request, protocol_file))
    emit_json(result.model_dump_json(indent=2))
