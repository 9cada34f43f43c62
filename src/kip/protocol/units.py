"""Rate conversion: every protocol unit to mg/h for one patient, rounded down to pump precision.

Decimal arithmetic keeps 0.35 mg/kg/h x 70 kg at exactly 24.5 mg/h, so rounding down to the pump's
increment can never drop a rate below what the protocol meant, nor lift it above a cap.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from kip.protocol.model import Rate, RateUnit


class WeightRequired(ValueError):
    """A weight-based rate was asked for without the patient's weight."""


def dec(x: float) -> Decimal:
    """The float as written: through str, so 0.1 is 0.1, not its binary neighbour."""
    return Decimal(str(x))


def num(x: float) -> str:
    """A number for a sentence: 25.0 as '25', 0.35 as '0.35'."""
    return f"{dec(x).normalize():f}"


def mg(x: float) -> str:
    """A rate in mg/h for a sentence, e.g. '25 mg/h'."""
    return f"{num(x)} mg/h"


def to_mg_per_h(rate: Rate, weight_kg: float | None, increment: float = 0.1) -> float:
    """The rate in mg/h for this patient, rounded down to `increment`."""
    value = dec(rate.value)
    if rate.unit is RateUnit.MG_PER_H:
        mg_per_h = value
    elif weight_kg is None:
        raise WeightRequired(f"a rate of {rate.value} {rate.unit.value} needs the patient's weight")
    elif rate.unit is RateUnit.MG_PER_KG_PER_H:
        mg_per_h = value * dec(weight_kg)
    else:
        mg_per_h = value * dec(weight_kg) / Decimal(70)
    return round_down(mg_per_h, increment)


def round_down(value: Decimal | float, increment: float) -> float:
    step = dec(increment)
    v = value if isinstance(value, Decimal) else dec(value)
    return float((v / step).to_integral_value(rounding=ROUND_FLOOR) * step)


def lowest_mg_per_h(caps: list[Rate], weight_kg: float | None, increment: float = 0.1) -> float:
    """Several caps apply together (e.g. 0.35 mg/kg/h and 25 mg/h): the lowest wins."""
    return min(to_mg_per_h(cap, weight_kg, increment) for cap in caps)


def per_kg(mg_per_h: float, weight_kg: float | None) -> float | None:
    """The same rate in mg/kg/h, for display beside mg/h (3 decimals)."""
    if weight_kg is None:
        return None
    return float((dec(mg_per_h) / dec(weight_kg)).quantize(Decimal("0.001")))


def needs_weight(rates: list[Rate]) -> bool:
    return any(r.unit is not RateUnit.MG_PER_H for r in rates)
