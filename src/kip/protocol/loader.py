"""Finding and reading protocol files. The only module of the engine that touches files."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from kip.protocol.errors import InputError, describe_validation_error
from kip.protocol.model import Protocol

DEFAULT_PROTOCOL = "mskcc-2021"


def _shipped_dir() -> Path:
    return Path(str(resources.files("kip.protocol") / "protocols"))


def shipped_ids() -> list[str]:
    return sorted(p.stem for p in _shipped_dir().glob("*.toml"))


def parse(text: str, origin: str) -> Protocol:
    """A protocol from TOML text; errors name the file and the offending key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{origin}: not valid TOML: {exc}") from None
    try:
        # Through JSON in strict mode, so `dose_mg = "4"` is an error, not a guess; TOML dates
        # become ISO strings, which strict JSON validation accepts.
        return Protocol.model_validate_json(json.dumps(data, default=_iso), strict=True)
    except ValidationError as exc:
        raise InputError(f"{origin}: {describe_validation_error(exc, Protocol)}") from None


def _iso(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot represent {type(value).__name__} in a protocol file")


def load_file(path: Path) -> Protocol:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read protocol file: {exc.strerror}") from None
    return parse(text, str(path))


@cache
def load(protocol_id: str = DEFAULT_PROTOCOL) -> Protocol:
    """A shipped protocol by id."""
    path = _shipped_dir() / f"{protocol_id}.toml"
    if not path.is_file():
        known = ", ".join(shipped_ids())
        raise InputError(f"protocol: unknown protocol {protocol_id!r} (known: {known})")
    protocol = load_file(path)
    if protocol.id != protocol_id:
        raise InputError(f"{path}: file declares id {protocol.id!r}, expected {protocol_id!r}")
    return protocol
