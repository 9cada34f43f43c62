"""What a check-in must hold: the values the pre-infusion checks stand on.

A check that records a value (`eligibility.checks.*.records`) cannot pass while that value is
missing: the baseline NPRS is the denominator of the responder rule, so "Baseline pain: passed"
with no NPRS would make every later response unmeasurable. With
`eligibility.check_in_requires_baseline` a check-in records at least one baseline value, and a
protocol that doses by body weight needs the weight. The registry applies these before it writes
a check-in, a passed check or the start.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from kip.protocol.model import BASELINE_VALUES, Check, Protocol, Rate, RecordedValue
from kip.protocol.units import needs_weight


@dataclass(frozen=True)
class Missing:
    """A value the rule `rule` needs in `field`, in a sentence for the nurse."""

    field: str
    rule: str
    text: str


def _missing_value(check: Check, recorded: Collection[RecordedValue]) -> Missing | None:
    if check.records is None or check.records in recorded:
        return None
    return Missing(
        field=check.records.value,
        rule=f"eligibility.checks.{check.id}.records",
        text=f"'{check.label}' cannot pass: the value is not recorded (record it at check-in)",
    )


def to_pass(
    protocol: Protocol, check_id: str, recorded: Collection[RecordedValue]
) -> Missing | None:
    """Why `check_id` cannot be recorded as passed with only `recorded` values, or None."""
    check = next((c for c in protocol.eligibility.checks if c.id == check_id), None)
    return None if check is None else _missing_value(check, recorded)


def still_passed(
    protocol: Protocol, passed: Collection[str], recorded: Collection[RecordedValue]
) -> list[Missing]:
    """Passed checks whose value is missing (a result recorded before the value was cleared, or
    before this rule): the start refuses them as it refuses a pending check."""
    found = (_missing_value(c, recorded) for c in protocol.eligibility.checks if c.id in passed)
    return [m for m in found if m is not None]


def _weight_rule(protocol: Protocol) -> str | None:
    """The first rate key that is per kilogram, or None when the protocol doses in mg/h."""
    keyed: list[tuple[str, list[Rate]]] = [
        ("limits.hard_max_rate", list(protocol.limits.hard_max_rate))
    ]
    for phase in protocol.phases:
        key = f"phases.{phase.id}"
        keyed += [
            (f"{key}.start_rate", [phase.start_rate]),
            (f"{key}.max_rate", list(phase.max_rate)),
            (f"{key}.step", [phase.step] if phase.step else []),
        ]
    return next((key for key, rates in keyed if needs_weight(rates)), None)


def at_check_in(
    protocol: Protocol, recorded: Collection[RecordedValue], passed: Collection[str]
) -> list[Missing]:
    """Every reason a check-in that leaves the infusion with `recorded` values is refused;
    `passed`: the ids of checks already recorded as passed."""
    problems: list[Missing] = []
    if protocol.eligibility.check_in_requires_baseline and not any(
        v in recorded for v in BASELINE_VALUES
    ):
        problems.append(
            Missing(
                field="baseline",
                rule="eligibility.check_in_requires_baseline",
                text="a check-in records the baseline: at least one of NPRS, function, "
                "satisfaction or analgesics",
            )
        )
    weight_rule = _weight_rule(protocol)
    if weight_rule is not None and RecordedValue.WEIGHT_KG not in recorded:
        problems.append(
            Missing(
                field=RecordedValue.WEIGHT_KG.value,
                rule=weight_rule,
                text=f"required: protocol {protocol.id} doses by body weight",
            )
        )
    problems += still_passed(protocol, passed, recorded)
    return problems
