"""The flowsheet's chart of rate and vital signs over the session, as SVG coordinates.

Computed here and drawn by a template (no chart library, no script): the rate as a step line on
top, blood pressure, heart rate and SpO2 below, events and doses as marks on the time axis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

WIDTH = 960
LEFT = 48
RIGHT = 16
RATE_TOP, RATE_BOTTOM = 14, 124
VITALS_TOP, VITALS_BOTTOM = 150, 300
HEIGHT = 326
VITALS_MAX = 200  # mmHg, beats/min and % share one axis, 0 to 200


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Mark:
    x: float
    label: str
    kind: str  # "event" or "dose"


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    points: str
    dots: list[tuple[float, float, str]]


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    rate_top: int = RATE_TOP
    rate_bottom: int = RATE_BOTTOM
    vitals_top: int = VITALS_TOP
    vitals_bottom: int = VITALS_BOTTOM
    x_ticks: list[Tick] = field(default_factory=list)
    rate_ticks: list[Tick] = field(default_factory=list)
    vitals_ticks: list[Tick] = field(default_factory=list)
    rate: Series | None = None
    rate_limit_y: float | None = None
    rate_limit_label: str = ""
    vitals: list[Series] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    now_x: float | None = None
    empty: bool = True


Number = float | int | Decimal


def _f(x: Number | None) -> float | None:
    return None if x is None else float(x)


def build(
    *,
    session_minutes: int,
    rate_max: float,
    steps: Sequence[tuple[Number, Number]],
    vitals: Sequence[dict[str, Number | None]],
    events: Iterable[tuple[Number, str]] = (),
    doses: Iterable[tuple[Number, str]] = (),
    now_minute: float | None = None,
) -> Chart:
    """`steps` are (minute, mg/h); `vitals` dicts carry `minute` and the readings by field name."""
    last = max(
        [session_minutes, *(float(m) for m, _ in steps), *(float(v["minute"] or 0) for v in vitals)]
    )
    span = max(60.0, float(last))
    if now_minute is not None:
        span = max(span, min(now_minute, span + 60))
    plot_w = WIDTH - LEFT - RIGHT
    top_rate = max(rate_max, *(float(r) for _, r in steps), 10.0) * 1.1

    def x(minute: Number) -> float:
        return round(LEFT + plot_w * float(minute) / span, 1)

    def y_rate(rate: Number) -> float:
        return round(RATE_BOTTOM - (RATE_BOTTOM - RATE_TOP) * float(rate) / top_rate, 1)

    def y_vital(value: Number) -> float:
        v = min(float(value), VITALS_MAX)
        return round(VITALS_BOTTOM - (VITALS_BOTTOM - VITALS_TOP) * v / VITALS_MAX, 1)

    chart = Chart(empty=not steps and not vitals)
    every = 30 if span <= 300 else 60
    chart.x_ticks = [Tick(x(m), f"{m}") for m in range(0, int(span) + 1, every)]
    rate_every = 10 if top_rate <= 60 else 20
    chart.rate_ticks = [Tick(y_rate(r), str(r)) for r in range(0, int(top_rate) + 1, rate_every)]
    chart.vitals_ticks = [Tick(y_vital(v), str(v)) for v in range(0, VITALS_MAX + 1, 50)]
    chart.rate_limit_y = y_rate(rate_max)
    chart.rate_limit_label = f"max {rate_max:g}"

    if steps:
        ordered = sorted(steps, key=lambda s: float(s[0]))
        pts: list[str] = []
        dots: list[tuple[float, float, str]] = []
        for i, (minute, rate) in enumerate(ordered):
            if i:
                pts.append(f"{x(minute)},{y_rate(ordered[i - 1][1])}")
            pts.append(f"{x(minute)},{y_rate(rate)}")
            dots.append((x(minute), y_rate(rate), f"min {float(minute):g}: {float(rate):g} mg/h"))
        end = now_minute if now_minute is not None else float(ordered[-1][0])
        end = max(end, float(ordered[-1][0]))
        pts.append(f"{x(end)},{y_rate(ordered[-1][1])}")
        chart.rate = Series("Rate mg/h", "s-rate", " ".join(pts), dots)

    for name, key, css in (
        ("Systolic", "systolic_mmhg", "s-sbp"),
        ("Diastolic", "diastolic_mmhg", "s-dbp"),
        ("Heart rate", "heart_rate_bpm", "s-hr"),
        ("SpO2", "spo2_pct", "s-spo2"),
    ):
        readings = [
            (float(v["minute"] or 0), value)
            for v in vitals
            if (value := _f(v.get(key))) is not None
        ]
        if readings:
            readings.sort()
            chart.vitals.append(
                Series(
                    name,
                    css,
                    " ".join(f"{x(m)},{y_vital(val)}" for m, val in readings),
                    [(x(m), y_vital(val), f"min {m:g}: {name} {val:g}") for m, val in readings],
                )
            )
    chart.marks = [Mark(x(m), label, "event") for m, label in events] + [
        Mark(x(m), label, "dose") for m, label in doses
    ]
    if now_minute is not None:
        chart.now_x = x(min(now_minute, span))
    return chart
