"""Shapes shared by the engine's decisions: the reasons they carry and the inputs they read.

Inputs are strict (a rate sent as text is an error, not a guess) and reject unknown fields, so a
misspelt key is reported instead of silently ignored.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kip.protocol.errors import InputError, describe_validation_error
from kip.protocol.loader import DEFAULT_PROTOCOL
from kip.protocol.model import Protocol, VitalSign


class Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Output(BaseModel):
    model_config = ConfigDict(frozen=True)


class Reason(Output):
    """Why a decision came out as it did: the protocol rule's key and a sentence for a person."""

    rule: str = Field(description="Key of the protocol rule, e.g. 'phases.first.max_rate'.")
    text: str


class Request(Input):
    protocol: str = Field(default=DEFAULT_PROTOCOL, description="Shipped protocol id.")


class Decision(Output):
    protocol: str
    protocol_version: str
    reasons: list[Reason]


def stamp(protocol: Protocol) -> dict[str, str]:
    return {"protocol": protocol.id, "protocol_version": protocol.version}


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class Patient(Input):
    sex: Sex
    age_years: int = Field(ge=0, le=130)
    weight_kg: float | None = Field(default=None, gt=0, le=400)
    premenopausal: bool | None = Field(
        default=None, description="For women: unknown is treated as premenopausal."
    )
    conditions: list[str] = Field(
        default=[], description="Condition ids, matched against the protocol's exclusions."
    )

    @property
    def needs_pregnancy_test(self) -> bool:
        return self.sex is Sex.FEMALE and self.premenopausal is not False


class Vitals(Input):
    """One set of readings; any may be missing."""

    minute: float | None = Field(default=None, ge=0, description="Minutes since infusion start.")
    temperature_c: float | None = Field(default=None, ge=25, le=45)
    systolic_mmhg: float | None = Field(default=None, ge=30, le=300)
    diastolic_mmhg: float | None = Field(default=None, ge=10, le=200)
    heart_rate_bpm: float | None = Field(default=None, ge=10, le=300)
    spo2_pct: float | None = Field(default=None, ge=30, le=100)
    respiratory_rate: float | None = Field(default=None, ge=0, le=80)

    def reading(self, vital: VitalSign) -> float | None:
        value: float | None = getattr(self, vital.value)
        return value


M = TypeVar("M", bound=BaseModel)


def parse_request(model: type[M], text: str | bytes) -> M:
    """A request from JSON text, or an InputError naming the field and the rule."""
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, model)) from None
